"""``scripts/demo.sh`` works as root without sudo, and as a user through sudo when there is one.

A root shell on a minimal Debian has no sudo, so the demo must not ask for it
there (the lab itself runs in tests/e2e/test_demo_script.py, as root). Run as an
unprivileged user it re-runs itself through sudo, keeping its IRONLB_* settings,
or says plainly what to do when there is no sudo. These runs stop at the root
check: the recorded sudo call stands in for the privileged re-run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scripts" / "demo.sh"
NOBODY = 65534
SETPRIV = shutil.which("setpriv")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or SETPRIV is None,
    reason="needs root and setpriv to run as another user",
)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the unprivileged user can reach (pytest's own tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="ironlb-demo-root-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def tools(tmp_path: Path, *names: str) -> Path:
    """A PATH directory with only these programs (so that a machine's own sudo stays out of sight)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(mode=0o755)
    for name in names:
        exe = shutil.which(name)
        assert exe is not None, name
        (bin_dir / name).symlink_to(exe)
    return bin_dir


def as_nobody(bin_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SETPRIV), f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "/bin/bash", str(DEMO)],
        env={"PATH": str(bin_dir), **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_without_root_and_without_sudo_it_says_what_to_do(shared_dir: Path) -> None:
    done = as_nobody(tools(shared_dir, "dirname", "id"))
    assert done.returncode == 1
    assert "needs root for network namespaces; run it as root" in done.stderr
    assert "sudo: command not found" not in done.stderr


def test_without_root_it_reruns_itself_through_sudo_with_its_settings(shared_dir: Path) -> None:
    bin_dir = tools(shared_dir, "dirname", "id")
    record = shared_dir / "sudo-args"
    record.touch()
    record.chmod(0o666)
    sudo = bin_dir / "sudo"
    sudo.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    sudo.chmod(0o755)
    done = as_nobody(bin_dir, IRONLB_SKIP_SETUP="1", IRONLB_DEMO_LAB="mine")
    assert done.returncode == 0, done.stderr
    assert "running it with sudo" in done.stderr
    assert record.read_text().splitlines() == [
        "env",
        "IRONLB_SKIP_SETUP=1",
        "IRONLB_DEMO_LAB=mine",
        "IRONLB_LAB_STATE=",
        "bash",
        str(DEMO),
    ]
