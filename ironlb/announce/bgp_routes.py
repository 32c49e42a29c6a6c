"""What routes one node wants to send over BGP, before they are split by session (see ``bgp``).

Rules (ARCHITECTURE.md, issues 6 and 15):

- LoadBalancer IPs of pools that BGPAdvertisements select: one route per
  advertisement whose node selectors pick this node, the IP masked to the
  advertisement's ``aggregation-length`` (``-v6`` for IPv6), sent to the
  advertisement's peers (every peer of the node when it names none); the
  advertisement's communities plus the Service's ``ironlb.io/bgp-communities``;
  localpref (the Service's annotation wins over the advertisement's) only towards
  iBGP peers. ``externalTrafficPolicy: Cluster``: every eligible node announces
  while the Service has a ready endpoint anywhere; ``Local``: only nodes with a
  ready local endpoint.
- ClusterIP advertisements, each from the nodes its node selectors pick, to its
  peers (every peer when it names none): its CIDRs; with ``local-routes``, a /32 or
  /128 per ClusterIP (inside those CIDRs) of each ``internalTrafficPolicy: Local``
  Service from nodes with a ready local endpoint; with ``external-ips``,
  ``spec.externalIPs`` by the eTP rules above.
- Two sources giving the same prefix to one peer (a shared IP, two
  advertisements with the same length, a ClusterIP also in the CIDR list) make
  one route: communities are united, the highest localpref wins. A BGP session
  carries one path per prefix, so merging is the only faithful choice.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from ironlb.announce.eligibility import node_refusal
from ironlb.announce.inputs import EXCLUDE_LABEL, AnnounceInputs, NodeInfo, ServiceInfo
from ironlb.config import fields
from ironlb.config.model import (
    ClusterIPAdvertisement,
    Community,
    Config,
    IPAddress,
    IPNetwork,
    selectors_match,
)
from ironlb.config.values import parse_community
from ironlb.services import ANNOTATION_PREFIXES, BGP_COMMUNITIES, BGP_LOCALPREF


@dataclass
class Pending:
    """A route being assembled from one or more sources (mutable only inside the decision)."""

    communities: set[Community] = field(default_factory=set)
    localpref: int | None = None
    sources: set[str] = field(default_factory=set)
    advertisements: set[str] = field(default_factory=set)

    def add(self, communities: Iterable[Community], localpref: int | None, source: str, ad: str) -> None:
        self.communities.update(communities)
        if localpref is not None:
            self.localpref = localpref if self.localpref is None else max(self.localpref, localpref)
        self.sources.add(source)
        if ad:
            self.advertisements.add(ad)

    def merge(self, other: Pending) -> Pending:
        out = Pending(self.communities | other.communities, self.localpref, self.sources | other.sources)
        out.advertisements = self.advertisements | other.advertisements
        if other.localpref is not None:
            out.localpref = other.localpref if out.localpref is None else max(out.localpref, other.localpref)
        return out


Target = str | None
"""Where a route goes: a peer's name, or ``None`` for every session of the node."""


def _targets(peers: tuple[str, ...]) -> tuple[Target, ...]:
    return peers or (None,)


@dataclass
class WantedRoutes:
    """The routes a node wants to send, before they are split by session, and the IPs behind them."""

    routes: dict[Target, dict[IPNetwork, Pending]] = field(default_factory=dict)
    announced: dict[tuple[str, IPAddress], set[Target]] = field(default_factory=dict)
    """Per (Service key, IP) (a dual-stack Service has two), where its routes go."""
    cidrs: list[tuple[IPNetwork, tuple[Target, ...]]] = field(default_factory=list)
    """The ClusterIP CIDRs announced from the node, with where they go."""

    def add(
        self,
        targets: tuple[Target, ...],
        prefix: IPNetwork,
        communities: Iterable[Community],
        localpref: int | None,
        source: str,
        ad: str = "",
    ) -> None:
        for target in targets:
            self.routes.setdefault(target, {}).setdefault(prefix, Pending()).add(
                communities, localpref, source, ad
            )

    def announce(self, svc: ServiceInfo, ip: IPAddress, targets: tuple[Target, ...]) -> None:
        self.announced.setdefault((svc.key, ip), set()).update(targets)

    def merged(self, other: WantedRoutes) -> WantedRoutes:
        """These routes and ``other``'s, merged per prefix and target as ``add`` merges (neither changed)."""
        routes = {target: dict(prefixes) for target, prefixes in self.routes.items()}
        for target, prefixes in other.routes.items():
            mine = routes.setdefault(target, {})
            for prefix, p in prefixes.items():
                mine[prefix] = mine[prefix].merge(p) if prefix in mine else p
        announced = dict(self.announced)
        for key, targets in other.announced.items():
            announced[key] = announced[key] | targets if key in announced else set(targets)
        return WantedRoutes(routes, announced, self.cidrs + other.cidrs)


