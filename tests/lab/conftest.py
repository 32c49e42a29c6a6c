"""Lab tests adopt orphaned lab processes (child subreaper) so that they can reap them.

A killed supervisor leaves its routers orphaned; on machines whose PID 1 does not
reap, they would stay zombies. As a subreaper the test process gets them instead,
and ``ironlb.lab.procs.reap`` collects them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ironlb.lab import procs


@pytest.fixture(scope="module")
def subreaper() -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    procs.set_child_subreaper(True)
    try:
        yield
    finally:
        procs.set_child_subreaper(False)
