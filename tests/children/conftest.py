"""The tests of the speaker's children SIGKILL a parent and check that its children die too.

Their orphans are re-parented to the test process (child subreaper) so that they can
be reaped instead of lingering as zombies of a PID 1 that may never reap.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

import pytest

PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture
def subreaper() -> Iterator[None]:
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
