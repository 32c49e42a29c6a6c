"""Layer-2 ownership: exactly one node answers ARP/NDP for each IP, chosen without coordination.

Every speaker sorts the eligible, live nodes by ``sha256(node + "#" + ip)`` and
the lowest wins (MetalLB's stateless election). The answer is the same on every
node that sees the same facts, needs no lease, spreads IPs over nodes, and moves
an IP only when its owner leaves or a newcomer hashes lower for it.

Shared IPs (several Services on one IP) are announced once: the candidates are
the union of the nodes eligible for any of the Services, which for compatible
sharing Services (same traffic policy and selector, as Kubernetes sharing
requires) is the same set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ironlb.announce.eligibility import Refusal, eligible_nodes
from ironlb.announce.inputs import AnnounceInputs, Announcement
from ironlb.config.model import IPAddress

REASON_NO_ELIGIBLE = "no eligible node"
REASON_NO_NODES = f"{REASON_NO_ELIGIBLE}: no Node objects known"


def rank(node: str, ip: IPAddress) -> bytes:
    return hashlib.sha256(f"{node}#{ip}".encode()).digest()


def owner(ip: IPAddress, candidates: Iterable[str]) -> str | None:
    """The node that answers for ``ip``: lowest hash of node and IP (ties by name), None if none."""
    best: tuple[bytes, str] | None = None
    for node in candidates:
        key = (rank(node, ip), node)
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


def layer2_ips(inputs: AnnounceInputs) -> dict[IPAddress, list[str]]:
    """Every LoadBalancer IP that falls in a layer2 pool, with the Services using it."""
    by_ip: dict[IPAddress, list[str]] = {}
    for svc in inputs.services:
        for ip in svc.ips:
            pool = inputs.config.pool_of(ip)
            if pool is not None and pool.protocol == "layer2":
                by_ip.setdefault(ip, []).append(svc.key)
    return by_ip


def layer2_decisions(inputs: AnnounceInputs, *, require_live: bool = True) -> tuple[IPDecision, ...]:
    """One decision per layer-2 IP, sorted by IP (IPv4 first)."""
    services = {s.key: s for s in inputs.services}
    decisions: list[IPDecision] = []
    for ip, keys in layer2_ips(inputs).items():
        candidates: set[str] = set()
        refusals: set[Refusal] = set()
        for key in keys:
            ok, refused = eligible_nodes(inputs, services[key], require_live=require_live)
            candidates |= ok
            refusals.update(refused)
        refusals = {r for r in refusals if r.node not in candidates}
        chosen = owner(ip, candidates)
        decisions.append(
            IPDecision(
                ip=ip,
                services=tuple(sorted(keys)),
                owner=chosen,
                candidates=frozenset(candidates),
                refusals=tuple(sorted(refusals)),
                reason="" if chosen else _why_nobody(refusals) if inputs.nodes else REASON_NO_NODES,
            )
        )
    return tuple(sorted(decisions, key=lambda d: (d.ip.version, d.ip)))


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
        services = tuple(replace(s, ips=assigned.get(s.key, ())) for s in services)
    everyone = replace(inputs, services=services, live_speakers=frozenset(inputs.nodes))
    return layer2_decisions(everyone)
