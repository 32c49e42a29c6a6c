"""Kubernetes object builders shared by the test suites (raw dicts, as manifests spell them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def ironlb_resource(
    kind: str, name: str, spec: dict[str, Any], namespace: str = "ironlb-system"
) -> dict[str, Any]:
    """An ironlb.io/v1beta1 config object (IPAddressPool, BGPPeer, ...) as a manifest spells it."""
    return {
        "apiVersion": "ironlb.io/v1beta1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def endpoint_slice(
    service_name: str, nodes: Iterable[str], *, ready: bool = True, namespace: str = "default"
) -> dict[str, Any]:
    """An IPv4 EndpointSlice of ``service_name`` with one endpoint on each of ``nodes``."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-eps",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": [f"10.244.{i}.10"], "conditions": {"ready": ready}, "nodeName": n}
            for i, n in enumerate(nodes)
        ],
    }
