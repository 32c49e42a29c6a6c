"""Daemons a test harness starts: children stopped by PID and reaped, never by name.

Each runs under ``setpriv --pdeathsig KILL`` where available, so the kernel kills it if the
harness dies first; its output goes to a log file whose end is shown when it fails to start.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
import urllib.error
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago (the caller retries if another took it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[Any], timeout: float = 15.0, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to ``proc`` (ours, by PID), SIGKILL it after ``timeout``, and reap it."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


class Child:
    """A daemon started by the harness, its output in a log file; stopped by PID and reaped."""

    def __init__(self, name: str, argv: Sequence[str], log: Path) -> None:
        self.name, self.log = name, log
        prefix = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [*prefix, *argv], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        stop_process(self.proc, timeout)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def wait_ready(child: Child, probe: Any, timeout: float, what: str) -> None:
    """Poll ``probe`` until it answers true; fail early, with the log's end, if ``child`` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited ({child.proc.returncode}):\n{child.tail()}")
        try:
            if probe():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout:.0f} s:\n{child.tail()}")
        time.sleep(0.05)
