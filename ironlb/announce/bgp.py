"""What one node announces over BGP: per selected peer, the complete set of routes with attributes.

The BGP backend renders the *whole* desired state and lets the ExaBGP driver send
the difference (MetalLB's rule, see EXAMPLES.md), so this decision answers the
question "what should this node's sessions carry right now?" from scratch, as a
pure function of :class:`~ironlb.announce.inputs.AnnounceInputs` (the speaker
core's digest of config, nodes, Services and endpoints). Who may announce is the
shared rule of :mod:`ironlb.announce.eligibility`; this module adds what is
BGP's own: prefixes, aggregation, attributes, peers and families.

Rules (ARCHITECTURE.md and issue 6):

- LoadBalancer IPs of ``bgp`` pools: one route per advertisement, the IP masked to
  the advertisement's ``aggregation-length`` (``-v6`` for IPv6); the pool's
  communities plus the Service's ``ironlb.io/bgp-communities``; localpref (the
  Service's annotation wins over the pool's) only towards iBGP peers.
  ``externalTrafficPolicy: Cluster``: every eligible node announces while the
  Service has a ready endpoint anywhere; ``Local``: only nodes with a ready local
  endpoint.
- ``cluster-ip-advertisement``: its CIDRs from every node its node selectors pick;
  with ``local-routes``, a /32 or /128 per ClusterIP (inside those CIDRs) of each
  ``internalTrafficPolicy: Local`` Service from nodes with a ready local endpoint;
  with ``external-ips``, ``spec.externalIPs`` by the eTP rules above.
- Families match the session: IPv4 routes go to IPv4 peers and IPv6 routes to IPv6
  peers. ironlb does not carry IPv6 over an IPv4 session (MP-BGP with a foreign
  next hop) because the next hop must be an address of the session's family on
  the node, which the session itself provides only for its own family.
- A selected peer is *usable* when the node can open the session: it has a local
  address of the peer's family (``source-address`` or the Node's address, which is
  also the next hop) and a router id. An unusable peer carries nothing and is
  reported with its reason.
- An IP counts as announced (``Announcement``: Events, ``ironlb_speaker_announced``)
  only when its routes land on at least one usable session; otherwise the decision
  says why in ``problems`` (no peer of the IP's family for this node, or none
  usable), so a route that is never sent is never reported as announced.
- Two sources giving the same prefix to one peer (a shared IP, two
  advertisements with the same length, a ClusterIP also in the CIDR list) make
  one route: communities are united, the highest localpref wins. A BGP session
  carries one path per prefix, so merging is the only faithful choice.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from ironlb.announce.eligibility import node_refusal
from ironlb.announce.inputs import AnnounceInputs, Announcement, NodeInfo, ServiceInfo
from ironlb.config.model import (
    ClusterIPAdvertisement,
    Community,
    Config,
    IPAddress,
    IPNetwork,
    Peer,
    selectors_match,
)
from ironlb.config.values import parse_community
from ironlb.services import ANNOTATION_PREFIXES, BGP_COMMUNITIES, BGP_LOCALPREF

LOCALPREF_MAX = 2**32 - 1


@dataclass(frozen=True, order=True)
class BgpRoute:
    """One prefix as sent on one session, with its path attributes."""

    prefix: IPNetwork
    communities: tuple[str, ...] = ()
    """Standard communities, canonical ``A:B``, sorted."""
    large_communities: tuple[str, ...] = ()
    """Large communities, canonical ``A:B:C``, sorted."""
    localpref: int | None = None
    """Only ever set towards iBGP peers."""
    sources: tuple[str, ...] = field(default=(), compare=False)
    """Why the route exists (``service ns/name``, ``cluster-ip-cidr``...), for ``ironlb plan`` and logs."""


@dataclass(frozen=True)
class PeerRoutes:
    """Everything one session should carry."""

    peer: Peer
    routes: tuple[BgpRoute, ...]
    next_hop: IPAddress | None = None
    """The session's local address (``source-address`` or the node's), i.e. the routes' next hop."""
    unusable: str | None = None
    """Why this node cannot open the session (then ``routes`` is empty); None when it can."""

    @property
    def peer_id(self) -> str:
        return peer_id(self.peer)

    def prefixes(self) -> frozenset[IPNetwork]:
        return frozenset(r.prefix for r in self.routes)


