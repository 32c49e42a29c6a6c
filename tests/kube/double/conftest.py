"""Fixtures: a fresh API-server double per test and a real ``kubernetes`` client for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import config

from tests.kube.conftest import Double, running_double


@pytest.fixture
def double(tmp_path: Path) -> Iterator[Double]:
    """The double with the stock ``kubernetes`` client, so the double is held to the library's reading."""
    with running_double(tmp_path, lambda kc: config.new_client_from_config(config_file=kc)) as d:
        yield d


def lb_service(name: str, **spec: object) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], **spec},
    }
