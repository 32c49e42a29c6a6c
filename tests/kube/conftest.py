"""Fixtures: ``kube`` (the real API server, tests/support) and ``double`` (the API-server double,
only for what a real server cannot do on demand: a call that hangs, a 5xx)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    def core(self) -> Any:
        return client.CoreV1Api(self.api)


@pytest.fixture
def double(tmp_path: Path) -> Iterator[Double]:
    with KubeApiServer(bookmark_interval=0.2) as server:
        kc = server.write_kubeconfig(tmp_path / "kubeconfig")
        api = make_api_client(str(kc))
        try:
            yield Double(server, api, kc)
        finally:
            api.close()


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
