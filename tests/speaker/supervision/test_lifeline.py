"""``speaker/lifeline.py``: a child started the speaker's way dies with its parent, whatever kills the parent.

Real processes: a stand-in speaker starts the child through the launcher and is then
SIGKILLed; the child must be gone within a deadline. In ``exec`` mode the child keeps
the launcher's PID; in ``guard`` mode it may even change its user (as bfdd does, which
clears the kernel's death signal), and a SIGTERM while the parent lives is passed on.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from speaker.supervision import LIFELINE, tethered
from tests.speaker.supervision.helpers import stand_in_speaker
from tests.support.processes import argv_of, running
from tests.support.waiting import wait_for

pytestmark = pytest.mark.usefixtures("subreaper")

SLEEP = [shutil.which("sleep") or "/bin/sleep", "600"]


def test_exec_mode_keeps_the_pid_and_dies_with_its_parent() -> None:
    with stand_in_speaker(SLEEP) as (parent, child):
        wait_for(lambda: argv_of(child) == SLEEP, 10, "the launcher replaced by the daemon (same PID)")
        parent.kill()
        parent.wait()
        wait_for(lambda: not running(child), 5, "the daemon gone with its parent", interval=0.005)


def test_guard_mode_daemon_dies_with_the_parent_even_after_changing_its_user(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to change users")
    pid_file = tmp_path / "daemon.pid"
    # The daemon writes its PID, then switches to nobody: the kernel clears its own death signal.
    daemon = [
        "sh", "-c", f'echo $$ > {pid_file}; exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"',
        "sh", *SLEEP,
    ]  # fmt: skip
    with stand_in_speaker(daemon, guard=True) as (parent, guard):
        pid = wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 10, "the daemon's pid")
        daemon_pid = int(pid)
        wait_for(lambda: argv_of(daemon_pid) == SLEEP, 10, "the daemon running as nobody")
        uid_line = next(
            x for x in Path(f"/proc/{daemon_pid}/status").read_text().splitlines() if x[:4] == "Uid:"
        )
        assert uid_line.split()[1:] == ["65534"] * 4
        parent.kill()
        parent.wait()
        wait_for(lambda: not running(daemon_pid), 5, "the daemon gone with the speaker", interval=0.005)
        wait_for(lambda: not running(guard), 5, "the guard gone", interval=0.005)


def test_guard_passes_a_stop_on_and_exits_with_the_daemons_status(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    daemon = [
        sys.executable, "-c",
        "import signal, sys, pathlib, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(600)\n",
    ]  # fmt: skip
    guard = subprocess.Popen(tethered(daemon, guard=True))
    try:
        wait_for(ready.exists, 10, "the daemon's SIGTERM handler installed")
        guard.send_signal(signal.SIGTERM)  # the speaker stopping bfdd: SIGTERM, not a kill
        assert guard.wait(10) == 7
    finally:
        if guard.poll() is None:
            guard.kill()
            guard.wait()


@pytest.mark.parametrize("mode", ["exec", "guard"])
def test_a_launcher_whose_speaker_is_already_gone_starts_nothing(mode: str, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    not_my_parent = os.getpid() + 1_000_000  # no process has it: the speaker "died" before the launch
    argv = [sys.executable, "-I", "-S", str(LIFELINE), mode, str(not_my_parent), "touch", str(marker)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    assert result.returncode == 1
    assert "is gone" in result.stderr
    assert not marker.exists()


def test_usage_errors_name_the_expected_arguments() -> None:
    result = subprocess.run([sys.executable, str(LIFELINE), "fork", "1"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "usage: lifeline.py exec|guard SPEAKER_PID COMMAND" in result.stderr
