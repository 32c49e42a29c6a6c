"""Every sample ConfigMap under config/samples/ is one a user can apply as is:
``ironlb validate`` accepts it, Kubernetes' schema accepts it, and it sits where the
programs look for their configuration by default (namespace ``ironlb-system``,
ConfigMap ``ironlb``, key ``config``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.install.rendering import NAMESPACE, ROOT, SAMPLES

SAMPLE_FILES = sorted(SAMPLES.glob("*.yaml"))


def _validate_cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ironlb", "validate", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_there_are_samples() -> None:
    assert SAMPLE_FILES, f"no sample ConfigMaps in {SAMPLES.relative_to(ROOT)}"


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_ironlb_validate_accepts_the_sample(path: Path) -> None:
    done = _validate_cli(path)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr}"


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_is_a_valid_configmap_where_the_programs_look(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert len(docs) == 1, "one ConfigMap per sample"
    cm = docs[0]
    kubernetes_validate.validate(cm, "1.30", strict=True)
    assert cm["kind"] == "ConfigMap"
    assert cm["metadata"]["namespace"] == NAMESPACE
    assert cm["metadata"]["name"] == "ironlb"
    assert set(cm["data"]) == {"config"}


def test_ironlb_validate_refuses_an_invalid_config(tmp_path: Path) -> None:
    """Guards the tests above against a validator that accepts anything."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "ironlb", "namespace": NAMESPACE},
                "data": {
                    "config": yaml.safe_dump(
                        {"address-pools": [{"name": "p", "protocol": "layer2", "addresses": ["10.0.0.0/33"]}]}
                    )
                },
            }
        )
    )
    done = _validate_cli(bad)
    assert done.returncode == 1, done.stderr
    assert "address-pools[0].addresses[0]" in done.stderr
