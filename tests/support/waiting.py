"""Waiting for a condition in tests: poll until truthy, fail naming what never came.

Tests never assert on time; they wait for a state with a generous bound, so a slow
machine makes them slower, not red.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

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


def wait_while_running(
    what: str,
    probe: Callable[[], T | None],
    timeout: float,
    proc: subprocess.Popen[Any] | None = None,
    fail_fast: Callable[[], str | None] | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` if it never does,
    at once if the program exits or ``fail_fast`` reports a reason."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"program exited with {proc.returncode} while waiting for {what}")
        reason = fail_fast() if fail_fast is not None else None
        if reason:
            raise AssertionError(f"{reason} (while waiting for {what})")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


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
