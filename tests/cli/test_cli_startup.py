"""``ironlb`` starts without loading what the command does not need.

Each command runs in a fresh interpreter, as a user runs it, and reports the
modules it imported. ``--help``, ``validate`` and ``plan`` must not import the
Kubernetes client, scapy, pyroute2, ExaBGP or prometheus_client (those cost most of
a second to import and belong to the programs); ``--help`` and ``--version`` not even
the config parser (pydantic, PyYAML).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "config" / "samples"
PROGRAM_ONLY = {"kubernetes", "scapy", "pyroute2", "exabgp", "prometheus_client"}
PARSER = {"pydantic", "yaml"}

RUN_AND_REPORT = """
import json, sys
from ironlb.cli.main import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as f:
    json.dump({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}, f)
"""


def imported_by(tmp_path: Path, *argv: str) -> tuple[int, set[str]]:
    report = tmp_path / "report.json"
    subprocess.run(
        [sys.executable, "-c", RUN_AND_REPORT, str(report), *argv],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    data = json.loads(report.read_text())
    return data["code"], set(data["modules"])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["validate", str(SAMPLES / "bgp.yaml")],
        ["validate", str(SAMPLES / "metallb-crds" / "bgp.yaml")],  # recognised as MetalLB resources
        ["plan"],
        ["plan", "-c", str(SAMPLES / "bgp.yaml"), "-o", "json"],
        ["convert", str(SAMPLES / "metallb-crds")],
        ["lab", "services", "no-such-lab", "--state-dir", "/nonexistent"],
    ],
    ids=lambda argv: " ".join(argv[:2]).replace(str(SAMPLES) + "/", ""),
)
def test_commands_do_not_import_the_programs_libraries(tmp_path: Path, argv: list[str]) -> None:
    code, modules = imported_by(tmp_path, *argv)
    assert code in (0, 1)  # ran (the MetalLB file and the missing lab are refused with exit 1)
    assert not modules & PROGRAM_ONLY, sorted(modules & PROGRAM_ONLY)


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["lab", "--help"], ["plan", "--help"]])
def test_help_and_version_do_not_load_the_config_parser(tmp_path: Path, argv: list[str]) -> None:
    code, modules = imported_by(tmp_path, *argv)
    assert code == 0
    assert not modules & (PROGRAM_ONLY | PARSER), sorted(modules & (PROGRAM_ONLY | PARSER))


def test_the_report_sees_what_a_command_imports(tmp_path: Path) -> None:
    """Guards the tests above: the same harness does see the config parser when validate runs."""
    code, modules = imported_by(tmp_path, "validate", str(SAMPLES / "bgp.yaml"))
    assert code == 0 and modules >= PARSER
