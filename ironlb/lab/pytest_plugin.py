"""pytest plugin: the ``ironlb_lab`` fixture brings topologies up and always tears them down.

Why: issue 4 asks for "a Python fixture for pytest that brings a topology up and
always tears it down", for ironlb's own network tests and for users who test
their routing against ironlb's topologies. Installing ironlb registers this
module with pytest (``[project.entry-points.pytest11]`` in pyproject.toml), so
any test can ask for the fixture without a conftest::

    import pytest

    @pytest.mark.netns
    def test_route(ironlb_lab) -> None:
        lab = ironlb_lab("bgp-ecmp")          # a name, a directory or a .clab.yml path
        lab.exec("client", ["ping", "-c1", "172.30.0.11"])

The factory may be called several times in one test; every lab it started is
torn down at the test's teardown, in reverse order, also when the test fails
or is interrupted. Without root (no network namespaces) the test is skipped.
It wraps :func:`ironlb.lab.fixture.running_lab` (unique instance names, labs of
dead test processes removed first).

This is the only module of ironlb that imports pytest; nothing in the library
imports it, so ironlb runs without pytest installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

if TYPE_CHECKING:
    from ironlb.lab.runner import Lab

__all__ = ["LabFactory", "ironlb_lab"]


class LabFactory(Protocol):
    """``ironlb_lab(topology, *, instance=None, state_root=None) -> Lab``."""

    def __call__(
        self, topology: str | Path, *, instance: str | None = None, state_root: Path | None = None
    ) -> Lab: ...


NETNS_MARKER = "netns: needs root and network namespaces; runs real routers and tools"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``netns`` marker, which the fixture's tests carry, in projects that use the plugin."""
    config.addinivalue_line("markers", NETNS_MARKER)


@pytest.fixture
def ironlb_lab() -> Iterator[LabFactory]:
    """A factory that brings a topology up and returns its running :class:`~ironlb.lab.runner.Lab`.

    ``topology`` is anything ``ironlb lab up`` accepts: a shipped topology's name
    (``"bgp-ecmp"``), a directory holding one ``*.clab.yml``, or a file path.
    Every lab is torn down when the test ends, whatever its outcome.
    """
    from ironlb.lab.fixture import require_netns, running_lab
    from ironlb.lab.locate import not_found_message, resolve_topology

    require_netns()
    with ExitStack() as labs:

        def start(
            topology: str | Path, *, instance: str | None = None, state_root: Path | None = None
        ) -> Lab:
            path = resolve_topology(str(topology))
            if path is None:
                raise ValueError(not_found_message(str(topology)))
            return labs.enter_context(running_lab(path, instance=instance, state_root=state_root))

        yield start
