"""``speaker.leftovers``: a starting speaker stops its predecessor's child, and only that.

Real processes stand in for leftovers: the pid file's process is SIGKILLed only when
it still has the recorded start time (a PID can be reused) and the work directory's
configuration file among its arguments. The parsers of ``/proc/PID/stat`` and of the
pid file are fuzzed. ``ChildProcess`` records its child while it runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from speaker.leftovers import (
    PidRecord,
    parse_record,
    parse_stat,
    proc_stat,
    stop_leftover,
    write_record,
)
from speaker.supervision import ChildProcess
from tests.support.processes import argv_of, running
from tests.support.waiting import wait_for

SLEEPER = "import time; time.sleep(600)"


def sleeper(*args: str) -> subprocess.Popen[bytes]:
    """A process with ``args`` in its command line, in its own process group (as the speaker's children)."""
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER, *args], start_new_session=True)
    # Just after exec the kernel shows an empty command line for a moment.
    wait_for(lambda: argv_of(proc.pid)[-len(args) :] == list(args), 5, "the sleeper's command line")
    return proc


def record(path: Path, pid: int, *, start_offset: int = 0) -> None:
    stat = proc_stat(pid)
    assert stat is not None
    path.write_text(f"{pid} {stat.start + start_offset}\n")


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "exabgp.conf"
    path.write_text("")
    return path


def test_the_recorded_leftover_is_killed_with_its_group(tmp_path: Path, conf: Path) -> None:
    leftover = sleeper("server", str(conf))
    try:
        record(tmp_path / "exabgp.pid", leftover.pid)
        assert asyncio.run(stop_leftover(tmp_path / "exabgp.pid", str(conf))) is True
        assert leftover.wait(5) == -signal.SIGKILL  # stop_leftover returned only once it was dead
        assert not (tmp_path / "exabgp.pid").exists()
    finally:
        leftover.kill()
        leftover.wait()


@pytest.mark.parametrize(
    ("args", "start_offset", "why"),
    [
        (("server", "/elsewhere/exabgp.conf"), 0, "the PID now runs something else"),
        (("server", "CONF"), 1, "same arguments, but another process (another start time)"),
    ],
)
def test_a_reused_pid_is_never_signalled(
    tmp_path: Path, conf: Path, args: tuple[str, ...], start_offset: int, why: str
) -> None:
    other = sleeper(*(str(conf) if a == "CONF" else a for a in args))
    try:
        record(tmp_path / "exabgp.pid", other.pid, start_offset=start_offset)
        assert asyncio.run(stop_leftover(tmp_path / "exabgp.pid", str(conf))) is False, why
        assert other.poll() is None and running(other.pid), why
        assert not (tmp_path / "exabgp.pid").exists()  # a stale record is dropped
    finally:
        other.kill()
        other.wait()


@pytest.mark.parametrize("content", [None, "", "garbage\n", "1 1\n", "12 34 56\n", "99999999 1\n"])
def test_no_record_or_a_useless_one_stops_nothing(tmp_path: Path, conf: Path, content: str | None) -> None:
    path = tmp_path / "exabgp.pid"
    if content is not None:
        path.write_text(content)
    assert asyncio.run(stop_leftover(path, str(conf))) is False
    assert not path.exists()


def test_a_zombie_leftover_counts_as_gone(tmp_path: Path, conf: Path) -> None:
    leftover = sleeper(str(conf))
    record(tmp_path / "exabgp.pid", leftover.pid)
    leftover.kill()
    wait_for(lambda: (s := proc_stat(leftover.pid)) is not None and s.exited, 5, "a zombie")
    try:
        assert asyncio.run(stop_leftover(tmp_path / "exabgp.pid", str(conf))) is False
    finally:
        leftover.wait()


def test_child_process_records_itself_while_it_runs(tmp_path: Path) -> None:
    pid_file = tmp_path / "daemon.pid"

    async def scenario() -> None:
        child = ChildProcess([sys.executable, "-c", SLEEPER, "marker"], name="daemon", record=pid_file)
        await child.start()
        assert child.pid is not None
        written = parse_record(pid_file.read_text())
        stat = proc_stat(child.pid)
        assert stat is not None and written == PidRecord(child.pid, stat.start)
        await child.stop()
        assert not pid_file.exists()

    asyncio.run(scenario())


def test_a_guarded_daemon_goes_when_its_guard_alone_is_killed(tmp_path: Path) -> None:
    """bfdd as the frr user has no death signal left: the supervisor clears what its dead guard leaves."""

    async def scenario() -> None:
        child = ChildProcess([sys.executable, "-c", SLEEPER, "guarded"], name="daemon", guard=True)
        await child.start()
        assert child.pid is not None
        guard = child.pid
        daemon = wait_for(
            lambda: next((p for p in _children(guard) if "guarded" in argv_of(p)), None), 10, "the daemon"
        )
        os.kill(guard, signal.SIGKILL)  # the guard alone, not its process group
        assert await child.wait() == -signal.SIGKILL
        wait_for(lambda: not running(daemon), 5, "the guarded daemon gone")

    asyncio.run(scenario())


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def stat_line(pid: int, comm: str, state: str, ppid: int, pgid: int, start: int) -> str:
    rest = ["0"] * 16  # session .. nice, itrealvalue: fields 6-21
    return f"{pid} ({comm}) {state} {ppid} {pgid} {' '.join(rest)} {start} 0 0\n"


@given(
    comm=st.text(alphabet=st.characters(blacklist_characters="\0\n"), max_size=16),
    state=st.sampled_from("RSDZTX"),
    ppid=st.integers(0, 2**22),
    pgid=st.integers(0, 2**22),
    start=st.integers(0, 2**63),
)
def test_stat_lines_parse_whatever_the_command_name(
    comm: str, state: str, ppid: int, pgid: int, start: int
) -> None:
    stat = parse_stat(stat_line(42, comm, state, ppid, pgid, start))
    assert stat is not None
    assert (stat.state, stat.ppid, stat.pgid, stat.start) == (state, ppid, pgid, start)
    assert stat.exited == (state in "ZX")


@given(st.text())
def test_any_text_parses_to_a_stat_or_none(text: str) -> None:
    assert parse_stat(text) is None or isinstance(parse_stat(text).start, int)  # type: ignore[union-attr]


@given(st.text())
def test_any_pid_file_text_parses_to_a_record_or_none(text: str) -> None:
    parsed = parse_record(text)
    assert parsed is None or (parsed.pid > 1 and parsed.start >= 0)


def test_write_record_of_a_live_process_reads_back(tmp_path: Path) -> None:
    write_record(tmp_path / "me.pid", os.getpid())
    stat = proc_stat(os.getpid())
    assert stat is not None
    assert parse_record((tmp_path / "me.pid").read_text()) == PidRecord(os.getpid(), stat.start)
