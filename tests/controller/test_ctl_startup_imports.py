"""The controller starts without its config decoders and loads them on first use.

The pydantic models behind ``ironlb.config.load_config`` take 0.06-0.09 s to import once pydantic
is loaded, up to a tenth of the start-up budget (first IP within 1 s). ``controller.runtime``
must not import them; ``ironlb.config`` gives them on first use, and ``warm_decoders`` loads them
ahead (the controller runs it in a thread while its first LIST is on the wire).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DECODERS = {"ironlb.config.load", "ironlb.config.parse", "ironlb.config.wire", "ironlb.config.resources.wire"}

REPORT = """
import json, sys
{code}
print(json.dumps(sorted(m for m in sys.modules if m.startswith("ironlb.config"))))
"""


def config_modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", REPORT.format(code=code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_importing_the_controller_leaves_the_decoders_for_later() -> None:
    loaded = config_modules_after("import controller.runtime")
    assert "ironlb.config.model" in loaded  # the domain types are there (a real check, not an empty run)
    assert not loaded & DECODERS


def test_warm_decoders_loads_every_decoder() -> None:
    assert config_modules_after("import ironlb.config; ironlb.config.warm_decoders()") >= DECODERS


LAZY = ["load_config", "parse_config", "parse_config_report", "config_from_configmap", "configmap_report"]


@pytest.mark.parametrize("name", LAZY)
def test_a_decoder_loads_on_first_use(name: str) -> None:
    import ironlb.config
    from ironlb.config import load, parse

    assert getattr(ironlb.config, name) is getattr(load if name == "load_config" else parse, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    import ironlb.config

    with pytest.raises(AttributeError, match="no attribute 'load_configs'"):
        _ = ironlb.config.load_configs  # type: ignore[attr-defined]


def test_a_config_parses_through_the_lazy_name() -> None:
    from ironlb.config import parse_config

    config = parse_config("address-pools:\n- name: a\n  protocol: layer2\n  addresses: [192.0.2.0/28]\n")
    assert [p.name for p in config.pools] == ["a"]
