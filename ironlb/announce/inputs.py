"""The inputs of every announcement decision, distilled from a cluster snapshot.

Decisions should not pick through raw Kubernetes dicts: this module turns a
``ClusterSnapshot`` (plus the config and the live speakers) into small frozen
records once, so that the layer-2 election, the BGP route set and ``ironlb plan``
all read the same, already-validated facts. Malformed fields (an unparsable IP,
a missing name) are skipped here rather than crashing a decision.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from ironlb import services
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config.model import Config, IPAddress
from ironlb.kube_types import SERVICE_NAME_LABEL, EndpointSlice, Node, Service
from ironlb.services import TrafficPolicy

AnnounceProtocol = Literal["layer2", "bgp"]

EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


@dataclass(frozen=True)
class NodeInfo:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    network_unavailable: bool = False
    addresses: tuple[IPAddress, ...] = ()
    """InternalIP addresses first, then ExternalIP, in manifest order."""


@dataclass(frozen=True)
class ServiceInfo:
    key: str
    """``namespace/name``."""
    ips: tuple[IPAddress, ...] = ()
    """LoadBalancer ingress IPs from the status (only for LoadBalancer Services of our class)."""
    external_ips: tuple[IPAddress, ...] = ()
    cluster_ips: tuple[IPAddress, ...] = ()
    etp: TrafficPolicy = "Cluster"
    itp: TrafficPolicy = "Cluster"
    annotations: Mapping[str, str] = field(default_factory=dict)


def with_ips(svc: ServiceInfo, ips: tuple[IPAddress, ...]) -> ServiceInfo:
    """``svc`` with other LoadBalancer IPs (``dataclasses.replace``, without its cost per call: a plan
    makes one per Service and side)."""
    return ServiceInfo(svc.key, ips, svc.external_ips, svc.cluster_ips, svc.etp, svc.itp, svc.annotations)


@dataclass(frozen=True)
class Endpoints:
    """Ready endpoints of one Service."""

    ready_by_node: Mapping[str, int] = field(default_factory=dict)
    ready_total: int = 0
    """All ready endpoints, including those without a ``nodeName``."""


NO_ENDPOINTS = Endpoints()


@dataclass(frozen=True)
class AnnounceInputs:
    node: str
    config: Config
    services: tuple[ServiceInfo, ...] = ()
    nodes: Mapping[str, NodeInfo] = field(default_factory=dict)
    endpoints: Mapping[str, Endpoints] = field(default_factory=dict)
    live_speakers: frozenset[str] = frozenset()

    def endpoints_of(self, service_key: str) -> Endpoints:
        return self.endpoints.get(service_key, NO_ENDPOINTS)


@dataclass(frozen=True)
class Announcement:
    """One thing this node announces: the unit of ``ironlb_speaker_announced`` and ``nodeAssigned``."""

    service: str
    protocol: AnnounceProtocol
    node: str
    ip: IPAddress  # compared too: a dual-stack Service announces two IPs, two series
    via: tuple[str, ...] = field(default=(), compare=False)
    """Where it goes: layer 2, the interfaces the IP is answered on; BGP, the names of the peers its
    routes are sent to (sorted). Not part of the identity: the metric and ``nodeAssigned`` count an
    announcement once wherever it goes; ``ServiceL2Status`` / ``ServiceBGPStatus`` show it."""


def parse_ip(text: object) -> IPAddress | None:
    if not isinstance(text, str):
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _ips(values: Iterable[object]) -> tuple[IPAddress, ...]:
    out: list[IPAddress] = []
    for v in values:
        ip = parse_ip(v)
        if ip is not None and ip not in out:
            out.append(ip)
    return tuple(out)


def node_info(node: Node) -> NodeInfo | None:
    meta = node.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        return None
    status = node.get("status") or {}
    unavailable = any(
        c.get("type") == "NetworkUnavailable" and c.get("status") == "True"
        for c in status.get("conditions") or []
        if isinstance(c, dict)
    )
    addrs = [a for a in status.get("addresses") or [] if isinstance(a, dict)]
    ordered = [a.get("address") for a in addrs if a.get("type") == "InternalIP"]
    ordered += [a.get("address") for a in addrs if a.get("type") == "ExternalIP"]
    labels = meta.get("labels") or {}
    return NodeInfo(
        name=name,
        labels=dict(labels) if isinstance(labels, dict) else {},
        network_unavailable=unavailable,
        addresses=_ips(ordered),
    )


def service_info(service: Service, lb_class: str | None = None) -> ServiceInfo | None:
    """The facts announcement needs from one Service (read through ``ironlb.services``)."""
    meta = service.get("metadata") or {}
    if not isinstance(meta.get("name"), str) or not meta.get("name"):
        return None
    spec = service.get("spec") or {}
    annotations = meta.get("annotations") or {}
    return ServiceInfo(
        key=services.service_key(service),
        ips=services.ingress_ips(service) if services.is_managed(service, lb_class) else (),
        external_ips=_ips(spec.get("externalIPs") or []),
        cluster_ips=_ips(spec.get("clusterIPs") or [spec.get("clusterIP")]),
        etp=services.external_traffic_policy(service),
        itp=services.internal_traffic_policy(service),
        annotations=dict(annotations) if isinstance(annotations, dict) else {},
    )


def endpoints_by_service(slices: Iterable[EndpointSlice]) -> dict[str, Endpoints]:
    """Ready endpoints per Service key, summed over the Service's EndpointSlices.

    An endpoint counts as ready unless ``conditions.ready`` is explicitly false
    (the EndpointSlice API's rule: unknown means ready).
    """
    by_node: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for eps in slices:
        meta = eps.get("metadata") or {}
        svc = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if not isinstance(svc, str) or not svc:
            continue
        ns = meta.get("namespace")
        key = f"{ns}/{svc}" if ns else svc
        nodes = by_node.setdefault(key, {})
        totals.setdefault(key, 0)
        for ep in eps.get("endpoints") or []:
            if not isinstance(ep, dict) or (ep.get("conditions") or {}).get("ready") is False:
                continue
            totals[key] += 1
            node = ep.get("nodeName")
            if isinstance(node, str) and node:
                nodes[node] = nodes.get(node, 0) + 1
    return {k: Endpoints(ready_by_node=by_node[k], ready_total=totals[k]) for k in by_node}


def build_inputs(
    node: str,
    config: Config,
    snapshot: ClusterSnapshot,
    live_speakers: Iterable[str],
    *,
    lb_class: str | None = None,
) -> AnnounceInputs:
    nodes: dict[str, NodeInfo] = {}
    for n in snapshot.nodes:
        info = node_info(n)
        if info is not None:
            nodes[info.name] = info
    services = [s for s in (service_info(svc, lb_class) for svc in snapshot.services) if s is not None]
    return AnnounceInputs(
        node=node,
        config=config,
        services=tuple(sorted(services, key=lambda s: s.key)),
        nodes=nodes,
        endpoints=endpoints_by_service(snapshot.endpoint_slices),
        live_speakers=frozenset(live_speakers),
    )