@dataclass(frozen=True)
class BgpDecision:
    """This node's BGP announcements: routes per selected peer, the Service IPs behind them, problems."""

    peers: tuple[PeerRoutes, ...] = ()
    announcements: tuple[Announcement, ...] = ()
    problems: tuple[str, ...] = ()
    """What the user should fix: annotation errors (the bad value is ignored, the rest announced),
    unusable peers, IPs or CIDRs no usable session carries."""


@dataclass
class _Pending:
    """A route being assembled from one or more sources (mutable only inside the decision)."""

    communities: set[Community] = field(default_factory=set)
    localpref: int | None = None
    sources: set[str] = field(default_factory=set)

    def add(self, communities: Iterable[Community], localpref: int | None, source: str) -> None:
        self.communities.update(communities)
        if localpref is not None:
            self.localpref = localpref if self.localpref is None else max(self.localpref, localpref)
        self.sources.add(source)


@dataclass(frozen=True)
class _ServiceAttrs:
    communities: tuple[Community, ...]
    localpref: int | None


def peer_id(peer: Peer) -> str:
    """The label a peer goes by in metrics, logs and ExaBGP neighbor selectors: its address."""
    return str(peer.peer_address)


def session_local_address(peer: Peer, node: NodeInfo) -> IPAddress | None:
    """The address this node opens ``peer``'s session from (and the next hop of its routes)."""
    if peer.source_address is not None:
        return peer.source_address
    version = peer.peer_address.version
    return next((a for a in node.addresses if a.version == version), None)


def peer_refusal(peer: Peer, node: NodeInfo) -> str | None:
    """Why ``node`` cannot open a session with ``peer``, or None when it can."""
    version = peer.peer_address.version
    local = session_local_address(peer, node)
    if local is None:
        return (
            f"node {node.name} has no IPv{version} address to peer from "
            f"(give the Node an IPv{version} InternalIP or set the peer's source-address)"
        )
    if local.version != version:
        return f"source-address {local} is not an IPv{version} address like the peer's"
    if peer.router_id is None and not any(a.version == 4 for a in node.addresses):
        return f"no router-id configured and node {node.name} has no IPv4 address to use as one"
    return None


def keepalive_ignored(peer: Peer) -> bool:
    """Does ``peer`` ask for a keepalive interval other than the one ExaBGP will use (hold/3)?"""
    return int(peer.keepalive_time) != int(peer.hold_time) // 3


def keepalive_warnings(config: Config) -> tuple[str, ...]:
    """Peers whose ``keepalive-time`` the ExaBGP backend cannot honour.

    ExaBGP 5.0 has no keepalive setting: it sends keepalives every third of the
    *negotiated* hold time (``HoldTime.keepalive()`` in exabgp/bgp/message/open/
    holdtime.py). A keepalive-time other than hold-time/3 is accepted (MetalLB
    accepts it) but has no effect; ``ironlb validate``/``plan`` and the speaker say so.
    """
    out: list[str] = []
    for i, peer in enumerate(config.peers):
        hold, keepalive = int(peer.hold_time), int(peer.keepalive_time)
        if keepalive_ignored(peer):
            out.append(
                f"peers[{i}].keepalive-time: {keepalive}s is ignored: the ExaBGP backend has no keepalive "
                f"setting and sends keepalives every third of the negotiated hold time "
                f"({hold // 3}s with hold-time {hold}s)"
            )
    return tuple(out)


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
            value = int(raw_lp.strip())
            if not 0 <= value <= LOCALPREF_MAX:
                raise ValueError(f"{value} is outside 0..{LOCALPREF_MAX}")
            localpref = value
        except ValueError as exc:
            problems.append(f"service {svc.key}: annotation {BGP_LOCALPREF}: {raw_lp!r} is not valid ({exc})")
    return _ServiceAttrs(tuple(communities), localpref)


