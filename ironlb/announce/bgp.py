"""What one node announces over BGP: per selected peer, its session and the complete set of routes.

The BGP backend renders the *whole* desired state and lets the ExaBGP driver send
the difference (MetalLB's rule, see EXAMPLES.md), so this decision answers the
question "what should this node's sessions carry right now?" from scratch, as a
pure function of :class:`~ironlb.announce.inputs.AnnounceInputs` (the speaker
core's digest of config, nodes, Services and endpoints). Who may announce is the
shared rule of :mod:`ironlb.announce.eligibility`; this module adds what is
BGP's own: prefixes, aggregation, attributes, peers and families.

Rules (ARCHITECTURE.md, issues 6 and 15):

- The routes a node wants (per LoadBalancer IP, ClusterIP CIDR, external and cluster IP,
  attributes merged per prefix) are :mod:`ironlb.announce.bgp_routes`'s; this module splits
  them by session.
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
- A peer is named by its ``name``; a peer left out because another with the same
  address selects the node (one session per neighbor) gets that session's routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import cast

from ironlb.announce.bgp_routes import (
    NodeSelection,
    Pending,
    SelectionRoutes,
    Target,
    WantedRoutes,
    node_selection,
    selection_routes,
)
from ironlb.announce.bgp_sessions import PeerSession, peer_sessions
from ironlb.announce.inputs import AnnounceInputs, Announcement, NodeInfo, with_ips
from ironlb.config.model import (
    Config,
    IPAddress,
    IPNetwork,
    Peer,
)


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


def _community_sort_key(value: str) -> tuple[int, ...]:
    return tuple(int(p) for p in value.split(":"))


def decide(inputs: AnnounceInputs) -> BgpDecision:
    """What this node (``inputs.node``) announces over BGP, per selected peer, in config order.

    Three steps: the routes the node wants to send, the sessions they go out on,
    and which Service IPs are really carried (the others are problems).
    """
    node = inputs.nodes.get(inputs.node)
    return _decide(inputs, inputs.node, node, selection_routes(inputs, node))


def _decide(
    inputs: AnnounceInputs, name: str, node: NodeInfo | None, selection: SelectionRoutes
) -> BgpDecision:
    """``decide`` for node ``name`` of ``selection`` (its ``node_selection``'s routes)."""
    problems = list(selection.problems)
    wanted = selection.for_node(inputs, node)
    memo = selection.memo if wanted is selection.wanted else {}
    sessions = peer_sessions(inputs.config, node, problems) if node is not None else ()
    names = _session_names(inputs.config, node, sessions) if node is not None else {}
    peers = tuple(PeerRoutes(s, _session_routes(s, names[s.peer_id], wanted, memo)) for s in sessions)
    carried = _carried(name, wanted, peers, names, problems, memo)
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


def _session_routes(
    session: PeerSession, names: frozenset[str], wanted: WantedRoutes, memo: dict[object, object]
) -> tuple[BgpRoute, ...]:
    """The wanted routes of the session's family for every peer or for one of ``names`` (the session's),
    localpref only towards iBGP; none when unusable. ``memo`` keeps them for sessions alike (same
    family, iBGP or not, same names) of other nodes wanting the same routes."""
    if session.refusal is not None:
        return ()
    version, ibgp = session.peer.peer_address.version, session.peer.is_ibgp
    key = ("routes", version, ibgp, names)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _routes_of_family(version, ibgp, names, wanted)
    return cast(tuple[BgpRoute, ...], found)


def _routes_of_family(
    version: int, ibgp: bool, names: frozenset[str], wanted: WantedRoutes
) -> tuple[BgpRoute, ...]:
    sources = [t for t in (None, *sorted(names)) if wanted.routes.get(t)]
    merged: Mapping[IPNetwork, Pending]
    if len(sources) == 1:  # the common case: nothing to merge, no prefix hashed again
        merged = wanted.routes[sources[0]]
    else:
        merged = {}
        for target in sources:
            for prefix, p in wanted.routes[target].items():
                if prefix.version == version:
                    merged[prefix] = merged[prefix].merge(p) if prefix in merged else p
    routes = [_project(prefix, p, ibgp) for prefix, p in merged.items() if prefix.version == version]
    routes.sort(key=_route_order)
    return tuple(routes)


def _route_order(route: BgpRoute) -> tuple[int, int, int]:
    """Family, then prefix order (address, then length: a longer netmask is a larger one), without
    ``ipaddress``'s Python-level comparisons."""
    prefix = route.prefix
    return prefix.version, int(prefix.network_address), prefix.prefixlen


Verdict = tuple[str, IPAddress, tuple[str, ...] | None, set[Target]]
"""(Service key, IP, the peers carrying it or None when no usable session does, its targets)."""


def _carried(
    node: str,
    wanted: WantedRoutes,
    peers: tuple[PeerRoutes, ...],
    names: dict[str, frozenset[str]],
    problems: list[str],
    memo: dict[object, object],
) -> tuple[Announcement, ...]:
    """The announced Service IPs that a usable session carries; the others (and CIDRs) are problems.

    A node no peer selects announces nothing and reports nothing. ``memo`` keeps the verdicts for
    nodes with sessions alike wanting the same routes.
    """
    if not peers:
        return ()
    usable = _UsableSessions(peers, names)
    key = ("carried", tuple(usable.sessions))
    verdicts = memo.get(key)
    if verdicts is None:
        verdicts = memo[key] = _verdicts(wanted, usable)
    kept: list[Announcement] = []
    for service, ip, via, targets in cast(list[Verdict], verdicts):
        if via is not None:
            kept.append(Announcement(service, "bgp", node, ip, via))
        elif None in targets:
            remedy = f"make the Service IPv{10 - ip.version}-only (spec.ipFamilies)"
            problems.append(_unsent(f"service {service}", ip, node, peers, remedy))
        else:
            problems.append(_unsent_named(f"service {service}", ip, node, targets))
    for cidr, to in wanted.cidrs:
        if usable.carry(cidr.version, set(to)):
            continue
        if None in to:
            remedy = "remove the CIDR from cluster-ip-advertisement"
            problems.append(_unsent("cluster-ip-advertisement", cidr, node, peers, remedy))
        else:
            problems.append(_unsent_named("cluster-ip-advertisement", cidr, node, set(to)))
    return tuple(kept)


def _verdicts(wanted: WantedRoutes, usable: _UsableSessions) -> list[Verdict]:
    """Per announced (Service, IP), by Service then family and address: the peers that carry it."""
    out: list[Verdict] = []
    for (service, ip), targets in sorted(wanted.announced.items(), key=_announced_order):
        via = usable.peer_names(ip.version, targets) if usable.carry(ip.version, targets) else None
        out.append((service, ip, via, targets))
    return out


def _announced_order(item: tuple[tuple[str, IPAddress], set[Target]]) -> tuple[str, int, int]:
    (service, ip), _ = item
    return service, ip.version, int(ip)


class _UsableSessions:
    """The usable sessions of a decision with the peer names each stands for, looked up once (every
    announced IP asks)."""

    def __init__(self, peers: tuple[PeerRoutes, ...], names: dict[str, frozenset[str]]) -> None:
        self.sessions = [
            (pr.peer.peer_address.version, pr.peer.name, names[pr.peer_id])
            for pr in peers
            if pr.unusable is None
        ]

    def carry(self, version: int, targets: set[Target]) -> bool:
        """Whether a usable session of the family carries routes going to ``targets``."""
        return any(
            v == version and (None in targets or bool(names & targets)) for v, _, names in self.sessions
        )

    def peer_names(self, version: int, targets: set[Target]) -> tuple[str, ...]:
        """The names of the peers whose usable sessions carry routes going to ``targets``: for a route
        to every peer, each session's own peer; for named peers, those of the names a session stands for."""
        out: set[str] = set()
        for v, own, names in self.sessions:
            if v != version:
                continue
            if None in targets:
                out.add(own)
            out.update(n for n in names if n in targets)
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


def _project(prefix: IPNetwork, p: Pending, ibgp: bool) -> BgpRoute:
    std: list[str] = []
    large: list[str] = []
    if p.communities:
        std = sorted({c.value for c in p.communities if not c.is_large}, key=_community_sort_key)
        large = sorted({c.value for c in p.communities if c.is_large}, key=_community_sort_key)
    return BgpRoute(
        prefix=prefix,
        communities=tuple(std),
        large_communities=tuple(large),
        localpref=p.localpref if ibgp else None,
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
    The same as ``decide`` per node, with the work nodes share done once: the routes of a
    ``node_selection`` (per Service and advertisement), the routes of sessions alike, which
    Service IPs they carry (``tests/announce/test_bgp_shared.py`` checks that over generated inputs).
    """
    if assigned is not None:
        inputs = replace(
            inputs, services=tuple(with_ips(s, assigned.get(s.key, ())) for s in inputs.services)
        )
    config = inputs.config
    selections: dict[NodeSelection, SelectionRoutes] = {}
    out: list[NodeRoutes] = []
    for name in sorted(inputs.nodes):
        node = inputs.nodes[name]
        if not any(p.selects(node.labels) for p in config.peers):
            continue  # no session: nothing to announce, nothing to report
        selection_key = node_selection(config, node)
        selection = selections.get(selection_key)
        if selection is None:
            selection = selections[selection_key] = selection_routes(inputs, node)
        decision = _decide(inputs, name, node, selection)
        if decision.peers:
            out.append(NodeRoutes(name, decision))
    return tuple(out)
