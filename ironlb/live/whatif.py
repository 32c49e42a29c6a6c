"""What a config would change in a running cluster: the pure core of ``ironlb plan --kubeconfig``.

"What runs now" is what the cluster shows: each Service's IPs from its status (the
controller's decision), its pool from the ``ironlb.io/ip-allocated-from-pool`` annotation,
and the announcements the config in force decides for those IPs. "What would run" is what
the controller does with the proposed config, computed by the controller's own steps: a
fresh allocator adopts every IP the Services show when the proposed config still allows it
(``ironlb.allocator.adoption``) and settles the others (``ironlb.allocator.settle``), exactly
as the controller does on a config change, then the same announcement decisions run on the
new IPs. Both sides count every node's speaker as live (a plan of the config, not of today's
failures).

The difference, per thing a user relies on:

- Services: an IP lost (``lose``) or changed (``change``), with the allocator's reason;
  an IP at last (``gain``); the same IPs under another pool name (``pool``); the same IPs
  but announced by nobody any more (``unannounced``);
- layer 2: the owner of an IP moving, appearing or going, or its interfaces changing;
- BGP: per node and peer, prefixes added and withdrawn, and attributes changed; sessions
  added, removed, or changing next hop or usability;
- pools that become (or stop being) announced by nobody.

``exit_code`` is the ``kubectl diff``-like status: 0 nothing changes, 1 changes that leave
every Service's IPs as they are and announced, 3 some Service loses or changes an IP, or is
announced by nobody any more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

from ironlb import services as svc
from ironlb.allocator import ServiceResult, allocate_all
from ironlb.announce.bgp import BgpRoute, NodeRoutes, PeerRoutes
from ironlb.announce.inputs import AnnounceInputs, build_inputs
from ironlb.announce.layer2 import IPDecision, planned_layer2
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config.legacy import legacy_config
from ironlb.config.model import Config, IPAddress, IPNetwork
from ironlb.live.routes import bgp_sides
from ironlb.planner import Plan

EXIT_NO_CHANGE = 0
EXIT_CHANGES = 1
EXIT_DISTURBS = 3

ServiceChangeKind = Literal["lose", "change", "gain", "pool", "unannounced"]
DISTURBING: frozenset[ServiceChangeKind] = frozenset({"lose", "change", "unannounced"})


@dataclass(frozen=True)
class ServiceChange:
    key: str
    change: ServiceChangeKind
    before: tuple[IPAddress, ...]
    after: tuple[IPAddress, ...]
    pool_before: str | None
    pool_after: str | None
    rule: str | None
    """Why: the allocator's reason (lost or changed IPs), or what no longer announces them."""


@dataclass(frozen=True)
class OwnerChange:
    """One layer-2 IP whose owner or interfaces differ."""

    ip: IPAddress
    services: tuple[str, ...]
    before: str | None
    after: str | None
    interfaces_before: tuple[str, ...] = ()
    interfaces_after: tuple[str, ...] = ()
    reason: str = ""
    """Why nobody answers after the change (empty when somebody does)."""

    @property
    def moves(self) -> bool:
        return self.before is not None and self.after is not None and self.before != self.after


RouteChangeKind = Literal["add", "withdraw", "attributes"]


@dataclass(frozen=True)
class RouteChange:
    node: str
    peer: str
    prefix: IPNetwork
    change: RouteChangeKind
    before: BgpRoute | None
    after: BgpRoute | None


@dataclass(frozen=True)
class SessionChange:
    """A BGP session of a node that appears, goes, or changes next hop or usability."""

    node: str
    peer: str
    before: str | None
    """``next hop X`` or ``unusable: why``; ``None`` when the session does not exist on that side."""
    after: str | None


@dataclass(frozen=True)
class LiveDiff:
    before: Plan
    """What runs now (the Services' status, announced under the config in force)."""
    after: Plan
    """What would run under the proposed config."""
    services: tuple[ServiceChange, ...] = ()
    layer2: tuple[OwnerChange, ...] = ()
    routes: tuple[RouteChange, ...] = ()
    sessions: tuple[SessionChange, ...] = ()
    unannounced_added: tuple[str, ...] = ()
    unannounced_removed: tuple[str, ...] = ()

    @property
    def disturbing(self) -> tuple[ServiceChange, ...]:
        return tuple(c for c in self.services if c.change in DISTURBING)

    @property
    def changed(self) -> bool:
        return bool(
            self.services
            or self.layer2
            or self.routes
            or self.sessions
            or self.unannounced_added
            or self.unannounced_removed
        )


def exit_code(diff: LiveDiff) -> int:
    if diff.disturbing:
        return EXIT_DISTURBS
    return EXIT_CHANGES if diff.changed else EXIT_NO_CHANGE


# -- the two sides ---------------------------------------------------------------------------------