def _masked(ip: IPAddress, length: int) -> IPNetwork:
    return ipaddress.ip_network(f"{ip}/{length}", strict=False)


def _host(ip: IPAddress) -> IPNetwork:
    return ipaddress.ip_network(ip)


def _community_sort_key(value: str) -> tuple[int, ...]:
    return tuple(int(p) for p in value.split(":"))


_LbRoute = tuple[IPAddress, IPNetwork, tuple[Community, ...], int | None]


def _lb_routes(config: Config, svc: ServiceInfo, attrs: _ServiceAttrs) -> Iterable[_LbRoute]:
    for ip in svc.ips:
        pool = config.pool_of(ip)
        if pool is None or pool.protocol != "bgp":
            continue
        for adv in pool.effective_advertisements():
            length = adv.aggregation_length if ip.version == 4 else adv.aggregation_length_v6
            localpref = attrs.localpref if attrs.localpref is not None else adv.localpref
            yield ip, _masked(ip, length), adv.communities + attrs.communities, localpref


def selected_peers(
    config: Config, node_name: str, labels: Mapping[str, str], problems: list[str]
) -> list[Peer]:
    """The peers a node with ``labels`` has sessions with, in config order.

    One BGP session per neighbor address: when two peers select the node, the
    first wins and the second is reported in ``problems``.
    """
    seen: set[IPAddress] = set()
    out: list[Peer] = []
    for peer in config.peers:
        if not peer.selects(labels):
            continue
        if peer.peer_address in seen:
            problems.append(f"peer {peer.peer_address}: selected twice for node {node_name}; first one used")
            continue
        seen.add(peer.peer_address)
        out.append(peer)
    return out


def decide(inputs: AnnounceInputs) -> BgpDecision:
    """What this node (``inputs.node``) announces over BGP, per selected peer, in config order."""
    config = inputs.config
    node = inputs.nodes.get(inputs.node)
    labels = dict(node.labels) if node else {}
    problems: list[str] = []
    pending: dict[IPNetwork, _Pending] = {}
    announced: set[Announcement] = set()  # one per (Service, IP): a dual-stack Service has two

    def announce(svc: ServiceInfo, ip: IPAddress) -> None:
        announced.add(Announcement(svc.key, "bgp", inputs.node, ip))

    def add(prefix: IPNetwork, communities: Iterable[Community], localpref: int | None, source: str) -> None:
        pending.setdefault(prefix, _Pending()).add(communities, localpref, source)

    cia: ClusterIPAdvertisement | None = config.cluster_ip_advertisement
    cia_here = cia is not None and node is not None and selectors_match(cia.node_selectors, labels)
    for svc in inputs.services:
        wants_lb = any((p := config.pool_of(ip)) is not None and p.protocol == "bgp" for ip in svc.ips)
        wants_ext = bool(cia_here and cia is not None and cia.external_ips and svc.external_ips)
        wants_local = bool(cia_here and cia is not None and cia.local_routes and svc.itp == "Local")
        if not (wants_lb or wants_ext or wants_local):
            continue
        attrs = service_attributes(config, svc, problems)
        eps = inputs.endpoints_of(svc.key)
        external_ok = node_refusal(node, eps, policy=svc.etp) is None
        if wants_lb and external_ok:
            for ip, prefix, communities, localpref in _lb_routes(config, svc, attrs):
                add(prefix, communities, localpref, f"service {svc.key}")
                announce(svc, ip)
        if cia is None:
            continue
        cia_lp = attrs.localpref if attrs.localpref is not None else cia.localpref
        if wants_ext and external_ok:
            for ip in svc.external_ips:
                add(_host(ip), cia.communities + attrs.communities, cia_lp, f"external-ip {svc.key}")
                announce(svc, ip)
        if wants_local and node_refusal(node, eps, policy="Local") is None:
            for ip in svc.cluster_ips:
                if any(ip in c for c in cia.cidrs):
                    add(_host(ip), cia.communities + attrs.communities, cia_lp, f"cluster-ip {svc.key}")
                    announce(svc, ip)
    if cia is not None and cia_here:
        for cidr in cia.cidrs:
            add(cidr, cia.communities, cia.localpref, "cluster-ip-cidr")

    peers: list[PeerRoutes] = []
    if node is not None:
        for peer in selected_peers(config, inputs.node, labels, problems):
            refusal = peer_refusal(peer, node)
            if refusal is not None:
                problems.append(f"peer {peer.peer_address}: cannot peer from node {inputs.node}: {refusal}")
                peers.append(PeerRoutes(peer=peer, routes=(), unusable=refusal))
                continue
            routes = [
                _project(prefix, p, peer)
                for prefix, p in pending.items()
                if prefix.version == peer.peer_address.version
            ]
            routes.sort(key=lambda r: (r.prefix.version, r.prefix))
            peers.append(
                PeerRoutes(peer=peer, routes=tuple(routes), next_hop=session_local_address(peer, node))
            )
    kept: list[Announcement] = []
    if peers:
        usable = {pr.peer.peer_address.version for pr in peers if pr.unusable is None}
        for a in sorted(announced, key=lambda a: (a.service, a.ip.version, a.ip)):
            if a.ip.version in usable:
                kept.append(a)
            else:
                remedy = f"make the Service IPv{10 - a.ip.version}-only (spec.ipFamilies)"
                problems.append(_unsent(f"service {a.service}", a.ip, inputs.node, peers, remedy))
        if cia is not None and cia_here:
            for cidr in cia.cidrs:
                if cidr.version not in usable:
                    remedy = "remove the CIDR from cluster-ip-advertisement"
                    problems.append(_unsent("cluster-ip-advertisement", cidr, inputs.node, peers, remedy))
    return BgpDecision(peers=tuple(peers), announcements=tuple(kept), problems=tuple(dict.fromkeys(problems)))


