"""The ``ironlb_lab`` pytest fixture as users get it: installed, torn down on failure, skipped without root.

Each case runs a small test file in a separate pytest (the plugin comes from the
installed entry point, not from this repository's conftest), the way a user's
project would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from ironlb.lab import netns
from ironlb.lab.fixture import require_netns
from ironlb.lab.state import StateDir, state_root

INNER = """
import pathlib

def test_uses_two_labs_and_fails(ironlb_lab):
    first = ironlb_lab("layer2", instance="{instance}-a")
    second = ironlb_lab("{topology}", instance="{instance}-b")
    pathlib.Path("seen").write_text("\\n".join([first.namespace("node1"), second.namespace("node1")]))
    assert False, "failing on purpose"
"""


def _pytest(directory: Path, *, user: int | None = None) -> subprocess.CompletedProcess[str]:
    prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user is not None else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py"],
        cwd=directory, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_plugin_is_registered_with_pytest() -> None:
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins.get("ironlb") == "ironlb.lab.pytest_plugin"


def test_the_library_does_not_import_pytest() -> None:
    code = (
        "import sys, ironlb.cli.main, ironlb.lab.fixture, ironlb.lab.runner, ironlb.lab.system, "
        "ironlb.lab.locate, controller.__main__, speaker.__main__; print('pytest' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.netns
def test_labs_are_torn_down_when_the_test_fails(tmp_path: Path) -> None:
    require_netns()
    instance = f"plugin-{os.getpid()}"
    # a path to a topology file works as well as a name
    topology = str(Path(__file__).resolve().parents[2] / "containerlab" / "layer2")
    (tmp_path / "test_inner.py").write_text(INNER.format(instance=instance, topology=topology))
    done = _pytest(tmp_path)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout + done.stderr
    assert "failing on purpose" in done.stdout
    seen = (tmp_path / "seen").read_text().split()
    assert seen == [f"ilb-{instance}-a-node1", f"ilb-{instance}-b-node1"]  # both labs were up
    assert not [n for n in netns.list_names() if n.startswith(f"ilb-{instance}-")]
    assert not StateDir(state_root(), f"{instance}-a").exists()
    assert not StateDir(state_root(), f"{instance}-b").exists()


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_the_fixture_skips_without_root() -> None:
    user = 65534 if os.geteuid() == 0 else None  # root: run the inner pytest as nobody
    with tempfile.TemporaryDirectory(prefix="ironlb-plugin-") as name:  # not under root's 0700 tmp
        directory = Path(name)
        directory.chmod(0o777)
        (directory / "test_inner.py").write_text(INNER.format(instance="never", topology="layer2"))
        done = _pytest(directory, user=user)
        assert done.returncode == 0 and "1 skipped" in done.stdout, done.stdout + done.stderr
        assert not (directory / "seen").exists()
