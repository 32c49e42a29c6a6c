"""What one node announces over BGP: per selected peer, its session and the complete set of routes.

The BGP backend renders the *whole* desired state and lets the ExaBGP driver send
the difference (MetalLB's rule, see EXAMPLES.md), so this decision answers the
question "what should this node's sessions carry right now?" from scratch, as a
pure function of :class:`~ironlb.announce.inputs.AnnounceInputs` (the speaker
core's digest of config, nodes, Services and endpoints). Who may announce is the
shared rule of :mod:`ironlb.announce.eligibility`; this module adds what is
BGP's own: prefixes, aggregation, attributes, peers and families.

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
- Families match the session: IPv4 routes go to IPv4 peers and IPv6 routes to IPv6
  peers. ironlb does not carry IPv6 over an IPv4 session (MP-BGP with a foreign
  next hop) because the next hop must be an address of the session's family on
  the node, which the session itself provides only for its own family.
- Sessions (which peers, local address, router id, BFD profile, why a session
  cannot open) are :mod:`ironlb.announce.bgp_sessions`'s; the decision carries
  them per peer, so that backends (ExaBGP, bfdd) only render. An unusable session
  carries nothing and is reported with its reason.
- An IP counts as announced (``Announcement``: Events, ``ironlb_speaker_announced``)
  only when its routes land on at least one usable session; otherwise the decision
  says why in ``problems`` (no peer of the IP's family for this node, or none
  usable, or none of the peers its advertisements name), so a route that is never
  sent is never reported as announced.
- Two sources giving the same prefix to one peer (a shared IP, two
  advertisements with the same length, a ClusterIP also in the CIDR list) make
  one route: communities are united, the highest localpref wins. A BGP session
  carries one path per prefix, so merging is the only faithful choice.
- A peer is named by its ``name``; a peer left out because another with the same
  address selects the node (one session per neighbor) gets that session's routes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from ironlb.announce.bgp_sessions import PeerSession, peer_sessions
from ironlb.announce.eligibility import node_refusal
from ironlb.announce.inputs import AnnounceInputs, Announcement, NodeInfo, ServiceInfo
from ironlb.config import fields
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
    advertisements: tuple[str, ...] = field(default=(), compare=False)
    """The BGP and ClusterIP advertisements that make it, for ``ironlb plan``."""


@dataclass(frozen=True)
class PeerRoutes:
    """One session of this node and everything it should carry."""

    session: PeerSession
    routes: tuple[BgpRoute, ...] = ()
    """Empty when the session is unusable."""

    @property
    def peer(self) -> Peer:
        return self.session.peer

    @property
    def peer_id(self) -> str:
        return self.session.peer_id

    @property
    def next_hop(self) -> IPAddress | None:
        """The session's local address, the routes' next hop; None when unusable."""
        return self.session.local_address

    @property
    def unusable(self) -> str | None:
        """Why this node cannot open the session; None when it can."""
        return self.session.refusal

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
    advertisements: set[str] = field(default_factory=set)

    def add(self, communities: Iterable[Community], localpref: int | None, source: str, ad: str) -> None:
        self.communities.update(communities)
        if localpref is not None:
            self.localpref = localpref if self.localpref is None else max(self.localpref, localpref)
        self.sources.add(source)
        if ad:
            self.advertisements.add(ad)

    def merge(self, other: _Pending) -> _Pending:
        out = _Pending(self.communities | other.communities, self.localpref, self.sources | other.sources)
        out.advertisements = self.advertisements | other.advertisements
        if other.localpref is not None:
            out.localpref = other.localpref if out.localpref is None else max(out.localpref, other.localpref)
        return out


Target = str | None
"""Where a route goes: a peer's name, or ``None`` for every session of the node."""


def _targets(peers: tuple[str, ...]) -> tuple[Target, ...]:
    return peers or (None,)


