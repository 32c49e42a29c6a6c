"""Children of an earlier speaker: each daemon the speaker starts is recorded, and a leftover is stopped.

Why: a daemon normally dies with its speaker (``speaker.lifeline``), but one started
by an older ironlb, or a speaker killed in the instant between fork and the death
signal being set, can outlive it and keep announcing routes nobody controls. So each
child is recorded in a pid file in its work directory (``PID START``: the start time
from ``/proc/PID/stat``, in clock ticks since boot), and a starting speaker stops what
such a file names before it starts its own -- only when it is really that process:
the same start time (a PID may have been reused since) and the work directory's file
among its arguments (its configuration path). The whole process group goes (SIGKILL:
ExaBGP then sends no Cease, so routers keep the routes under graceful restart until
the new ExaBGP is up; the bfdd guard's group holds bfdd).

``ironlb.lab.procs`` keeps the same kind of identity for the lab's processes; the
speaker does not import the lab package (it pulls in the runner). Hand-written: a
few lines of /proc (psutil is not a dependency).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0


@dataclass(frozen=True)
class ProcStat:
    """What the speaker needs of ``/proc/PID/stat``."""

    state: str
    ppid: int
    pgid: int
    start: int
    """Clock ticks since boot (field 22): with the PID, it names one process for good."""

    @property
    def exited(self) -> bool:
        return self.state in ("Z", "X")


@dataclass(frozen=True)
class PidRecord:
    pid: int
    start: int


def parse_stat(text: str) -> ProcStat | None:
    """``/proc/PID/stat`` (``pid (comm) state ppid pgrp ...``; comm may hold spaces and parentheses)."""
    fields = text[text.rfind(")") + 2 :].split()
    if len(fields) < 20:
        return None
    try:
        return ProcStat(state=fields[0], ppid=int(fields[1]), pgid=int(fields[2]), start=int(fields[19]))
    except ValueError:
        return None


def proc_stat(pid: int) -> ProcStat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return parse_stat(f.read().decode("utf-8", "replace"))
    except OSError:
        return None


def proc_argv(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]


def alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie is gone: its files and sockets are closed)."""
    stat = proc_stat(pid)
    return stat is not None and not stat.exited


def parse_record(text: str) -> PidRecord | None:
    parts = text.split()
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    pid, start = int(parts[0]), int(parts[1])
    return PidRecord(pid, start) if pid > 1 else None


def is_leftover(record: PidRecord, stat: ProcStat | None, argv: list[str], marker: str) -> bool:
    """Whether the recorded process still runs, is the same process (start time), and is ours (marker)."""
    return stat is not None and not stat.exited and stat.start == record.start and marker in argv


def write_record(path: Path, pid: int) -> None:
    """Record a child just started (atomically: a crash leaves the old file or the new one)."""
    stat = proc_stat(pid)
    if stat is None:
        return  # already gone
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{pid} {stat.start}\n")
    os.replace(tmp, path)


def forget_record(path: Path, pid: int) -> None:
    """Remove the record of ``pid`` once it was reaped (not a newer child's record)."""
    with contextlib.suppress(OSError):
        record = parse_record(path.read_text())
        if record is None or record.pid == pid:
            path.unlink()


async def stop_leftover(path: Path, marker: str, *, timeout: float = STOP_TIMEOUT) -> bool:
    """SIGKILL the process group recorded in ``path`` if it is still that child of ours; True if one was.

    ``marker`` is an argument the child was started with (its configuration file in
    this work directory). Returns once it is gone, or after ``timeout`` (logged).
    """
    try:
        text = path.read_text()
    except OSError:
        return False
    record = parse_record(text)
    stat = proc_stat(record.pid) if record else None
    if record is None or not is_leftover(record, stat, proc_argv(record.pid), marker):
        path.unlink(missing_ok=True)  # gone, or the PID now belongs to another process: not ours
        return False
    assert stat is not None
    log.warning(
        "a %s of an earlier speaker still runs (pid %d): stopping it before starting ours",
        Path(marker).name,
        record.pid,
    )
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if stat.pgid == record.pid:
            os.killpg(record.pid, signal.SIGKILL)
        else:
            os.kill(record.pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while (now := proc_stat(record.pid)) is not None and not now.exited and now.start == record.start:
        if time.monotonic() > deadline:
            log.error("the leftover pid %d did not die within %.0fs of SIGKILL", record.pid, timeout)
            return True
        await asyncio.sleep(0.01)
    path.unlink(missing_ok=True)
    return True
