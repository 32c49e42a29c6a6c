"""Helpers for tests that need a running lab: ``running_lab`` always tears down.

pytest users get it as the ``ironlb_lab`` fixture (``ironlb.lab.pytest_plugin``,
registered when ironlb is installed); this module stays free of pytest imports
at module level so the library never needs pytest.

Why: every network test in ironlb brings a topology up and must leave nothing
behind even when it fails. ``running_lab`` is the one way to do it::

    from ironlb.lab.fixture import running_lab, require_netns, topology_path

    @pytest.mark.netns
    def test_x() -> None:
        require_netns()
        with running_lab(topology_path("bgp-ecmp")) as lab:
            lab.spawn("node1", [...])

Each call gets its own instance name (``<topology>-<pid>-<n>``) unless one is
given, so tests running in parallel never share namespaces. The daemons and
spawned processes are children of the test process. Tests that start labs
through the CLI (a detached supervisor) should make the test process a child
subreaper (``ironlb.lab.procs.set_child_subreaper``) so that they can reap
what a killed supervisor leaves.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ironlb.lab.runner import Lab, teardown_dead
from ironlb.lab.topology import REPO_CONTAINERLAB, load_topology

__all__ = ["REPO_CONTAINERLAB", "require_netns", "running_lab", "topology_path"]

_counter = itertools.count()


def topology_path(name: str, root: Path = REPO_CONTAINERLAB) -> Path:
    """``containerlab/<name>/<name>.clab.yml``."""
    return root / name / f"{name}.clab.yml"


def require_netns() -> None:
    """Skip the calling test unless it can create network namespaces (root)."""
    import pytest

    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")


@contextmanager
def running_lab(path: Path, *, instance: str | None = None, state_root: Path | None = None) -> Iterator[Lab]:
    """Bring the topology at ``path`` up, yield the :class:`Lab`, always tear it down.

    Labs left by test processes that died (SIGKILL, OOM) are removed first.
    """
    topology = load_topology(path)
    teardown_dead(state_root)
    name = instance or f"{topology.name}-{os.getpid()}-{next(_counter)}"
    lab = Lab(topology, instance=name, state_root_dir=state_root)
    try:
        lab.up()
        yield lab
    finally:
        lab.down()