@dataclass
class _Wanted:
    """The routes this node wants to send, before they are split by session, and the IPs behind them."""

    node: str
    routes: dict[Target, dict[IPNetwork, _Pending]] = field(default_factory=dict)
    announced: dict[Announcement, set[Target]] = field(default_factory=dict)
    """One per (Service, IP) (a dual-stack Service has two), with where its routes go."""
    cidrs: list[tuple[IPNetwork, tuple[Target, ...]]] = field(default_factory=list)
    """The ClusterIP CIDRs announced from this node, with where they go."""

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
            self.routes.setdefault(target, {}).setdefault(prefix, _Pending()).add(
                communities, localpref, source, ad
            )

    def announce(self, svc: ServiceInfo, ip: IPAddress, targets: tuple[Target, ...]) -> None:
        self.announced.setdefault(Announcement(svc.key, "bgp", self.node, ip), set()).update(targets)


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


def _masked(ip: IPAddress, length: int) -> IPNetwork:
    return ipaddress.ip_network(f"{ip}/{length}", strict=False)


def _host(ip: IPAddress) -> IPNetwork:
    return ipaddress.ip_network(ip)


def _community_sort_key(value: str) -> tuple[int, ...]:
    return tuple(int(p) for p in value.split(":"))


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


def decide(inputs: AnnounceInputs) -> BgpDecision:
    """What this node (``inputs.node``) announces over BGP, per selected peer, in config order.

    Three steps: the routes the node wants to send, the sessions they go out on,
    and which Service IPs are really carried (the others are problems).
    """
    node = inputs.nodes.get(inputs.node)
    problems: list[str] = []
    wanted = _wanted_routes(inputs, node, problems)
    sessions = peer_sessions(inputs.config, node, problems) if node is not None else ()
    names = _session_names(inputs.config, node, sessions) if node is not None else {}
    peers = tuple(PeerRoutes(s, _session_routes(s, names[s.peer_id], wanted)) for s in sessions)
    carried = _carried(wanted, peers, names, problems)
    return BgpDecision(peers=peers, announcements=carried, problems=tuple(dict.fromkeys(problems)))


def _session_names(
    config: Config, node: NodeInfo, sessions: tuple[PeerSession, ...]
) -> dict[str, frozenset[str]]:
    """Per session, the names of the peers it stands for (its own, and those of its address it won over)."""
    out: dict[str, frozenset[str]] = {}
    for s in sessions:
        same = {
            p.name for p in config.peers if p.peer_address == s.peer.peer_address and p.selects(node.labels)
        }
        out[s.peer_id] = frozenset(same | {s.peer.name})
    return out


def _wanted_routes(inputs: AnnounceInputs, node: NodeInfo | None, problems: list[str]) -> _Wanted:
    """Every route this node wants to send (any family, attributes merged per prefix and target)."""
    cias = tuple(
        c
        for c in inputs.config.cluster_ip_advertisements
        if node is not None and selectors_match(c.node_selectors, node.labels)
    )
    wanted = _Wanted(inputs.node)
    for svc in inputs.services:
        _add_service(wanted, inputs, node, cias, svc, problems)
    for cia in cias:
        for cidr in cia.cidrs:
            wanted.add(_targets(cia.peers), cidr, cia.communities, cia.localpref, "cluster-ip-cidr", cia.name)
            wanted.cidrs.append((cidr, _targets(cia.peers)))
    return wanted


def _add_service(
    wanted: _Wanted,
    inputs: AnnounceInputs,
    node: NodeInfo | None,
    cias: tuple[ClusterIPAdvertisement, ...],
    svc: ServiceInfo,
    problems: list[str],
) -> None:
    """One Service's routes: its LoadBalancer IPs, and (``cias``: selected here) external and cluster IPs."""
    config = inputs.config
    wants_lb = any(_in_bgp_pool(config, ip) for ip in svc.ips)
    external = [c for c in cias if c.external_ips] if svc.external_ips else []
    local = [c for c in cias if c.local_routes] if svc.itp == "Local" else []
    if not (wants_lb or external or local):
        return
    attrs = service_attributes(config, svc, problems)
    eps = inputs.endpoints_of(svc.key)
    external_ok = node_refusal(node, eps, policy=svc.etp) is None
    if wants_lb and external_ok and node is not None:
        for r in _lb_routes(config, node, svc, attrs):
            wanted.add(r.targets, r.prefix, r.communities, r.localpref, f"service {svc.key}", r.advertisement)
            wanted.announce(svc, r.ip, r.targets)
    local_ok = bool(local) and node_refusal(node, eps, policy="Local") is None
    for cia in cias:
        _add_cluster_ip_routes(
            wanted, cia, svc, attrs, external=cia in external and external_ok, local=cia in local and local_ok
        )


