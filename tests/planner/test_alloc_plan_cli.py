"""``ironlb plan``: golden output on the bundled samples, exit codes, and the CLI's error paths.

Refresh the golden files with ``IRONLB_UPDATE_GOLDEN=1 pytest tests/allocator``
and review the diff.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ironlb.cli.main import main
from ironlb.cli.plan import (
    DEFAULT_CONFIG,
    SAMPLE_NODES,
    SAMPLE_SERVICES,
    SAMPLES_DIR,
    sample_configs,
    sample_manifests,
)
from tests.support.golden import check_golden

GOLDEN = Path(__file__).parent / "golden"
SAMPLE_CONFIGS = [p.name for p in sample_configs()]  # ConfigMap files and resources/


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["plan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_samples_exist() -> None:
    assert DEFAULT_CONFIG.is_file() and SAMPLE_NODES.is_file()
    assert "layer2.yaml" in SAMPLE_CONFIGS and "resources" in SAMPLE_CONFIGS
    assert set(SAMPLE_CONFIGS) >= {p.name for p in SAMPLES_DIR.glob("*.yaml")}
    # every sample config has its own set of sample Services
    assert {p.name for p in SAMPLE_SERVICES.iterdir() if p.is_dir()} == {
        Path(s).stem for s in SAMPLE_CONFIGS
    } | {"refused"}


@pytest.mark.parametrize("sample", SAMPLE_CONFIGS)
def test_plan_json_on_samples_matches_golden(capsys: pytest.CaptureFixture[str], sample: str) -> None:
    """A sample config without -f runs on its own sample Services, and every one is assigned (exit 0)."""
    code, out, err = run(capsys, "-c", str(SAMPLES_DIR / sample), "-o", "json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert len(doc["services"]) >= 4
    for entry in doc["services"]:
        assert set(entry) == {"namespace", "name", "ips", "pool", "sharing_key", "error"}
        assert entry["error"] is None and entry["ips"], entry
    explicit = run(
        capsys,
        "-c",
        str(SAMPLES_DIR / sample),
        "-f",
        *map(str, sample_manifests(SAMPLES_DIR / sample) or []),
        "-o",
        "json",
    )
    assert explicit == (0, out, "")
    check_golden(GOLDEN / f"plan-{Path(sample).stem}.json", out)


def test_plan_exits_3_when_a_service_gets_no_ip(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-f", str(SAMPLE_NODES), str(SAMPLE_SERVICES / "refused"))
    assert code == 3
    assert "error: requested IP 10.9.9.9 is not in any pool" in out
    assert err == "ironlb plan: 2 of 2 Services get no IP\n"
    # the same Services next to assignable ones: still 3, counted over all of them
    code, out, err = run(
        capsys,
        "-f",
        str(SAMPLE_NODES),
        str(SAMPLE_SERVICES / "refused"),
        str(SAMPLE_SERVICES / "layer2"),
        "-o",
        "json",
    )
    assert code == 3 and err == "ironlb plan: 2 of 8 Services get no IP\n"
    assert sum(s["error"] is None for s in json.loads(out)["services"]) == 6


def test_plan_of_an_own_config_needs_manifests(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = tmp_path / "mine.yaml"
    cfg.write_text("address-pools: [{name: p, protocol: layer2, addresses: [192.0.2.0/30]}]\n")
    code, out, err = run(capsys, "-c", str(cfg))
    assert (code, out) == (1, "") and "pass -f MANIFESTS" in err


def test_plan_defaults_are_the_samples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-o", "json")
    assert code == 0
    assert out == (GOLDEN / "plan-layer2.json").read_text()
    code, table, _ = run(capsys)
    assert code == 0
    check_golden(GOLDEN / "plan-layer2.txt", table)


def test_plan_console_script_from_elsewhere(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ironlb", "plan", "-o", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (GOLDEN / "plan-layer2.json").read_text()


def test_invalid_config_exits_1_with_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("address-pools:\n- name: a\n  protocol: layer2\n  addresses: [10.0.0.0/33]\n")
    code, out, err = run(capsys, "-c", str(bad), "-f", str(SAMPLE_NODES))
    assert code == 1 and out == ""
    assert "address-pools[0].addresses[0]" in err and str(bad) in err


def test_missing_files_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "-c", str(tmp_path / "nope.yaml"))
    assert code == 1 and "cannot read" in err
    code, _, err = run(capsys, "-c", str(tmp_path / "nope.yaml"), "-f", str(SAMPLE_NODES))
    assert code == 1 and "cannot read" in err
    code, _, err = run(capsys, "-f", str(tmp_path / "nope.yaml"))
    assert code == 1 and "nope.yaml" in err


def test_broken_manifest_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("kind: Service\n  bad: [indent\n")
    code, _, err = run(capsys, "-f", str(tmp_path))
    assert code == 1 and "not valid YAML" in err


def _write_services(path: Path, classes: list[str | None]) -> None:
    docs = []
    for i, cls in enumerate(classes):
        spec = {"type": "LoadBalancer", "ports": [{"port": 80}]}
        if cls:
            spec["loadBalancerClass"] = cls
        docs.append(
            json.dumps({"kind": "Service", "metadata": {"namespace": "t", "name": f"s{i}"}, "spec": spec})
        )
    path.write_text("\n---\n".join(docs))


def test_lb_class_and_configmap_among_manifests(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _write_services(tmp_path / "svc.yaml", [None, "ironlb.io/lb", "other"])
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: ironlb-system, name: ironlb}\n"
        "data:\n  config: |\n    address-pools:\n    - name: mine\n      protocol: layer2\n"
        "      addresses: [192.0.2.8/29]\n"
    )
    code, out, _ = run(capsys, "-f", str(tmp_path), "-o", "json", "--lb-class", "ironlb.io/lb")
    assert code == 0
    assert json.loads(out) == {
        "services": [
            {
                "namespace": "t",
                "name": "s1",
                "ips": ["192.0.2.8"],
                "pool": "mine",
                "sharing_key": None,
                "error": None,
            }
        ],
        "layer2": [  # added with the layer-2 speaker: no Node manifests, so no owner
            {
                "ip": "192.0.2.8",
                "services": ["t/s1"],
                "owner": None,
                "candidates": [],
                "reason": "no eligible node: no Node objects known",
            }
        ],
    }
    code, out, _ = run(capsys, "-f", str(tmp_path), "-o", "json")
    assert [s["name"] for s in json.loads(out)["services"]] == ["s0"]


def test_bare_config_and_empty_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = tmp_path / "bare.yaml"
    cfg.write_text("address-pools:\n- name: p\n  protocol: layer2\n  addresses: [192.0.2.0/30]\n")
    (tmp_path / "m").mkdir()
    code, out, _ = run(capsys, "-c", str(cfg), "-f", str(tmp_path / "m"), "-o", "json")
    assert (code, json.loads(out)) == (0, {"services": []})
    code, out, _ = run(capsys, "-c", str(cfg), "-f", str(tmp_path / "m"))
    assert code == 0 and "(no LoadBalancer Services)" in out
