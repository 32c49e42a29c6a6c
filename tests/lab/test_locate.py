"""What ``ironlb lab up|down|status|exec TOPOLOGY`` accepts as TOPOLOGY, and when ironlb runs on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ironlb.cli.lab_commands import wants_ironlb
from ironlb.lab.fixture import topology_path
from ironlb.lab.locate import available_topologies, not_found_message, resolve_topology
from ironlb.lab.topology import REPO_CONTAINERLAB, load_topology

SHIPPED = REPO_CONTAINERLAB / "bgp-ecmp" / "bgp-ecmp.clab.yml"


def _topology(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.clab.yml"
    path.write_text(f"name: {name}\ntopology:\n  nodes:\n    a: {{kind: linux}}\n")
    return path


@pytest.mark.parametrize(
    "arg",
    [
        "containerlab/bgp-ecmp/bgp-ecmp.clab.yml",  # the file
        "containerlab/bgp-ecmp",  # its directory
        "containerlab/bgp-ecmp/",
        "bgp-ecmp",  # a name
        "containerlab/bgp-ecmp.clab.yml",  # issue 7's flat path, falling back to containerlab/X/X.clab.yml
    ],
)
def test_every_spelling_of_a_shipped_topology_from_the_repository(arg: str) -> None:
    assert resolve_topology(arg, cwd=REPO_CONTAINERLAB.parent) == SHIPPED


@pytest.mark.parametrize(
    "arg", ["bgp-ecmp", "containerlab/bgp-ecmp.clab.yml", "bgp-ecmp.clab.yml", str(SHIPPED)]
)
def test_shipped_topologies_are_found_from_anywhere(arg: str, tmp_path: Path) -> None:
    assert resolve_topology(arg, cwd=tmp_path) == SHIPPED


def test_local_files_and_directories_win_over_shipped_names(tmp_path: Path) -> None:
    mine = _topology(tmp_path / "containerlab" / "bgp-ecmp", "bgp-ecmp")
    assert resolve_topology("bgp-ecmp", cwd=tmp_path) == mine
    assert resolve_topology("containerlab/bgp-ecmp.clab.yml", cwd=tmp_path) == mine
    flat = _topology(tmp_path / "labs", "mylab")
    assert resolve_topology("labs/mylab.clab.yml", cwd=tmp_path) == flat
    assert resolve_topology("labs", cwd=tmp_path) == flat
    assert resolve_topology(str(tmp_path / "labs"), cwd=Path("/")) == flat
    nested = _topology(tmp_path / "labs" / "other", "other")
    assert resolve_topology("labs/other.clab.yml", cwd=tmp_path) == nested


def test_what_is_not_a_topology(tmp_path: Path) -> None:
    _topology(tmp_path / "two", "a")
    _topology(tmp_path / "two", "b")
    (tmp_path / "empty").mkdir()
    for arg in ("nope", "two", "empty", "nope.clab.yml", "elsewhere/bgp-ecmp.clab.yml", "x/bgp-ecmp", ""):
        assert resolve_topology(arg, cwd=tmp_path) is None, arg


def test_the_error_lists_the_shipped_topologies() -> None:
    names = available_topologies()
    assert {"bgp-ecmp", "bgp-ecmp-bird", "layer2", "dual-stack"} <= set(names)
    assert all(resolve_topology(n, cwd=Path("/")) == topology_path(n) for n in names)
    message = not_found_message("bgp-ecmpp")
    assert "'bgp-ecmpp'" in message and all(n in message for n in names)


def test_cli_names_the_available_topologies_and_creates_nothing(tmp_path: Path) -> None:
    for action in ("up", "status"):
        result = subprocess.run(
            [sys.executable, "-m", "ironlb", "lab", action, "containerlab/nope.clab.yml",
             "--state-dir", str(tmp_path / "state")],
            capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert "no topology 'containerlab/nope.clab.yml'" in result.stderr
        assert "bgp-ecmp" in result.stderr and "layer2" in result.stderr
    assert not (tmp_path / "state").exists()


def test_ironlb_runs_by_default_when_the_topology_ships_its_manifests(tmp_path: Path) -> None:
    shipped = load_topology(SHIPPED)
    assert wants_ironlb(shipped, with_ironlb=False, no_ironlb=False)
    assert wants_ironlb(shipped, with_ironlb=True, no_ironlb=False)
    assert not wants_ironlb(shipped, with_ironlb=False, no_ironlb=True)
    # no ironlb/ directory next to it: routers and hosts only, unless --with-ironlb insists
    copy = tmp_path / "bgp-ecmp.clab.yml"
    copy.write_text(SHIPPED.read_text())
    bare = load_topology(copy)
    assert not wants_ironlb(bare, with_ironlb=False, no_ironlb=False)
    assert wants_ironlb(bare, with_ironlb=True, no_ironlb=False)


def test_no_ironlb_and_with_ironlb_exclude_each_other(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ironlb", "lab", "up", "bgp-ecmp", "--no-ironlb", "--with-ironlb",
         "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "not allowed with" in result.stderr
