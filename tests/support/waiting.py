"""Waiting for a condition in tests: poll until truthy, fail naming what never came.

Tests never assert on time; they wait for a state with a generous bound, so a slow
machine makes them slower, not red.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    fn: Callable[[], T | None], timeout: float = 30.0, what: str = "", *, interval: float = 0.05
) -> T:
    """Poll ``fn`` until it returns something truthy and return that; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or fn}; last={last!r}")


def returns_within(fn: Callable[[], T], timeout: float = 5.0) -> T:
    """``fn()`` called in a thread: a call that blocks (say, on a hung request) fails the test instead
    of hanging it."""
    out: list[T] = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    t.join(timeout)
    if not out:
        raise AssertionError(f"{fn} did not return within {timeout} s (blocked by a hung request?)")
    return out[0]
