"""One Service at a time: decide under the controller's lock, write outside it, then its Events.

Why apart from the runtime: this is the path every Service event takes, and its rules are
about writes, not about wiring. The decision is ``controller.reconciler.reconcile`` over the
term's allocator, taken one at a time under the controller's lock (the allocator has one
owner); the write overlaps with other workers' writes.

- Writes go only where they change something: one merge patch through ``/status`` carries
  the ingress and the pool annotation together (``ironlb.kube.status``), guarded by
  ``resourceVersion``. What a write returned is kept in the term's ``WriteOverlay`` until the
  informer catches up, so a lagging cache never causes a second, conflicting write.
- Every write first checks that the term is still current and this replica still leads
  (``writable``); a term that ended writes nothing more.
- Events (``IPAllocated``...) follow their status writes: a status this term wrote gets its
  Event even if a stop began meanwhile (the stop sends it before exiting); without a write,
  only a current leader reports. A worker waits while the Event senders are behind, so
  statuses never outrun their Events by more than a short backlog.
- A refusal already reported is not reported again; freed IPs requeue the refused Services.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, cast

from controller.metrics import ControllerMetrics
from controller.reconciler import POOL_ANNOTATION, Decision, SyncState, reconcile_remembering
from controller.session import Session, resource_version
from ironlb import services as svc
from ironlb.allocator.translate import NamespaceLabels
from ironlb.kube.errors import KubeError, ObjectGone, PermanentKubeError, retry_log_level
from ironlb.kube.events import EventRecorder
from ironlb.kube.status import ServiceWriter, status_patch
from ironlb.kube_types import Service

log = logging.getLogger(__name__)

EVENT_SENDERS = 4
"""Threads posting Events; one object's Events always go through the same one, in order."""
EVENT_BACKLOG = 2 * EVENT_SENDERS
EVENT_WAIT = 1.0
"""A worker that recorded Events waits (at most ``EVENT_WAIT`` s) while more than ``EVENT_BACKLOG``
are unsent, so each Event follows its status write within a fraction of a second instead of
trailing it by the whole backlog, and a stop finds almost nothing left to send."""


def view(obj: Any) -> Any:
    """What the controller keeps of a Service (``ironlb.services.allocation_view``)."""
    return svc.allocation_view(cast(Service, obj))


class ServiceSync:
    def __init__(
        self,
        *,
        lock: threading.RLock,
        session: Callable[[], Session | None],
        writable: Callable[[Session], bool],
        cached: Callable[[str], Service | None],
        requeue: Callable[[str], None],
        writer: ServiceWriter,
        recorder: EventRecorder,
        metrics: ControllerMetrics,
        lb_class: str | None,
        namespaces: NamespaceLabels | None = None,
    ) -> None:
        """``namespaces``: the labels of the Services' namespaces, by name.
        ``session()``: the current term (read under ``lock``); ``writable(term)``: it is current and
        this replica leads; ``cached(key)``: the informer's Service; ``requeue(key)``: queue it again."""
        self._lock, self._session, self._writable = lock, session, writable
        self._cached, self._requeue = cached, requeue
        self._writer, self._recorder, self._metrics = writer, recorder, metrics
        self._lb_class = lb_class
        self._namespaces = namespaces

    def sync(self, key: str) -> SyncState:
        with self._lock:
            session = self._session()
            if session is None or not self._writable(session):
                return "done"  # a new term queues every Service again
            service = session.overlay.current(key, self._cached(key))
            session.settle_before(key, service)  # its turn in the term's settle plan (controller.session)
            decision = reconcile_remembering(
                key, service, session.allocator, self._lb_class, session.refused, namespaces=self._namespaces
            )
        if decision.sync == "reprocess-all":
            with self._lock:
                refused = list(session.refused)
            for other in refused:
                self._requeue(other)
        if service is None:
            return "done"
        return self._apply(session, service, decision)

    def _apply(self, session: Session, service: Service, decision: Decision) -> SyncState:
        key = decision.key
        obj = service
        older: set[str] = set()
        try:
            if status_patch(obj, decision.ingress, decision.annotations) is not None:
                if not self._writable(session):
                    return "done"
                base = resource_version(obj)
                obj = view(self._writer.write(obj, ips=decision.ingress, annotations=decision.annotations))
                older.add(base)
                self._metrics.updates.inc()
        except ObjectGone:
            return "done"  # deleted meanwhile: the DELETED event frees its IPs
        except KubeError as exc:
            self._metrics.update_errors.inc()
            if isinstance(exc, PermanentKubeError):
                log.error("%s: write refused, not retrying: %s", key, exc)
                return "done"
            log.log(retry_log_level(exc), "%s: write failed, will retry: %s", key, exc)
            return "retry"
        finally:
            if older:
                with self._lock:
                    session.overlay.record(key, obj, older)
        self._report(session, obj, decision, wrote=bool(older))
        return "done"

    def _report(self, session: Session, obj: Service, decision: Decision, *, wrote: bool) -> None:
        if decision.events and (wrote or self._writable(session)):
            for ev in decision.events:
                self._recorder.event(obj, ev.type, ev.reason, ev.message)
            # Statuses must not outrun their Events: a worker waits while the senders are behind.
            self._recorder.wait_for_room(EVENT_BACKLOG, EVENT_WAIT)
        if wrote and decision.ingress:
            log.info(
                "%s: %s (pool %s)",
                decision.key,
                ", ".join(decision.ingress),
                decision.annotations.get(POOL_ANNOTATION),
            )
        elif wrote:
            log.info("%s: load-balancer status cleared", decision.key)
