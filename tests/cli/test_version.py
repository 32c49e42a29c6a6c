"""``ironlb --version`` and the library pieces the programs use for theirs and for build info."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import ironlb
from ironlb import version as version_module
from ironlb.build_info import register_build_info
from ironlb.version import UNKNOWN, python_version, version, version_line

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_version_is_pyprojects() -> None:
    assert version() == PYPROJECT_VERSION
    assert ironlb.__version__ == PYPROJECT_VERSION
    assert python_version() == ".".join(map(str, sys.version_info[:3]))


def test_version_of_an_uninstalled_tree_says_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(version_module, "DISTRIBUTION", "ironlb-not-installed-anywhere")
    assert version() == UNKNOWN


def test_cli_version_flag() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ironlb", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"ironlb {PYPROJECT_VERSION} (Python {python_version()})\n"
    assert done.stdout == version_line("ironlb") + "\n"


def test_build_info_metric() -> None:
    registry = CollectorRegistry()
    register_build_info(registry, "ironlb-speaker")
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    (sample,) = families["ironlb_build_info"].samples
    assert sample.labels == {
        "version": PYPROJECT_VERSION,
        "python_version": python_version(),
        "program": "ironlb-speaker",
    }
    assert sample.value == 1.0
    assert families["ironlb_build_info"].type == "gauge"


def test_build_info_registers_once_per_registry() -> None:
    registry = CollectorRegistry()
    register_build_info(registry, "ironlb-controller")
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        register_build_info(registry, "ironlb-controller")
    register_build_info(CollectorRegistry(), "ironlb-controller")  # another registry is another process
