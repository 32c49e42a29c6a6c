"""Fixtures: the API-server double and an ``ApiClient`` built by ironlb's own factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from ironlb.kube.client import make_api_client
from tests.kubeapi import KubeApiServer, ResourceType, by_plural


@dataclass
class Env:
    server: KubeApiServer
    api: client.ApiClient
    kubeconfig: Path

    @property
    def server_rt(self) -> ResourceType:
        return by_plural("services")

    @property
    def core(self) -> Any:
        return client.CoreV1Api(self.api)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with KubeApiServer(bookmark_interval=0.2) as server:
        kc = server.write_kubeconfig(tmp_path / "kubeconfig")
        api = make_api_client(str(kc))
        try:
            yield Env(server, api, kc)
        finally:
            api.close()


def lb(name: str, ns: str = "default", **spec: object) -> dict[str, object]:
    return {
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "type": "LoadBalancer",
            "ports": [{"port": 80}],
            "allocateLoadBalancerNodePorts": False,
            **spec,
        },
    }