def _in_bgp_pool(config: Config, ip: IPAddress) -> bool:
    pool = config.pool_of(ip)
    return pool is not None and bool(config.bgp_advertisements_for(pool.name))


def _add_cluster_ip_routes(
    wanted: _Wanted,
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


def _session_routes(session: PeerSession, names: frozenset[str], wanted: _Wanted) -> tuple[BgpRoute, ...]:
    """The wanted routes of the session's family for every peer or for one of ``names`` (the session's),
    localpref only towards iBGP; none when unusable."""
    if session.refusal is not None:
        return ()
    version = session.peer.peer_address.version
    merged: dict[IPNetwork, _Pending] = {}
    for target in (None, *sorted(names)):
        for prefix, p in wanted.routes.get(target, {}).items():
            if prefix.version == version:
                merged[prefix] = merged[prefix].merge(p) if prefix in merged else p
    routes = [_project(prefix, p, session.peer) for prefix, p in merged.items()]
    routes.sort(key=lambda r: (r.prefix.version, r.prefix))
    return tuple(routes)


def _carried(
    wanted: _Wanted, peers: tuple[PeerRoutes, ...], names: dict[str, frozenset[str]], problems: list[str]
) -> tuple[Announcement, ...]:
    """The announced Service IPs that a usable session carries; the others (and CIDRs) are problems.

    A node no peer selects announces nothing and reports nothing.
    """
    if not peers:
        return ()
    kept: list[Announcement] = []
    for a in sorted(wanted.announced, key=lambda a: (a.service, a.ip.version, a.ip)):
        targets = wanted.announced[a]
        if _usable(a.ip.version, targets, peers, names):
            kept.append(replace(a, via=_peer_names(a.ip.version, targets, peers, names)))
        elif None in targets:
            remedy = f"make the Service IPv{10 - a.ip.version}-only (spec.ipFamilies)"
            problems.append(_unsent(f"service {a.service}", a.ip, wanted.node, peers, remedy))
        else:
            problems.append(_unsent_named(f"service {a.service}", a.ip, wanted.node, targets))
    for cidr, to in wanted.cidrs:
        if _usable(cidr.version, set(to), peers, names):
            continue
        if None in to:
            remedy = "remove the CIDR from cluster-ip-advertisement"
            problems.append(_unsent("cluster-ip-advertisement", cidr, wanted.node, peers, remedy))
        else:
            problems.append(_unsent_named("cluster-ip-advertisement", cidr, wanted.node, set(to)))
    return tuple(kept)


def _usable(
    version: int, targets: set[Target], peers: tuple[PeerRoutes, ...], names: dict[str, frozenset[str]]
) -> bool:
    """Whether a usable session of the family carries routes going to ``targets``."""
    return any(
        pr.unusable is None
        and pr.peer.peer_address.version == version
        and (None in targets or bool(names[pr.peer_id] & targets))
        for pr in peers
    )


def _peer_names(
    version: int, targets: set[Target], peers: tuple[PeerRoutes, ...], names: dict[str, frozenset[str]]
) -> tuple[str, ...]:
    """The names of the peers whose usable sessions carry routes going to ``targets``: for a route to
    every peer, each session's own peer; for named peers, those of the names a session stands for."""
    out: set[str] = set()
    for pr in peers:
        if pr.unusable is not None or pr.peer.peer_address.version != version:
            continue
        if None in targets:
            out.add(pr.peer.name)
        out.update(n for n in names[pr.peer_id] if n in targets)
    return tuple(sorted(out))


def _unsent_named(what: str, target: IPAddress | IPNetwork, node: str, peers: set[Target]) -> str:
    """The problem line for an IP or CIDR whose advertisements name peers no usable session is for."""
    named = ", ".join(sorted(p for p in peers if p is not None))
    return (
        f"{what}: none of the peers its advertisements name ({named}) has a usable IPv{target.version} "
        f"BGP session for {target} on node {node}, so it is not announced from there"
    )


def _unsent(
    what: str, target: IPAddress | IPNetwork, node: str, peers: tuple[PeerRoutes, ...], remedy: str
) -> str:
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
        advertisements=tuple(sorted(p.advertisements)),
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