@dataclass(frozen=True)
class _ServiceAttrs:
    communities: tuple[Community, ...]
    localpref: int | None


def _annotation(svc: ServiceInfo, name: str) -> str | None:
    for prefix in ANNOTATION_PREFIXES:
        value = svc.annotations.get(prefix + name)
        if value is not None:
            return value
    return None


def service_attributes(config: Config, svc: ServiceInfo, problems: list[str]) -> _ServiceAttrs:
    """Per-Service communities and localpref from annotations; bad values are reported and ignored."""
    aliases = dict(config.bgp_communities)
    communities: list[Community] = []
    raw = _annotation(svc, BGP_COMMUNITIES)
    for text in (raw or "").split(","):
        text = text.strip()
        if not text:
            continue
        try:
            communities.append(parse_community(text, aliases))
        except ValueError as exc:
            problems.append(f"service {svc.key}: annotation {BGP_COMMUNITIES}: {exc}")
    localpref: int | None = None
    raw_lp = _annotation(svc, BGP_LOCALPREF)
    if raw_lp is not None and raw_lp.strip():
        try:
            localpref = fields.localpref(int(raw_lp.strip()))
        except ValueError as exc:
            problems.append(f"service {svc.key}: annotation {BGP_LOCALPREF}: {raw_lp!r} is not valid ({exc})")
    return _ServiceAttrs(tuple(communities), localpref)


@functools.lru_cache(maxsize=1 << 16)
def _masked(ip: IPAddress, length: int) -> IPNetwork:
    """``ip``'s prefix of ``length`` bits. Cached, and built from the integer, not parsed from text:
    every node's decision asks it for every IP (a plan of 10,000 Services on 10 nodes, 200,000 times)."""
    if ip.version == 4:
        return ipaddress.IPv4Network((int(ip), length), strict=False)
    return ipaddress.IPv6Network((int(ip), length), strict=False)


def _host(ip: IPAddress) -> IPNetwork:
    return ipaddress.ip_network(ip)


@dataclass(frozen=True)
class _LbRoute:
    ip: IPAddress
    prefix: IPNetwork
    communities: tuple[Community, ...]
    localpref: int | None
    targets: tuple[Target, ...]
    advertisement: str


def _lb_routes(config: Config, node: NodeInfo, svc: ServiceInfo, attrs: _ServiceAttrs) -> Iterable[_LbRoute]:
    """A route per IP and per BGPAdvertisement of its pool that selects ``node``."""
    for ip in svc.ips:
        pool = config.pool_of(ip)
        if pool is None:
            continue
        for adv in config.bgp_advertisements_for(pool.name):
            if not adv.selects_node(node.labels):
                continue
            length = adv.aggregation_length if ip.version == 4 else adv.aggregation_length_v6
            localpref = attrs.localpref if attrs.localpref is not None else adv.localpref
            communities = adv.communities + attrs.communities
            yield _LbRoute(ip, _masked(ip, length), communities, localpref, _targets(adv.peers), adv.name)


NodeSelection = tuple[tuple[bool, ...], tuple[bool, ...], bool, bool] | None
"""What of a node its routes depend on, besides its name and its own endpoints (``node_selection``)."""


def node_selection(config: Config, node: NodeInfo | None) -> NodeSelection:
    """Which BGPAdvertisements and ClusterIP advertisements select ``node``, and whether it is excluded
    or its network unavailable: all a node's routes depend on but its name (``None``: unknown node)
    and which Services have a ready endpoint on it. Nodes with the same selection want the same
    routes for every Service whose traffic policy is ``Cluster``."""
    if node is None:
        return None
    labels = node.labels
    return (
        tuple(ad.selects_node(labels) for ad in config.bgp_advertisements),
        tuple(selectors_match(c.node_selectors, labels) for c in config.cluster_ip_advertisements),
        EXCLUDE_LABEL in labels,
        node.network_unavailable,
    )


@dataclass
class SelectionRoutes:
    """What every node of one ``node_selection`` wants: the routes of the Services it announces alike
    (traffic policy ``Cluster``), decided once per Service and advertisement for all those nodes, and
    the Services each node decides with its own endpoints (traffic policy ``Local``)."""

    wanted: WantedRoutes
    local: tuple[tuple[ServiceInfo, _ServiceAttrs], ...]
    cias: tuple[ClusterIPAdvertisement, ...]
    problems: tuple[str, ...]
    """Annotation errors, in Service order (the same on every node)."""
    memo: dict[object, object] = field(default_factory=dict)
    """For ``ironlb.announce.bgp``: what it derives from ``wanted`` alone, kept for the next node."""

    def for_node(self, inputs: AnnounceInputs, node: NodeInfo | None) -> WantedRoutes:
        """Every route ``node`` (of this selection) wants: ``wanted`` itself when no Service of it
        depends on the node's own endpoints."""
        if node is None or not self.local:
            return self.wanted
        extra = WantedRoutes()
        for svc, attrs in self.local:
            _add_service_routes(extra, inputs, node, self.cias, svc, attrs)
        if not extra.routes and not extra.announced:
            return self.wanted
        return self.wanted.merged(extra)


