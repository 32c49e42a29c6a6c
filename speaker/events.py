"""``nodeAssigned``: tell the Service's owner which node started announcing it, and how.

Why: ``kubectl describe service`` is where users look first when an IP does not
answer; MetalLB's speaker records ``nodeAssigned`` there and ironlb keeps the
reason. One Event per (Service, protocol) this node *starts* announcing: the
diff of what the backends report from one reconcile to the next (pure,
``started``), so a steady state records nothing and an announcement that stops
and comes back records again (the recorder then bumps the existing Event's
count). On Kubernetes the sink is ``ironlb.kube.events.EventRecorder`` (queued,
never blocks the reconcile); on the manifest source it is the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from ironlb import services
from ironlb.announce.inputs import Announcement, AnnounceProtocol
from ironlb.kube_types import Service

log = logging.getLogger(__name__)

NODE_ASSIGNED = "nodeAssigned"

Started = tuple[str, AnnounceProtocol]
"""(service key, protocol)."""


def started(
    before: frozenset[Started], announced: Iterable[Announcement]
) -> tuple[frozenset[Started], list[Started]]:
    """The (service, protocol) pairs announced now, and those of them that were not before (sorted)."""
    now = frozenset((a.service, a.protocol) for a in announced)
    return now, sorted(now - before)


def message(node: str, protocol: AnnounceProtocol) -> str:
    """MetalLB's words exactly (its ``%q``: quoted), for those who read or grep them."""
    return f'announcing from node "{node}" with protocol "{protocol}"'


def service_ref(key: str, known: Mapping[str, Service]) -> Mapping[str, Any]:
    """The Service object to attach the Event to (its uid when known)."""
    svc = known.get(key)
    if svc is not None:
        return {"kind": "Service", "apiVersion": "v1", **svc}
    ns, _, name = key.rpartition("/")
    return {"kind": "Service", "apiVersion": "v1", "metadata": {"namespace": ns or "default", "name": name}}


class EventSink(Protocol):
    def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> None: ...


class LogSink:
    """Events as log lines, where there is no API server to hold them."""

    def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        meta = obj.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        log.info("%s: service %s: %s", reason, key, message, extra={"event": reason, "service": key})


class NodeAssignedEvents:
    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self._announced: frozenset[Started] = frozenset()

    def update(self, node: str, announced: Sequence[Announcement], service_objects: Iterable[Service]) -> int:
        """Record an Event for every (service, protocol) newly announced; returns how many."""
        self._announced, new = started(self._announced, announced)
        if not new:
            return 0
        known = {services.service_key(s): s for s in service_objects}
        for key, protocol in new:
            self.sink.normal(service_ref(key, known), NODE_ASSIGNED, message(node, protocol))
        return len(new)
