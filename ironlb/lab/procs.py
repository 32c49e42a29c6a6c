"""Processes the lab started, identified by PID *and* start time, stopped by PID.

Why: a lab must stop exactly the processes it started, also from another process
(``ironlb lab down``) or after its runner was killed. A PID alone can be reused,
so every record carries the process start time from ``/proc/PID/stat`` and a
process is only signalled when both match. Stopping is SIGTERM, a grace period,
then SIGKILL, and reaping when the process is our child (or was re-parented to
us because we are a child subreaper). A zombie counts as stopped: its parent
must reap it (PID 1 on some machines never does).

Hand-written because psutil is not a dependency and this is ~80 lines of /proc.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

__all__ = [
    "ProcessRef",
    "Reaper",
    "StopRequest",
    "is_running",
    "proc_start_time",
    "reap",
    "set_child_subreaper",
    "stop",
]

log = logging.getLogger(__name__)

PR_SET_CHILD_SUBREAPER = 36

Reaper = Callable[[int], None]


@dataclass(frozen=True)
class ProcessRef:
    pid: int
    start: int  # clock ticks since boot, field 22 of /proc/PID/stat


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode(errors="replace")
    except OSError:
        return None
    # "pid (comm) state ..." -- comm may contain spaces and parentheses
    return raw[raw.rfind(")") + 2 :].split()


def proc_start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def ref(pid: int) -> ProcessRef:
    start = proc_start_time(pid)
    return ProcessRef(pid=pid, start=start if start is not None else -1)


def is_running(process: ProcessRef) -> bool:
    """True when the recorded process still exists and is not a zombie."""
    fields = _stat_fields(process.pid)
    if not fields or len(fields) <= 19:
        return False
    return fields[0] not in ("Z", "X") and int(fields[19]) == process.start


def reap(pid: int) -> None:
    """Collect ``pid`` if it is our (possibly adopted) child and has exited."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _signal(process: ProcessRef, signum: int) -> bool:
    if not is_running(process):
        return False
    try:
        os.kill(process.pid, signum)
    except ProcessLookupError:
        return False
    return True


def stop(processes: list[ProcessRef], grace: float = 3.0, reaper: Reaper | None = None) -> None:
    """SIGTERM all, wait up to ``grace`` seconds, SIGKILL the rest, reap what we can."""
    collect = reaper or reap
    for process in processes:
        _signal(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while True:
        for process in processes:
            collect(process.pid)
        alive = [p for p in processes if is_running(p)]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    for process in alive:
        log.warning("pid %d ignored SIGTERM for %.1fs: SIGKILL", process.pid, grace)
        _signal(process, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while alive and time.monotonic() < deadline:
        for process in alive:
            collect(process.pid)
        alive = [p for p in alive if is_running(p)]
        time.sleep(0.01)


def set_child_subreaper(on: bool = True) -> bool:
    """Make orphaned descendants re-parent to this process so that it can reap them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


class StopRequest:
    """Becomes ``requested`` on SIGTERM or SIGINT (handlers installed when made), so that a foreground
    program's loop (``while not stop.requested``) ends and cleans up instead of dying where it is."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