def running_services(
    config: Config, snapshot: ClusterSnapshot, lb_class: str | None
) -> tuple[ServiceResult, ...]:
    """Each Service of ours as its status shows it: IPs, and the pool the controller wrote."""
    out: list[ServiceResult] = []
    for service in sorted(snapshot.services, key=svc.namespace_and_name):
        if not svc.is_managed(service, lb_class):
            continue
        namespace, name = svc.namespace_and_name(service)
        ips = svc.ingress_ips(service)
        pool = svc.allocated_from_pool(service)
        if pool is None and ips:
            found = config.pool_of(ips[0])
            pool = found.name if found is not None else None
        error = None if ips else "no IP in its status"
        out.append(ServiceResult(namespace, name, ips, pool, svc.sharing_key(service), error))
    return tuple(out)


def _assigned(results: Iterable[ServiceResult]) -> dict[str, tuple[IPAddress, ...]]:
    return {r.key: tuple(r.ips) for r in results}


def _plan(
    config: Config,
    services: tuple[ServiceResult, ...],
    layer2: tuple[IPDecision, ...],
    bgp: tuple[NodeRoutes, ...],
) -> Plan:
    return Plan(
        services=services,
        layer2=layer2,
        bgp=bgp,
        unannounced=tuple(p.name for p in config.unannounced_pools()),
        detailed=not legacy_config(config).exact,
    )


def what_if(
    current: Config, proposed: Config, snapshot: ClusterSnapshot, *, lb_class: str | None = None
) -> LiveDiff:
    """What changes when ``proposed`` replaces ``current`` in the cluster ``snapshot`` shows."""
    running = running_services(current, snapshot, lb_class)
    planned = tuple(allocate_all(proposed, snapshot.services, lb_class, namespaces=snapshot.namespaces))
    before, after = _assigned(running), _assigned(planned)
    inputs = build_inputs("", current, snapshot, (), lb_class=lb_class)
    before_inputs: AnnounceInputs = inputs
    after_inputs = replace(inputs, config=proposed)
    layer2_now, layer2_then = planned_layer2(before_inputs, before), planned_layer2(after_inputs, after)
    # Services whose layer-2 announcement comes or goes get their BGP side computed too, so that
    # whether anybody still announces them is known.
    moved = _layer2_announced(layer2_now) ^ _layer2_announced(layer2_then)
    sides = bgp_sides(before_inputs, after_inputs, before, after, also={key for key, _ in moved})
    now = _plan(current, running, layer2_now, sides.before)
    then = _plan(proposed, planned, layer2_then, sides.after)
    return LiveDiff(
        before=now,
        after=then,
        services=_service_changes(now, then, sides.services),
        layer2=_layer2_changes(now.layer2, then.layer2),
        routes=_route_changes(now.bgp, then.bgp),
        sessions=_session_changes(now.bgp, then.bgp),
        unannounced_added=tuple(p for p in then.unannounced if p not in now.unannounced),
        unannounced_removed=tuple(p for p in now.unannounced if p not in then.unannounced),
    )


# -- Services --------------------------------------------------------------------------------------


def _layer2_announced(decisions: Iterable[IPDecision]) -> set[tuple[str, IPAddress]]:
    return {(key, d.ip) for d in decisions if d.owner is not None for key in d.services}


def _announced(plan: Plan) -> set[tuple[str, IPAddress]]:
    """(Service, IP) pairs some node announces: a layer-2 owner, or a BGP session carrying it."""
    out = _layer2_announced(plan.layer2)
    out |= {(a.service, a.ip) for n in plan.bgp for a in n.decision.announcements}
    return out


def _service_changes(now: Plan, then: Plan, bgp_services: frozenset[str] | None) -> tuple[ServiceChange, ...]:
    after = {r.key: r for r in then.services}
    announced_now, announced_then = _announced(now), _announced(then)
    out: list[ServiceChange] = []
    for b in now.services:
        a = after.get(b.key)
        if a is None:
            continue
        kind, rule = _classify(b, a)
        # A Service left out of the BGP computation announces the same on both sides (routes.py).
        if kind is None and b.ips and (bgp_services is None or b.key in bgp_services):
            lost = [ip for ip in b.ips if (b.key, ip) in announced_now and (b.key, ip) not in announced_then]
            if lost:
                kind = "unannounced"
                rule = _unannounced_rule(then, a, lost)
        if kind is not None:
            out.append(ServiceChange(b.key, kind, tuple(b.ips), tuple(a.ips), b.pool, a.pool, rule))
    return tuple(out)


def _classify(b: ServiceResult, a: ServiceResult) -> tuple[ServiceChangeKind | None, str | None]:
    if b.ips and not a.ips:
        return "lose", a.error
    if b.ips and set(b.ips) != set(a.ips):
        return "change", a.note
    if not b.ips and a.ips:
        return "gain", None
    if b.ips and b.pool != a.pool:
        return "pool", f"pool {b.pool} is now called {a.pool}" if b.pool and a.pool else None
    return None, None