def _unsent(what: str, target: IPAddress | IPNetwork, node: str, peers: list[PeerRoutes], remedy: str) -> str:
    """The problem line for an IP or CIDR that no usable session of this node carries."""
    v = target.version
    same = [pr for pr in peers if pr.peer.peer_address.version == v]
    if not same:
        return (
            f"{what}: no IPv{v} BGP peer for {target} on node {node}, so it is not announced from there; "
            f"add an IPv{v} peer that selects this node, or {remedy}"
        )
    reasons = "; ".join(f"peer {pr.peer.peer_address}: {pr.unusable}" for pr in same)
    return (
        f"{what}: no usable IPv{v} BGP session for {target} on node {node}, "
        f"so it is not announced from there ({reasons})"
    )


def _project(prefix: IPNetwork, p: _Pending, peer: Peer) -> BgpRoute:
    std = sorted({c.value for c in p.communities if not c.is_large}, key=_community_sort_key)
    large = sorted({c.value for c in p.communities if c.is_large}, key=_community_sort_key)
    return BgpRoute(
        prefix=prefix,
        communities=tuple(std),
        large_communities=tuple(large),
        localpref=p.localpref if peer.is_ibgp else None,
        sources=tuple(sorted(p.sources)),
    )


@dataclass(frozen=True)
class NodeRoutes:
    """For ``ironlb plan``: one node's BGP decision."""

    node: str
    decision: BgpDecision


def planned_bgp(
    inputs: AnnounceInputs, assigned: Mapping[str, tuple[IPAddress, ...]] | None = None
) -> tuple[NodeRoutes, ...]:
    """Every node's routes per peer, as each node's speaker would decide them (nodes without peers left out).

    ``assigned`` (service key → IPs the allocator would give) replaces the IPs in
    the Services' status, so the plan shows the routes of the IPs it would assign.
    """
    services = inputs.services
    if assigned is not None:
        services = tuple(replace(s, ips=assigned.get(s.key, ())) for s in services)
    out: list[NodeRoutes] = []
    for name in sorted(inputs.nodes):
        decision = decide(replace(inputs, node=name, services=services))
        if decision.peers:
            out.append(NodeRoutes(name, decision))
    return tuple(out)
