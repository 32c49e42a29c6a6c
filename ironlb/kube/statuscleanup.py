"""Removes other nodes' stale status objects, as ``ironlb.statusobjects.cleanup`` decides.

The speaker says, after every reconcile, which sweeps it wants (``want``: cheap, from its event
loop) and which members are live. One worker thread runs each wanted sweep once: it lists the
objects the sweep concerns from the API server (a label selector: the dead node's, or the
Service's), picks the stale ones (``stale_objects``, guarded by the object's ``node`` field) and
deletes each with a precondition on the uid and resourceVersion it listed, so an object that its
node wrote again meanwhile (it came back) is kept (409 Conflict: nothing to do). A failure (the
API server unreachable) is retried with backoff while the sweep is still wanted; a sweep no longer
wanted (the node came back, this node stopped answering for the Service) is dropped. No informer:
a node sweep is rare (a death) and lists that node's objects by label when it runs. A takeover
sweep comes for every Service a speaker answers for (also each one at its start), so those share
one list of every ``ServiceL2Status`` for ``LISTING_TTL`` (a start with 1,000 Services costs one
list, not 1,000); a listing that is a little old can only keep an object (its precondition
fails), never delete one written since.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

from kubernetes import client

from ironlb.kube.client import WRITE_TIMEOUT
from ironlb.kube.errors import KubeError, ObjectGone, api_errors, retry_log_level
from ironlb.kube.rest import JSON, Rest
from ironlb.kube.statusobjects import ENDPOINTS
from ironlb.kube.workqueue import WorkQueue, tenacity_backoff
from ironlb.statusobjects.cleanup import NodeSweep, Sweep, stale_objects
from ironlb.statusobjects.kinds import (
    NODE_LABEL,
    SERVICE_BGP_STATUS,
    SERVICE_L2_STATUS,
    StatusKind,
    label_value,
)
from ironlb.statusobjects.service import StatusObject, existing_object

log = logging.getLogger(__name__)

Listed = tuple[StatusObject, str, str]
"""An object as listed, with its uid and resourceVersion (the delete's preconditions)."""

CONFLICT: Final = 409
LISTING_TTL: Final = 2.0
"""Seconds a list of every ServiceL2Status serves further takeover sweeps."""


def _selector(sweep: NodeSweep) -> str:
    return f"{NODE_LABEL}={label_value(sweep.node)}"


class StatusCleanup:
    """Runs the sweeps one speaker wants, each once while it stays wanted."""

    def __init__(
        self,
        api_client: client.ApiClient,
        node: str,
        *,
        request_timeout: float = WRITE_TIMEOUT,
        backoff: Callable[[int], float] | None = None,
        on_delete: Callable[[str, str], None] = lambda kind, result: None,
    ) -> None:
        """``on_delete(kind, result)`` hears of every delete (``ok``, ``gone``, ``kept``, ``error``)."""
        self.node = node
        self._rest = Rest(api_client)
        self._timeout = request_timeout
        self._on_delete = on_delete
        self._lock = threading.Lock()
        self._wanted: frozenset[Sweep] = frozenset()
        self._done: set[Sweep] = set()
        self._live: frozenset[str] = frozenset()
        self._l2: tuple[float, dict[tuple[str, str], list[Listed]]] | None = None
        """The last list of every ServiceL2Status (when, by Service), for takeover sweeps."""
        self.queue: WorkQueue[Sweep] = WorkQueue(backoff=backoff or tenacity_backoff(0.2, 10.0))
        self._thread = threading.Thread(target=self._work, name="status-cleanup", daemon=True)
        self.deleted = 0
        """Objects deleted (for tests and metrics)."""

    def start(self) -> StatusCleanup:
        self._thread.start()
        return self

    def close(self) -> None:
        self.queue.shutdown()
        if self._thread.is_alive():
            self._thread.join(self._timeout + 1.0)

    def want(self, sweeps: Iterable[Sweep], live: Iterable[str]) -> None:
        """The sweeps wanted now and the live members; new sweeps are queued. No I/O."""
        wanted = frozenset(sweeps)
        with self._lock:
            new = wanted - self._wanted - self._done
            self._wanted = wanted
            self._done &= wanted
            self._live = frozenset(live)
        for sweep in sorted(new, key=repr):
            log.log(logging.INFO if isinstance(sweep, NodeSweep) else logging.DEBUG, "sweep %s", sweep)
            self.queue.add(sweep)

    def idle(self) -> bool:
        return self.queue.idle()

    def _still(self, sweep: Sweep) -> bool:
        with self._lock:
            return sweep in self._wanted

    def _work(self) -> None:
        while True:
            sweep = self.queue.get()
            if sweep is None:
                return
            try:
                ok = self._sweep(sweep)
            except KubeError as exc:
                log.log(retry_log_level(exc), "status objects: sweep %s failed, will retry: %s", sweep, exc)
                ok = False
            except Exception:
                log.exception("status objects: sweep %s failed", sweep)
                ok = False
            try:
                if ok:
                    self.queue.forget(sweep)
                else:
                    self.queue.add_rate_limited(sweep)
            finally:
                self.queue.done(sweep)

    def _sweep(self, sweep: Sweep) -> bool:
        if not self._still(sweep):
            return True
        if isinstance(sweep, NodeSweep):
            kinds: tuple[StatusKind, ...] = (SERVICE_L2_STATUS, SERVICE_BGP_STATUS)
            listed = [item for kind in kinds for item in self._list(kind, _selector(sweep))]
        else:
            listed = self._layer2_of(sweep.namespace, sweep.service)
        with self._lock:
            live = {obj.node: obj.node in self._live for obj, _, _ in listed}
        versions = {obj.key: (uid, rv) for obj, uid, rv in listed}
        for obj in stale_objects(sweep, self.node, [obj for obj, _, _ in listed], live):
            if not self._still(sweep):
                return True
            uid, rv = versions[obj.key]
            self.delete_as_listed(obj, uid, rv, sweep)
        with self._lock:
            if sweep in self._wanted:
                self._done.add(sweep)
        return True

    def _layer2_of(self, namespace: str, service: str) -> list[Listed]:
        """The ServiceL2Status objects of a Service, from a list at most ``LISTING_TTL`` s old."""
        now = time.monotonic()
        if self._l2 is None or now - self._l2[0] > LISTING_TTL:
            by_service: dict[tuple[str, str], list[Listed]] = {}
            for item in self._list(SERVICE_L2_STATUS, None):
                svc = item[0].service
                by_service.setdefault((svc.namespace, svc.name), []).append(item)
            self._l2 = (time.monotonic(), by_service)
        return self._l2[1].get((namespace, service), [])

    def _list(self, kind: StatusKind, selector: str | None) -> list[Listed]:
        with api_errors():
            query = {"labelSelector": selector} if selector else None
            resp = self._rest.call(ENDPOINTS[kind].list, query=query, timeout=self._timeout)
            data = resp.data
            resp.release_conn()
        out: list[Listed] = []
        for item in json.loads(data).get("items") or []:
            item.setdefault("kind", kind)
            found = existing_object(item)
            meta = item.get("metadata") or {}
            if found is not None and meta.get("uid") and meta.get("resourceVersion"):
                out.append((found, str(meta["uid"]), str(meta["resourceVersion"])))
        return out

    def delete_as_listed(self, obj: StatusObject, uid: str, rv: str, sweep: Sweep) -> None:
        """Delete ``obj`` as listed; an object gone (404) or written since (409) is left as it is."""
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "preconditions": {"uid": uid, "resourceVersion": rv},
        }
        try:
            with api_errors():
                resp = self._rest.call(
                    ENDPOINTS[obj.kind].delete,
                    namespace=obj.namespace,
                    name=obj.name,
                    body=body,
                    content_type=JSON,
                    timeout=self._timeout,
                )
                resp.release_conn()
        except ObjectGone:
            self._on_delete(obj.kind, "gone")
            return
        except KubeError as exc:
            if exc.status == CONFLICT:
                self._on_delete(obj.kind, "kept")
                log.info("%s %s/%s was written again since listed: kept", obj.kind, obj.namespace, obj.name)
                return
            self._on_delete(obj.kind, "error")
            raise
        self.deleted += 1
        self._on_delete(obj.kind, "ok")
        log.info("deleted %s %s/%s of node %s: %s", obj.kind, obj.namespace, obj.name, obj.node, _why(sweep))


def _why(sweep: Sweep) -> str:
    if isinstance(sweep, NodeSweep):
        return sweep.why or "its node is gone"
    return "this node answers for its IPs now, and its node is not live"
