"""Small constructors for allocator tests: configs, requests and Service dicts in one line each."""

from __future__ import annotations

import ipaddress
from typing import Any

from ironlb.allocator import AllocationRequest, Assignment, FamilyPolicy, Port, Refusal
from ironlb.config.model import AddressPool, AddressRange, Config, Family, IPAddress, ServiceAllocation
from ironlb.config.values import parse_address_entry
from ironlb.kube_types import Service


def ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


def rng(text: str) -> AddressRange:
    """``"10.0.0.0/24"`` or ``"10.0.0.1-10.0.0.9"``, read as a pool's ``addresses`` entry is."""
    return parse_address_entry(text)[0]


def pool(
    name: str,
    *ranges: str,
    auto_assign: bool = True,
    avoid_buggy_ips: bool = False,
    allocation: ServiceAllocation | None = None,
) -> AddressPool:
    return AddressPool(
        name=name,
        ranges=tuple(rng(r) for r in ranges),
        auto_assign=auto_assign,
        avoid_buggy_ips=avoid_buggy_ips,
        allocation=allocation,
    )


def config(*pools: AddressPool) -> Config:
    return Config(pools=pools)


def req(
    key: str = "default/svc",
    *,
    families: tuple[Family, ...] = (),
    policy: FamilyPolicy = "SingleStack",
    requested: tuple[str, ...] = (),
    pool: str | None = None,
    share: str | None = None,
    ports: tuple[Port, ...] = (),
    backend: str = "Cluster",
    current: tuple[str, ...] = (),
) -> AllocationRequest:
    return AllocationRequest(
        key=key,
        families=families,
        family_policy=policy,
        requested_ips=tuple(ip(t) for t in requested),
        pool=pool,
        sharing_key=share,
        ports=frozenset(ports),
        backend_key=backend,
        current_ips=tuple(ip(t) for t in current),
    )


def service(
    name: str = "svc",
    namespace: str = "default",
    *,
    type_: str = "LoadBalancer",
    annotations: dict[str, str] | None = None,
    spec: dict[str, Any] | None = None,
    ingress: tuple[str, ...] = (),
) -> Service:
    svc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "annotations": dict(annotations or {})},
        "spec": {"type": type_, "ports": [{"port": 80, "protocol": "TCP"}], **(spec or {})},
    }
    if ingress:
        svc["status"] = {"loadBalancer": {"ingress": [{"ip": i} for i in ingress]}}
    return svc  # type: ignore[return-value]


def ips(outcome: Assignment | Refusal) -> list[str]:
    """The addresses of an assignment, as text; fails the test on a refusal."""
    assert isinstance(outcome, Assignment), outcome
    return [str(i) for i in outcome.ips]


def refused(outcome: Assignment | Refusal, code: str) -> str:
    """The reason of a refusal with this code; fails the test on an assignment or another code."""
    assert isinstance(outcome, Refusal), outcome
    assert outcome.code == code, outcome
    return outcome.reason
