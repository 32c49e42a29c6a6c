"""Layer-2 ownership: exactly one node answers ARP/NDP for each IP, chosen without coordination.

Every speaker sorts the eligible, live nodes by ``sha256(node + "#" + ip)`` and
the lowest wins (MetalLB's stateless election). The answer is the same on every
node that sees the same facts, needs no lease, spreads IPs over nodes, and moves
an IP only when its owner leaves or a newcomer hashes lower for it.

Which IPs and from where: an IP is answered for when its pool has at least one
L2Advertisement; the candidates are the eligible live nodes that match the node
selectors of at least one of those advertisements, and the owner answers on the
union of the interfaces of the advertisements that select it (empty when one of
them names none: every eligible interface, the speaker's default set; a glob of
another advertisement that names a link outside that set is then not added).

Shared IPs (several Services on one IP) are announced once: the candidates are
the union of the nodes eligible for any of the Services, which for compatible
sharing Services (same traffic policy and selector, as Kubernetes sharing
requires) is the same set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ironlb.announce.eligibility import EligibleNodes, Refusal
from ironlb.announce.inputs import AnnounceInputs, Announcement, with_ips
from ironlb.config.model import IPAddress, L2Advertisement, selects_everything

REASON_NO_ELIGIBLE = "no eligible node"
REASON_NO_NODES = f"{REASON_NO_ELIGIBLE}: no Node objects known"
REASON_NOT_SELECTED = "not selected by the node selectors of any L2Advertisement of the pool"


def rank(node: str, ip: IPAddress) -> bytes:
    return hashlib.sha256(f"{node}#{ip}".encode()).digest()


def owner(ip: IPAddress, candidates: Iterable[str]) -> str | None:
    """The node that answers for ``ip``: lowest hash of node and IP (ties by name), None if none."""
    best: tuple[bytes, str] | None = None
    suffix = f"#{ip}".encode()  # rank(node, ip), with the address formatted once, not per node
    for node in candidates:
        key = (hashlib.sha256(node.encode() + suffix).digest(), node)
        if best is None or key < best:
            best = key
    return None if best is None else best[1]


@dataclass(frozen=True)
class IPDecision:
    ip: IPAddress
    services: tuple[str, ...]
    owner: str | None
    candidates: frozenset[str]
    refusals: tuple[Refusal, ...] = ()
    reason: str = ""
    """Why nobody announces (empty when there is an owner)."""
    pool: str = ""
    advertisements: tuple[str, ...] = ()
    """The L2Advertisements the owner answers for (those of the pool that select it; all of the
    pool's when nobody owns the IP)."""
    interfaces: tuple[str, ...] = ()
    """Where the owner answers: globs, the union of those advertisements' interfaces; empty means
    every eligible interface (the speaker's default set)."""


@dataclass(frozen=True)
class _Layer2IP:
    pool: str
    advertisements: tuple[L2Advertisement, ...]
    services: list[str]


def _layer2_ips(inputs: AnnounceInputs) -> dict[IPAddress, _Layer2IP]:
    by_ip: dict[IPAddress, _Layer2IP] = {}
    for svc in inputs.services:
        for ip in svc.ips:
            found = by_ip.get(ip)
            if found is None:
                pool = inputs.config.pool_of(ip)
                ads = inputs.config.l2_advertisements_for(pool.name) if pool is not None else ()
                if pool is None or not ads:
                    continue
                found = by_ip[ip] = _Layer2IP(pool.name, ads, [])
            found.services.append(svc.key)
    return by_ip


def layer2_ips(inputs: AnnounceInputs) -> dict[IPAddress, list[str]]:
    """Every LoadBalancer IP of a pool some L2Advertisement selects, with the Services using it."""
    return {ip: found.services for ip, found in _layer2_ips(inputs).items()}


def layer2_decisions(inputs: AnnounceInputs, *, require_live: bool = True) -> tuple[IPDecision, ...]:
    """One decision per layer-2 IP, sorted by IP (IPv4 first)."""
    services = {s.key: s for s in inputs.services}
    eligible = EligibleNodes(inputs, require_live=require_live)
    decisions: list[IPDecision] = []
    for ip, found in _layer2_ips(inputs).items():
        candidates: set[str] = set()
        refusals: set[Refusal] = set()
        for key in found.services:
            ok, refused = eligible(services[key])
            candidates |= ok
            refusals.update(refused)
        ads = found.advertisements
        if not all(selects_everything(ad.node_selectors) for ad in ads):
            selected = {n for n in candidates if any(ad.selects_node(inputs.nodes[n].labels) for ad in ads)}
            refusals.update(Refusal(n, REASON_NOT_SELECTED) for n in candidates - selected)
            candidates = selected
        refusals = {r for r in refusals if r.node not in candidates}
        chosen = owner(ip, candidates)
        if chosen is not None:
            ads = tuple(ad for ad in ads if ad.selects_node(inputs.nodes[chosen].labels))
        decisions.append(
            IPDecision(
                ip=ip,
                services=tuple(sorted(found.services)),
                owner=chosen,
                candidates=frozenset(candidates),
                refusals=tuple(sorted(refusals)),
                reason="" if chosen else _why_nobody(refusals) if inputs.nodes else REASON_NO_NODES,
                pool=found.pool,
                advertisements=tuple(ad.name for ad in ads),
                interfaces=_interfaces(ads) if chosen else (),
            )
        )
    return tuple(sorted(decisions, key=lambda d: (d.ip.version, d.ip)))


def _interfaces(ads: tuple[L2Advertisement, ...]) -> tuple[str, ...]:
    """The union of the advertisements' interface globs; empty (every eligible one) when one names none."""
    if any(not ad.interfaces for ad in ads):
        return ()
    return tuple(dict.fromkeys(glob for ad in ads for glob in ad.interfaces))


def _why_nobody(refusals: set[Refusal]) -> str:
    reasons = sorted({r.reason for r in refusals})
    return f"{REASON_NO_ELIGIBLE}: {'; '.join(reasons)}" if reasons else REASON_NO_ELIGIBLE


def layer2_owned(inputs: AnnounceInputs) -> Mapping[IPAddress, tuple[str, ...]]:
    """The IPs this node (``inputs.node``) answers for, with their Services."""
    return {d.ip: d.services for d in layer2_decisions(inputs) if d.owner == inputs.node}


def layer2_announcements(inputs: AnnounceInputs) -> tuple[Announcement, ...]:
    return tuple(
        Announcement(service=svc, protocol="layer2", node=inputs.node, ip=ip)
        for ip, services in layer2_owned(inputs).items()
        for svc in services
    )


def planned_layer2(
    inputs: AnnounceInputs, assigned: Mapping[str, tuple[IPAddress, ...]] | None = None
) -> tuple[IPDecision, ...]:
    """Layer-2 owners for ``ironlb plan``: every node's speaker counted live.

    ``assigned`` (service key → IPs the allocator would give) replaces the IPs in
    the Services' status, so the plan shows owners of the IPs it would assign.
    """
    services = inputs.services
    if assigned is not None:
        services = tuple(with_ips(s, assigned.get(s.key, ())) for s in services)
    everyone = replace(inputs, services=services, live_speakers=frozenset(inputs.nodes))
    return layer2_decisions(everyone)
