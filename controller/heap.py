"""Keep CPython's cyclic garbage collector off the controller's long-lived objects.

Why: the controller holds every Service of the cluster in its informer cache, plus what its
imports made. A full (generation 2) collection walks all of them with every thread stopped (it
holds the GIL): 18 ms for the imports alone, 32 ms with 5,000 cached Services, 47 ms with 10,000
(``benchmarks/controller.py`` measures the effect). Such a pause landing on a Service's path
was the tail of warm create -> status (p99 40 ms against a p50 of 16 ms).

``gc.freeze`` moves every object that exists to a permanent generation that collections skip;
reference counting still frees a frozen object as soon as it is no longer used (the cache's
JSON dicts have no reference cycles, so a replaced Service is freed at once). Frozen are what
the imports made (at start), what an adoption built (cache and allocator), and what is left
after a burst of work once the queue is idle again. Before that last one, a collection runs
(of the objects not yet frozen only: cheap), so cyclic garbage is not frozen with the rest;
what a freeze may keep is only a cycle still in use at that moment and dropped later.

During start-up (``StartUpPause``) collections are off altogether, until the first adoption is
frozen: the first LIST decodes every Service of the cluster into new dicts, and with collections
on, every few hundred allocations one ran, the older ones walking everything decoded so far (10 MB
of JSON, 10,000 Services as the API server lists them: ``json.loads`` 0.28 s with collections, 0.11 s
without, in process on this kind of machine).
Those objects have no cycles: reference counting frees what start-up drops. A bound
(``START_UP_PAUSE``) ends the pause even when no term starts (a standby, no valid config).

``HeapKeeper`` holds the rule "freeze after a burst" as a pure count; the calls into ``gc``
are its only side effect.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable

START_UP_PAUSE = 30.0
"""At most this many seconds of start-up without cyclic collections (``StartUpPause``)."""
BURST = 500
"""Keys processed since the last freeze that make an idle moment worth a collect + freeze."""


def freeze() -> None:
    """Exempt every object alive now from future collections (see the module docstring)."""
    gc.freeze()


class StartUpPause:
    """Cyclic collections off from ``begin`` until ``end`` (the first adoption is frozen, or the
    controller knows it has nothing to adopt), or ``limit`` seconds at most. ``end`` is idempotent."""

    def __init__(
        self,
        *,
        limit: float = START_UP_PAUSE,
        disable: Callable[[], None] = gc.disable,
        enable: Callable[[], None] = gc.enable,
    ) -> None:
        self._disable, self._enable = disable, enable
        self._lock = threading.Lock()
        self._state = "before"  # -> "paused" -> "ended"
        self._timer = threading.Timer(limit, self.end)
        self._timer.daemon = True

    @property
    def paused(self) -> bool:
        return self._state == "paused"

    def begin(self) -> None:
        with self._lock:
            if self._state != "before":
                return
            self._state = "paused"
            self._disable()
        self._timer.start()

    def end(self) -> None:
        with self._lock:
            if self._state != "paused":
                self._state = "ended"
                return
            self._state = "ended"
            self._enable()
        self._timer.cancel()


class HeapKeeper:
    """Counts processed keys; once ``burst`` were processed and the queue is idle, collects the
    young objects and freezes the survivors (one worker at a time; the others go on)."""

    def __init__(
        self,
        idle: Callable[[], bool],
        *,
        burst: int = BURST,
        collect: Callable[[], object] = gc.collect,
        freeze: Callable[[], None] = freeze,
    ) -> None:
        self._idle, self._burst = idle, burst
        self._collect, self._freeze = collect, freeze
        self._lock = threading.Lock()
        self._processed = 0
        self.freezes = 0

    def processed(self) -> None:
        """One key was processed (call after the queue was told it is done)."""
        with self._lock:
            self._processed += 1
            if self._processed < self._burst:
                return
        if not self._idle() or not self._lock.acquire(blocking=False):
            return
        try:
            if self._processed >= self._burst:
                self._processed = 0
                self._collect()
                self._freeze()
                self.freezes += 1
        finally:
            self._lock.release()
