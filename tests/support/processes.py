"""Looking at processes from tests: by /proc, reaping what is ours, zombies counted as gone."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def argv_of(pid: int) -> list[str]:
    """The command line of ``pid`` (empty when gone, a zombie, or just after exec)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def running(pid: int) -> bool:
    """True while ``pid`` exists and is no zombie; reaps it when it is ours (or adopted as a subreaper)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def processes_using(path: Path) -> dict[int, list[str]]:
    """Every live process with ``path``, or a file under it, among its arguments: {pid: argv}."""
    prefix = str(path)
    found: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        argv = argv_of(int(entry.name))
        if any(a == prefix or a.startswith(prefix + "/") for a in argv) and running(int(entry.name)):
            found[int(entry.name)] = argv
    return found
