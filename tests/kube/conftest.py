"""Fixtures: ``kube`` (the real API server, tests/support) and ``double`` (the API-server double,
only for what a real server cannot do on demand: a call that hangs, a 5xx)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from ironlb.kube.client import make_api_client
from tests.support.kubeapi import KubeApiServer


@dataclass
class Double:
    server: KubeApiServer
    api: client.ApiClient
    kubeconfig: Path

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def coordination(self) -> client.CoordinationV1Api:
        return client.CoordinationV1Api(self.api)


@contextmanager
def running_double(tmp_path: Path, new_client: Callable[[str], client.ApiClient]) -> Iterator[Double]:
    """A fresh API-server double and a client for it made by ``new_client(kubeconfig path)``."""
    with KubeApiServer(bookmark_interval=0.2) as server:
        kc = server.write_kubeconfig(tmp_path / "kubeconfig")
        api = new_client(str(kc))
        try:
            yield Double(server, api, kc)
        finally:
            api.close()


@pytest.fixture
def double(tmp_path: Path) -> Iterator[Double]:
    """The double with ironlb's own client (``make_api_client``), as the programs talk to a server."""
    with running_double(tmp_path, make_api_client) as d:
        yield d


def lb(name: str, **spec: object) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {
            "type": "LoadBalancer",
            "ports": [{"port": 80}],
            "allocateLoadBalancerNodePorts": False,
            **spec,
        },
    }