def _unannounced_rule(then: Plan, result: ServiceResult, lost: list[IPAddress]) -> str:
    ips = ", ".join(str(ip) for ip in lost)
    if result.pool in then.unannounced:
        return f"{ips}: no L2Advertisement or BGPAdvertisement selects pool {result.pool}"
    reasons = sorted({d.reason for d in then.layer2 if d.ip in lost and d.reason})
    problems = sorted(
        {
            p
            for n in then.bgp
            for p in n.decision.problems
            if result.key in p and any(str(ip) in p for ip in lost)
        }
    )
    why = "; ".join(reasons + problems) or "no node announces it"
    return f"{ips}: {why}"


# -- layer 2 ---------------------------------------------------------------------------------------


def _layer2_changes(now: Iterable[IPDecision], then: Iterable[IPDecision]) -> tuple[OwnerChange, ...]:
    before = {d.ip: d for d in now}
    after = {d.ip: d for d in then}
    out: list[OwnerChange] = []
    for ip in sorted(before.keys() | after.keys(), key=lambda i: (i.version, i)):
        b, a = before.get(ip), after.get(ip)
        owner_b = b.owner if b else None
        owner_a = a.owner if a else None
        ifaces_b = b.interfaces if b and b.owner else ()
        ifaces_a = a.interfaces if a and a.owner else ()
        if owner_b == owner_a and ifaces_b == ifaces_a:
            continue
        services = tuple(sorted(set(b.services if b else ()) | set(a.services if a else ())))
        reason = a.reason if a is not None and a.owner is None else ""
        out.append(OwnerChange(ip, services, owner_b, owner_a, ifaces_b, ifaces_a, reason))
    return tuple(out)


# -- BGP -------------------------------------------------------------------------------------------


def _sessions(plan: Iterable[NodeRoutes]) -> dict[tuple[str, str], PeerRoutes]:
    return {(n.node, pr.peer_id): pr for n in plan for pr in n.decision.peers}


def _session_state(pr: PeerRoutes | None) -> str | None:
    if pr is None:
        return None
    if pr.unusable is not None:
        return f"unusable: {pr.unusable}"
    return f"next hop {pr.next_hop}"


def _session_changes(now: Iterable[NodeRoutes], then: Iterable[NodeRoutes]) -> tuple[SessionChange, ...]:
    before, after = _sessions(now), _sessions(then)
    out: list[SessionChange] = []
    for node, peer in sorted(before.keys() | after.keys()):
        b, a = _session_state(before.get((node, peer))), _session_state(after.get((node, peer)))
        if b != a:
            out.append(SessionChange(node, peer, b, a))
    return tuple(out)


def _ordered_routes(pr: PeerRoutes | None) -> list[tuple[tuple[int, int, int], BgpRoute]]:
    if pr is None:
        return []
    return sorted(((_prefix_order(r.prefix), r) for r in pr.routes), key=lambda kr: kr[0])


def _paired(
    now: PeerRoutes | None, then: PeerRoutes | None
) -> Iterator[tuple[IPNetwork, BgpRoute | None, BgpRoute | None]]:
    """Each prefix of either session in prefix order, with its route on each side (a walk of the two
    sorted lists: hashing 100,000 prefixes costs ``ipaddress`` a Python call each)."""
    b, a = _ordered_routes(now), _ordered_routes(then)
    i = j = 0
    while i < len(b) or j < len(a):
        if j == len(a) or (i < len(b) and b[i][0] < a[j][0]):
            yield b[i][1].prefix, b[i][1], None
            i += 1
        elif i == len(b) or a[j][0] < b[i][0]:
            yield a[j][1].prefix, None, a[j][1]
            j += 1
        else:
            yield b[i][1].prefix, b[i][1], a[j][1]
            i += 1
            j += 1


def _prefix_order(prefix: IPNetwork) -> tuple[int, int, int]:
    """(family, prefix) order without ``ipaddress``'s Python-level comparisons: by address, then length."""
    return prefix.version, int(prefix.network_address), prefix.prefixlen


def _route_changes(now: Iterable[NodeRoutes], then: Iterable[NodeRoutes]) -> tuple[RouteChange, ...]:
    before, after = _sessions(now), _sessions(then)
    out: list[RouteChange] = []
    for node, peer in sorted(before.keys() | after.keys()):
        for prefix, rb, ra in _paired(before.get((node, peer)), after.get((node, peer))):
            if rb == ra:
                continue
            kind: RouteChangeKind = "add" if rb is None else "withdraw" if ra is None else "attributes"
            out.append(RouteChange(node, peer, prefix, kind, rb, ra))
    return tuple(out)
