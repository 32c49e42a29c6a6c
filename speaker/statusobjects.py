"""``ServiceL2Status`` / ``ServiceBGPStatus``: publish, after every reconcile, what this node announces.

Why: ``kubectl get servicel2statuses,servicebgpstatuses -A`` is where a user sees which node answers
for a Service's IPs and on which interfaces, or to which BGP peers it sends their routes. The
backends report each ``Announcement`` with where it goes (``via``); this module turns them into the
node's objects (``ironlb.statusobjects.service.desired_objects``: one per Service and protocol,
owned by the Service, so a Service without a uid (a manifest directory) gets none) and hands them
to a sink. On Kubernetes the sink is ``ironlb.kube.statusobjects.StatusObjectPublisher``: ``publish``
only records the wish and queues the keys that changed, worker threads write (coalesced, retried,
nothing when nothing changed), so announcing never waits for the API server, and an unreachable
one changes nothing but the objects' freshness. A Service that is no longer announced (deleted,
no longer a LoadBalancer, owned by another node now) loses its object here: no garbage collector
is needed for that.

Other nodes' objects that their own speaker cannot remove any more (SIGKILLed, powered off, its
Node deleted) are removed by a live speaker: after the same reconcile, ``CleanupPlanner`` says
which sweeps this node wants (``ironlb.statusobjects.cleanup`` says on what evidence) and a
``CleanupSink`` (``ironlb.kube.statuscleanup.StatusCleanup``) runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from ironlb import services
from ironlb.announce.inputs import Announcement
from ironlb.kube_types import Service
from ironlb.statusobjects.cleanup import CleanupPlanner, MembershipView, Sweep
from ironlb.statusobjects.service import ServiceOwner, StatusKey, StatusObject, desired_objects


class StatusSink(Protocol):
    def publish(self, desired: Mapping[StatusKey, StatusObject]) -> int:
        """Make this node's objects ``desired``; returns how many keys changed. Must not block."""
        ...


class CleanupSink(Protocol):
    def want(self, sweeps: Iterable[Sweep], live: Iterable[str]) -> None:
        """Run each sweep in ``sweeps`` once (while it stays wanted); ``live``: the live members. No I/O."""
        ...


def service_owners(service_objects: Iterable[Service], wanted: set[str]) -> dict[str, ServiceOwner]:
    """The Services (by ``namespace/name``) named in ``wanted``, with their uids (none: left out)."""
    owners: dict[str, ServiceOwner] = {}
    for svc in service_objects:
        key = services.service_key(svc)
        uid = (svc.get("metadata") or {}).get("uid")
        if key in wanted and isinstance(uid, str) and uid:
            ns, name = services.namespace_and_name(svc)
            owners[key] = ServiceOwner(ns, name, uid)
    return owners


class ServiceStatusObjects:
    """Feeds one node's announcements to the sink; a steady state hands over nothing new."""

    def __init__(self, sink: StatusSink, cleanup: CleanupSink | None = None) -> None:
        self.sink = sink
        self.cleanup = cleanup
        self._planner: CleanupPlanner | None = None
        self._layer2: dict[tuple[str, str], frozenset[str]] = {}
        """The Services this node answered for on layer 2 at the last update, with their IPs."""

    def update(
        self,
        node: str,
        announced: Sequence[Announcement],
        service_objects: Iterable[Service],
        *,
        view: MembershipView | None = None,
        nodes: Iterable[str] = (),
    ) -> int:
        """Publish the objects ``announced`` calls for; returns how many keys changed. With a
        ``view`` of the membership and the Node names (``nodes``), also say which sweeps are wanted."""
        owners = service_owners(service_objects, {a.service for a in announced})
        changed = self.sink.publish(desired_objects(node, announced, owners))
        layer2: dict[tuple[str, str], set[str]] = {}
        for a in announced:
            owner = owners.get(a.service)
            if a.protocol == "layer2" and owner is not None:
                layer2.setdefault((owner.namespace, owner.name), set()).add(str(a.ip))
        self._layer2 = {key: frozenset(ips) for key, ips in layer2.items()}
        if view is not None:
            self.judge(node, view, nodes)
        return changed

    def judge(self, node: str, view: MembershipView, nodes: Iterable[str]) -> None:
        """Say which cleanup sweeps are wanted now. Also called between reconciles: a member's
        verdict turning from suspect to dead changes no live set, so it triggers no reconcile."""
        if self.cleanup is None:
            return
        if self._planner is None or self._planner.me != node:
            self._planner = CleanupPlanner(node)
        self.cleanup.want(self._planner.wanted(view, nodes, self._layer2), view.live)
