"""The ``cluster`` fixture of the speaker-on-Kubernetes tests: the test's part of the real API
server, and the speaker's kubeconfig (ServiceAccount ``speaker``, so the audit log tells its
requests apart from the test's own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.speaker.kube.harness import Cluster
from tests.support.pytest_plugin import Kube


@pytest.fixture
def cluster(kube: Kube) -> tuple[Cluster, Path]:
    return Cluster(kube), kube.kubeconfig("speaker")
