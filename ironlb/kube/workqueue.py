"""A de-duplicating work queue keyed by object, in the manner of client-go's workqueue.

Why hand-written: no PyPI package offers client-go's guarantees, which the
controller relies on: a key is queued at most once however many events arrive for
it (1,000 updates to one Service cost one reconcile); a key being processed is never
handed to a second worker, and if it changes meanwhile it is queued again when the
first worker is done (no lost work, no concurrent work on one object); a failed key
is retried after a per-key exponential backoff (computed by tenacity) while other
keys flow on. The clock is injectable so tests step time instead of sleeping.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

import tenacity

K = TypeVar("K", bound=Hashable)


def tenacity_backoff(initial: float = 0.05, maximum: float = 30.0) -> Callable[[int], float]:
    """Delay before retry number ``failures`` (1-based): initial, 2x, 4x, ... capped at ``maximum``."""
    wait = tenacity.wait_exponential(multiplier=initial, max=maximum)

    def delay(failures: int) -> float:
        state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = max(1, failures)
        return float(wait(state))

    return delay


class WorkQueue(Generic[K]):
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        backoff: Callable[[int], float] | None = None,
    ) -> None:
        self._clock = clock
        self._backoff = backoff or tenacity_backoff()
        self._cond = threading.Condition()
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiting: list[tuple[float, int, K]] = []
        self._seq = itertools.count()
        self._failures: dict[K, int] = {}
        self._shutdown = False

    # -- adding ------------------------------------------------------------
    def add(self, key: K) -> None:
        with self._cond:
            self._add_locked(key)

    def add_all(self, keys: Iterable[K]) -> None:
        """``add`` each of ``keys`` in order, under one hold of the lock and with one wake-up of the
        workers (a new term queues every Service of the cluster at once: 10,000 wake-ups took
        longer than the adoption before them)."""
        with self._cond:
            queued = sum(self._add_locked(key, notify=False) for key in keys)
            if queued:
                self._cond.notify(queued)

    def _add_locked(self, key: K, *, notify: bool = True) -> bool:
        """Marks ``key`` dirty; True when it was put in the queue (not already there or in work)."""
        if self._shutdown or key in self._dirty:
            return False
        self._dirty.add(key)
        if key in self._processing:
            return False
        self._queue.append(key)
        if notify:
            self._cond.notify()
        return True

    def add_after(self, key: K, delay: float) -> None:
        with self._cond:
            if delay <= 0:
                self._add_locked(key)
                return
            heapq.heappush(self._waiting, (self._clock() + delay, next(self._seq), key))
            self._cond.notify_all()

    def add_rate_limited(self, key: K) -> float:
        """Requeue ``key`` after its next backoff delay; returns the delay."""
        with self._cond:
            self._failures[key] = self._failures.get(key, 0) + 1
            delay = self._backoff(self._failures[key])
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """Reset ``key``'s backoff after it was processed successfully."""
        with self._cond:
            self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        with self._cond:
            return self._failures.get(key, 0)

    # -- taking ---------------------------------------------------------------
    def _promote_due(self) -> float | None:
        """Move due delayed keys to the queue; return seconds until the next one (None if none)."""
        now = self._clock()
        while self._waiting and self._waiting[0][0] <= now:
            _, _, key = heapq.heappop(self._waiting)
            self._add_locked(key)
        return self._waiting[0][0] - now if self._waiting else None

    def get(self, timeout: float | None = None) -> K | None:
        """The next key (now owned by the caller until ``done``), or None on timeout or shutdown."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                next_due = self._promote_due()
                if self._queue:
                    key = self._queue.popleft()
                    self._processing.add(key)
                    self._dirty.discard(key)
                    return key
                if self._shutdown:
                    return None
                waits = [w for w in (next_due,) if w is not None]
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    waits.append(remaining)
                self._cond.wait(min(waits) if waits else None)

    def done(self, key: K) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify()

    # -- state ----------------------------------------------------------------
    def shutdown(self) -> None:
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def pending_delayed(self) -> int:
        with self._cond:
            return len(self._waiting)

    def idle(self) -> bool:
        """Nothing queued, delayed or being processed."""
        with self._cond:
            return not (self._queue or self._waiting or self._processing)
