"""The ``api`` fixture of the speaker-on-Kubernetes tests: the API double and the speaker's kubeconfig."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kubeapi import KubeApiServer


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[KubeApiServer, Path]]:
    """The double, and the speaker's kubeconfig (its own token, to tell its requests apart
    from the test's, which uses ``tester``)."""
    with KubeApiServer(bookmark_interval=0.5, tokens={"speaker": None, "tester": None}) as server:
        yield server, server.write_kubeconfig(tmp_path / "kubeconfig", token="speaker")
