"""Builders of the Kubernetes objects the BGP tests need, as plain manifest dicts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml


def node(
    name: str, address: str, *, labels: Mapping[str, str] | None = None, v6: str | None = None
) -> dict[str, Any]:
    addresses = [{"type": "InternalIP", "address": address}]
    if v6:
        addresses.append({"type": "InternalIP", "address": v6})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **dict(labels or {})}},
        "status": {"addresses": addresses, "conditions": [{"type": "Ready", "status": "True"}]},
    }


def service(
    name: str,
    *,
    lb_ips: Iterable[str] = (),
    cluster_ip: str | None = None,
    external_ips: Iterable[str] = (),
    etp: str = "Cluster",
    itp: str = "Cluster",
    annotations: Mapping[str, str] | None = None,
    namespace: str = "default",
    svc_type: str = "LoadBalancer",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": svc_type, "ports": [{"port": 80, "protocol": "TCP"}]}
    if svc_type == "LoadBalancer":
        spec["externalTrafficPolicy"] = etp
    spec["internalTrafficPolicy"] = itp
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
        spec["clusterIPs"] = [cluster_ip]
    if external_ips:
        spec["externalIPs"] = list(external_ips)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "annotations": dict(annotations or {})},
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"} for ip in lb_ips]}},
    }


def config_map(config_yaml: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ironlb", "namespace": "ironlb-system"},
        "data": {"config": config_yaml},
    }


def dump(objects: Iterable[Mapping[str, Any]]) -> str:
    return yaml.safe_dump_all(list(objects), sort_keys=False)
