"""Clusters as the live plan sees them: Services with their status, Nodes, EndpointSlices (raw dicts)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config import Config, parse_config
from tests.support.objects import endpoint_slice

POOL_ANNOTATION = "ironlb.io/ip-allocated-from-pool"


def lb(
    name: str,
    ips: Iterable[str] = (),
    *,
    pool: str | None = None,
    namespace: str = "apps",
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A LoadBalancer Service, its status showing ``ips`` (and the pool the controller wrote)."""
    ann = dict(annotations or {})
    if pool is not None:
        ann[POOL_ANNOTATION] = pool
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "annotations": ann},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }
    ips = list(ips)
    if ips:
        body["status"] = {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"} for ip in ips]}}
    return body


def node(name: str, address: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "status": {"addresses": [{"type": "InternalIP", "address": address}]},
    }


NODES = (node("node1", "172.30.0.11"), node("node2", "172.30.0.12"), node("node3", "172.30.0.13"))


def cluster(services: Iterable[dict[str, Any]], nodes: Iterable[dict[str, Any]] = NODES) -> ClusterSnapshot:
    """The Services with a ready endpoint on every node (so BGP announces them from each)."""
    services = tuple(services)
    nodes = tuple(nodes)
    names = [n["metadata"]["name"] for n in nodes]
    slices = tuple(
        endpoint_slice(s["metadata"]["name"], names, namespace=s["metadata"]["namespace"]) for s in services
    )
    return ClusterSnapshot(services=services, endpoint_slices=slices, nodes=nodes)  # type: ignore[arg-type]


def config(text: str) -> Config:
    return parse_config(text)