def selection_routes(inputs: AnnounceInputs, node: NodeInfo | None) -> SelectionRoutes:
    """The routes of ``node``'s selection, ``node`` standing for every node of it."""
    cias = tuple(
        c
        for c in inputs.config.cluster_ip_advertisements
        if node is not None and selectors_match(c.node_selectors, node.labels)
    )
    wanted = WantedRoutes()
    local: list[tuple[ServiceInfo, _ServiceAttrs]] = []
    problems: list[str] = []
    for svc in inputs.services:
        attrs = _wanted_attributes(inputs.config, cias, svc, problems)
        if attrs is None:
            continue
        if svc.etp == "Local" or (svc.itp == "Local" and any(c.local_routes for c in cias)):
            local.append((svc, attrs))
        else:
            _add_service_routes(wanted, inputs, node, cias, svc, attrs)
    for cia in cias:
        for cidr in cia.cidrs:
            wanted.add(_targets(cia.peers), cidr, cia.communities, cia.localpref, "cluster-ip-cidr", cia.name)
            wanted.cidrs.append((cidr, _targets(cia.peers)))
    return SelectionRoutes(wanted, tuple(local), cias, tuple(problems))


def wanted_routes(inputs: AnnounceInputs, node: NodeInfo | None, problems: list[str]) -> WantedRoutes:
    """Every route this node wants to send (any family, attributes merged per prefix and target)."""
    selection = selection_routes(inputs, node)
    problems.extend(selection.problems)
    return selection.for_node(inputs, node)


def _wanted_attributes(
    config: Config, cias: tuple[ClusterIPAdvertisement, ...], svc: ServiceInfo, problems: list[str]
) -> _ServiceAttrs | None:
    """The Service's attributes when it may want a route here (an IP of a BGP-advertised pool, or an
    external or ``Local`` cluster IP for a ClusterIP advertisement ``cias`` holds), else None."""
    wants_lb = any(_in_bgp_pool(config, ip) for ip in svc.ips)
    external = svc.external_ips and any(c.external_ips for c in cias)
    local = svc.itp == "Local" and any(c.local_routes for c in cias)
    if not (wants_lb or external or local):
        return None
    return service_attributes(config, svc, problems)


def _add_service_routes(
    wanted: WantedRoutes,
    inputs: AnnounceInputs,
    node: NodeInfo | None,
    cias: tuple[ClusterIPAdvertisement, ...],
    svc: ServiceInfo,
    attrs: _ServiceAttrs,
) -> None:
    """One Service's routes: its LoadBalancer IPs, and (``cias``: selected here) external and cluster IPs."""
    config = inputs.config
    wants_lb = any(_in_bgp_pool(config, ip) for ip in svc.ips)
    eps = inputs.endpoints_of(svc.key)
    external_ok = node_refusal(node, eps, policy=svc.etp) is None
    if wants_lb and external_ok and node is not None:
        for r in _lb_routes(config, node, svc, attrs):
            wanted.add(r.targets, r.prefix, r.communities, r.localpref, f"service {svc.key}", r.advertisement)
            wanted.announce(svc, r.ip, r.targets)
    local = svc.itp == "Local"
    local_ok = local and any(c.local_routes for c in cias) and node_refusal(node, eps, policy="Local") is None
    for cia in cias:
        _add_cluster_ip_routes(
            wanted,
            cia,
            svc,
            attrs,
            external=bool(svc.external_ips) and cia.external_ips and external_ok,
            local=local and cia.local_routes and local_ok,
        )


def _in_bgp_pool(config: Config, ip: IPAddress) -> bool:
    pool = config.pool_of(ip)
    return pool is not None and bool(config.bgp_advertisements_for(pool.name))


def _add_cluster_ip_routes(
    wanted: WantedRoutes,
    cia: ClusterIPAdvertisement,
    svc: ServiceInfo,
    attrs: _ServiceAttrs,
    *,
    external: bool,
    local: bool,
) -> None:
    """A host route per external IP (``external``) and per ClusterIP inside the CIDRs (``local``)."""
    communities = cia.communities + attrs.communities
    localpref = attrs.localpref if attrs.localpref is not None else cia.localpref
    targets = _targets(cia.peers)
    if external:
        for ip in svc.external_ips:
            wanted.add(targets, _host(ip), communities, localpref, f"external-ip {svc.key}", cia.name)
            wanted.announce(svc, ip, targets)
    if local:
        for ip in svc.cluster_ips:
            if any(ip in c for c in cia.cidrs):
                wanted.add(targets, _host(ip), communities, localpref, f"cluster-ip {svc.key}", cia.name)
                wanted.announce(svc, ip, targets)
