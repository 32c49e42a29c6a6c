"""``stop_on_signals()``: the stop flag of a program that ends on SIGTERM or SIGINT.

Why: the controller, its manifest-directory mode and the lab's node agent all stop
the same way -- the signal only sets a flag; the main loop sees it, finishes its
step, cleans up (releases the Lease, removes addresses) and returns 0. One place
for that instead of a handler per program.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


def stop_on_signals() -> threading.Event:
    """An Event set by SIGTERM or SIGINT (call from the main thread)."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop
