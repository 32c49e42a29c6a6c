"""A stand-in speaker for the tests of the speaker's children."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

from tests.support.processes import running

# A stand-in speaker: starts its arguments the way the speaker starts a child (``tethered``;
# the first argument "1" for guard mode), prints the child's PID, then waits to be killed.
PARENT = """
import subprocess, sys, time
from speaker.supervision import tethered
child = subprocess.Popen(tethered(sys.argv[2:], guard=sys.argv[1] == "1"), start_new_session=True)
print(child.pid, flush=True)
time.sleep(600)
"""


@contextlib.contextmanager
def stand_in_speaker(argv: list[str], *, guard: bool = False) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A parent process that started ``argv`` tethered to itself; yields it and the child's PID.

    The child leads its own process group, which is killed on the way out whatever happened.
    """
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, "1" if guard else "0", *argv], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        yield parent, child
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait()
        parent.stdout.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child, signal.SIGKILL)
        running(child)
