"""Which nodes may announce a Service, and why the others may not (shared by layer 2 and BGP).

Eligibility is the one rule both protocols agree on: a node is out if it is
labelled ``node.kubernetes.io/exclude-from-external-load-balancers`` or reports
``NetworkUnavailable=True``; with traffic policy ``Local`` it needs a ready
endpoint of the Service on itself; with ``Cluster`` the Service needs a ready
endpoint somewhere (MetalLB's rule: a Service without endpoints is not
announced). Layer 2 also needs the node's speaker to be live; BGP does not,
because every node announces only for itself. Every refusal carries a reason,
which is what a user sees in ``ironlb plan``, logs and Events.
"""

from __future__ import annotations

from dataclasses import dataclass

from ironlb.announce.inputs import (
    EXCLUDE_LABEL,
    AnnounceInputs,
    Endpoints,
    NodeInfo,
    ServiceInfo,
)
from ironlb.services import TrafficPolicy

REASON_UNKNOWN_NODE = "node not found"
REASON_EXCLUDED = f"node labelled {EXCLUDE_LABEL}"
REASON_NETWORK_UNAVAILABLE = "node condition NetworkUnavailable is True"
REASON_NOT_LIVE = "speaker on node not live"
REASON_NO_LOCAL_ENDPOINT = "no ready endpoint on node (traffic policy Local)"
REASON_NO_ENDPOINT = "service has no ready endpoint"


@dataclass(frozen=True, order=True)
class Refusal:
    node: str
    reason: str


def node_refusal(
    node: NodeInfo | None,
    endpoints: Endpoints,
    *,
    policy: TrafficPolicy,
    require_live: bool = False,
    live: frozenset[str] = frozenset(),
) -> str | None:
    """Why ``node`` may not announce a Service with these endpoints, or None if it may."""
    if node is None:
        return REASON_UNKNOWN_NODE
    if EXCLUDE_LABEL in node.labels:
        return REASON_EXCLUDED
    if node.network_unavailable:
        return REASON_NETWORK_UNAVAILABLE
    if require_live and node.name not in live:
        return REASON_NOT_LIVE
    if policy == "Local":
        if endpoints.ready_by_node.get(node.name, 0) <= 0:
            return REASON_NO_LOCAL_ENDPOINT
    elif endpoints.ready_total <= 0:
        return REASON_NO_ENDPOINT
    return None


Eligibility = tuple[frozenset[str], tuple[Refusal, ...]]
"""The nodes that may announce a Service, and the others with why not."""


def eligible_nodes(
    inputs: AnnounceInputs,
    service: ServiceInfo,
    *,
    policy: TrafficPolicy | None = None,
    require_live: bool = False,
) -> Eligibility:
    """The nodes that may announce ``service`` (policy defaults to its externalTrafficPolicy)."""
    return _eligible(inputs, inputs.endpoints_of(service.key), policy or service.etp, require_live)


class EligibleNodes:
    """``eligible_nodes`` for every Service of one ``inputs``, each answer computed once per kind of
    endpoints it depends on: with policy ``Cluster``, whether the Service has a ready endpoint at
    all; with ``Local``, on which nodes (a plan asks for 10,000 Services, most of them alike)."""

    def __init__(self, inputs: AnnounceInputs, *, require_live: bool = False) -> None:
        self.inputs = inputs
        self.require_live = require_live
        self.known: dict[tuple[str, object], Eligibility] = {}

    def __call__(self, service: ServiceInfo) -> Eligibility:
        eps = self.inputs.endpoints_of(service.key)
        policy = service.etp
        if policy == "Local":
            key: tuple[str, object] = (policy, frozenset(n for n, c in eps.ready_by_node.items() if c > 0))
        else:
            key = (policy, eps.ready_total > 0)
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = _eligible(self.inputs, eps, policy, self.require_live)
        return found


def _eligible(inputs: AnnounceInputs, eps: Endpoints, pol: TrafficPolicy, require_live: bool) -> Eligibility:
    ok: set[str] = set()
    refused: list[Refusal] = []
    for name in sorted(inputs.nodes):
        reason = node_refusal(
            inputs.nodes[name], eps, policy=pol, require_live=require_live, live=inputs.live_speakers
        )
        if reason is None:
            ok.add(name)
        else:
            refused.append(Refusal(name, reason))
    return frozenset(ok), tuple(refused)
