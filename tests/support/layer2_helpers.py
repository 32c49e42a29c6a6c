"""Builders of raw Kubernetes objects and configs for the pure layer-2 tests."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from ironlb.announce.inputs import AnnounceInputs, build_inputs
from ironlb.announce.layer2 import owner
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config import parse_config

CONFIG = parse_config(
    """
address-pools:
- name: l2
  protocol: layer2
  addresses: [192.0.2.0/24, '2001:db8::/120']
- name: b
  protocol: bgp
  addresses: [198.51.100.0/24]
"""
)


def node(
    name: str, *, labels: dict[str, str] | None = None, network_unavailable: bool = False
) -> dict[str, Any]:
    conds = [{"type": "NetworkUnavailable", "status": "True" if network_unavailable else "False"}]
    return {
        "kind": "Node",
        "metadata": {"name": name, "labels": labels or {}},
        "status": {"conditions": conds, "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]},
    }


def svc(
    name: str, ips: Sequence[str], *, etp: str = "Cluster", lb_class: str | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "LoadBalancer", "externalTrafficPolicy": etp}
    if lb_class:
        spec["loadBalancerClass"] = lb_class
    return {
        "kind": "Service",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]}},
    }


def eps(
    service: str, nodes: Sequence[str], *, ready: bool | None = True, name: str | None = None
) -> dict[str, Any]:
    cond = {} if ready is None else {"ready": ready}
    return {
        "kind": "EndpointSlice",
        "metadata": {
            "name": name or f"{service}-x",
            "namespace": "ns",
            "labels": {"kubernetes.io/service-name": service},
        },
        "endpoints": [{"addresses": ["10.1.0.1"], "conditions": cond, "nodeName": n} for n in nodes],
    }


def inputs(
    me: str,
    nodes: Sequence[dict[str, Any]],
    services: Sequence[dict[str, Any]],
    slices: Sequence[dict[str, Any]],
    live: Sequence[str] | None = None,
) -> AnnounceInputs:
    snap = ClusterSnapshot(services=tuple(services), endpoint_slices=tuple(slices), nodes=tuple(nodes))  # type: ignore[arg-type]
    names = [n["metadata"]["name"] for n in nodes]
    return build_inputs(me, CONFIG, snap, names if live is None else live)


def ranking(ip: str, nodes: Sequence[str]) -> list[str]:
    """Nodes in the order they would own ``ip`` (owner first, then its successor, ...)."""
    left, out = list(nodes), []
    while left:
        o = owner(ipaddress.ip_address(ip), left)
        assert o is not None
        out.append(o)
        left.remove(o)
    return out
