"""Fixtures: a fresh API-server double per test and a real ``kubernetes`` client for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.support.kubeapi import KubeApiServer


@dataclass
class Double:
    server: KubeApiServer
    api_client: client.ApiClient
    kubeconfig: Path

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api_client)

    @property
    def coordination(self) -> client.CoordinationV1Api:
        return client.CoordinationV1Api(self.api_client)


@pytest.fixture
def double(tmp_path: Path) -> Iterator[Double]:
    with KubeApiServer(bookmark_interval=0.2) as server:
        kc = server.write_kubeconfig(tmp_path / "kubeconfig")
        api_client = config.new_client_from_config(config_file=str(kc))
        try:
            yield Double(server, api_client, kc)
        finally:
            api_client.close()


def lb_service(name: str, **spec: object) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], **spec},
    }
