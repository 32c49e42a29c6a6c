"""A speaker's ``ServiceL2Status`` / ``ServiceBGPStatus`` objects, kept as its announcements say.

The speaker hands over the objects it should have (``publish``, cheap, from its event loop);
this adapter makes the API server agree, writing only what differs:

- Its own objects are watched (two informers, label ``ironlb.io/node=<node>``, all namespaces),
  so after a restart it finds what it wrote before (and deletes what no longer holds) instead
  of adding duplicates, and an object someone else deleted or changed is put right.
- Work is per object key through the de-duplicating ``WorkQueue`` (a key changed a hundred
  times costs one write, a failed write is retried with backoff while others flow), by a few
  worker threads; nothing is written before both informers have listed and the speaker has
  said what it announces (the first ``publish``): a restarted speaker that has not decided
  yet deletes none of the objects it wrote before.
- The decision per key is ``ironlb.statusobjects.service.step``; a create is followed by a
  ``/status`` patch (a create through the main resource drops the status, as for every kind
  with a status subresource). What a write left is kept as an overlay until the informer's
  cache shows a newer version, so a lagging cache never causes a second write.
- The speaker needs no ``patch`` of the objects themselves: labels and owner are set at create,
  and an object whose owner uid or labels are wrong is deleted and created again.
- ``close(withdraw=True)`` (a graceful stop: this node stops announcing) deletes the node's
  objects within a deadline; what is left is reconciled at the next start, removed by a live
  speaker (``ironlb.kube.statuscleanup``), or by the garbage collector with its Service. An
  object of this node that someone else deleted while it still announces (a live speaker that
  judged this node dead during a partition) is created again: the informer sees it go.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from kubernetes import client

from ironlb.kube.cache import Change, Obj, rv_of
from ironlb.kube.client import WRITE_TIMEOUT
from ironlb.kube.errors import KubeError, ObjectGone, PermanentKubeError, api_errors, retry_log_level
from ironlb.kube.informer import Informer
from ironlb.kube.rest import JSON, MERGE_PATCH, Rest
from ironlb.kube.workqueue import WorkQueue, tenacity_backoff
from ironlb.statusobjects.kinds import (
    API_VERSION,
    NODE_LABEL,
    SERVICE_BGP_STATUS,
    SERVICE_L2_STATUS,
    StatusKind,
    label_value,
)
from ironlb.statusobjects.service import StatusKey, StatusObject, existing_object, step

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Endpoints:
    list: str
    create: str
    patch_status: str
    delete: str


ENDPOINTS: Final[Mapping[StatusKind, _Endpoints]] = {
    SERVICE_L2_STATUS: _Endpoints(
        "list_service_l2_status_for_all_namespaces",
        "create_namespaced_service_l2_status",
        "patch_namespaced_service_l2_status_status",
        "delete_namespaced_service_l2_status",
    ),
    SERVICE_BGP_STATUS: _Endpoints(
        "list_service_bgp_status_for_all_namespaces",
        "create_namespaced_service_bgp_status",
        "patch_namespaced_service_bgp_status_status",
        "delete_namespaced_service_bgp_status",
    ),
}
WORKERS = 8
_KEPT_META = ("name", "namespace", "resourceVersion", "labels", "ownerReferences")


def slim(obj: Obj) -> Obj:
    """What the cache keeps of a status object: what ``existing_object`` reads (no managedFields)."""
    meta = obj.get("metadata") or {}
    kept = {k: meta[k] for k in _KEPT_META if k in meta}
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": kept,
        "status": obj.get("status") or {},
    }


@dataclass(frozen=True)
class _Written:
    """What our last write left (None: deleted), and the versions the cache may still show instead."""

    obj: StatusObject | None
    older: frozenset[str]


class StatusObjectPublisher:
    """Keeps one node's status objects as ``publish`` last said."""

    def __init__(
        self,
        api_client: client.ApiClient,
        node: str,
        *,
        workers: int = WORKERS,
        watch_timeout: int = 300,
        request_timeout: float = WRITE_TIMEOUT,
        backoff: Callable[[int], float] | None = None,
        on_write: Callable[[str, str], None] = lambda kind, result: None,
    ) -> None:
        """``on_write(kind, result)`` hears of every write (``ironlb_status_object_writes_total``)."""
        self.node = node
        self._on_write = on_write
        self._rest = Rest(api_client)
        self._timeout = request_timeout
        self._lock = threading.Lock()
        self._desired: dict[StatusKey, StatusObject] = {}
        self._written: dict[StatusKey, _Written] = {}
        self.queue: WorkQueue[StatusKey] = WorkQueue(backoff=backoff or tenacity_backoff(0.1, 10.0))
        selector = f"{NODE_LABEL}={label_value(node)}"
        self.informers: dict[StatusKind, Informer] = {
            kind: Informer(
                f"{kind.lower()}es",
                self._rest.lister(endpoints.list),
                kind=kind,
                api_version=API_VERSION,
                on_change=self._changed(kind),
                list_kwargs={"label_selector": selector},
                watch_timeout=watch_timeout,
                transform=slim,
            )
            for kind, endpoints in ENDPOINTS.items()
        }
        self._workers = [
            threading.Thread(target=self._work, name=f"status-objects-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        self._stopping = threading.Event()
        self._told = threading.Event()
        """Set by the first ``publish``: until then the wanted set is unknown, not empty."""
        self.writes = 0
        """Successful API writes (create, status patch, delete), for metrics, tests and benchmarks."""

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> StatusObjectPublisher:
        for informer in self.informers.values():
            informer.start()
        for t in self._workers:
            t.start()
        return self

    @property
    def synced(self) -> bool:
        return all(i.synced for i in self.informers.values())

    def settled(self) -> bool:
        """Listed, and nothing left to write (for tests and benchmarks)."""
        return self.synced and self.queue.idle()

    def close(self, *, withdraw: bool = False, timeout: float = 3.0) -> bool:
        """Stop; with ``withdraw``, first delete this node's objects (for at most ``timeout`` s).
        True when everything was written (or nothing had to be)."""
        settled = True
        if withdraw and self.synced:
            self.publish({})
            deadline = time.monotonic() + timeout
            while not self.queue.idle() and time.monotonic() < deadline:
                time.sleep(0.02)
            settled = self.queue.idle()
            if not settled:
                log.info(
                    "status objects of node %s not all deleted on stop; left to the next start", self.node
                )
        self._stopping.set()
        self.queue.shutdown()
        for t in self._workers:
            if t.is_alive():
                t.join(self._timeout + 1.0)
        for informer in self.informers.values():
            informer.stop()
        return settled

    # -- inputs -------------------------------------------------------------------------------
    def publish(self, desired: Mapping[StatusKey, StatusObject]) -> int:
        """Make the node's objects ``desired`` (and no others); returns how many keys changed.

        Cheap (no I/O): the writes happen on the worker threads."""
        with self._lock:
            before, self._desired = self._desired, dict(desired)
        self._told.set()
        changed = [k for k in before.keys() | desired.keys() if before.get(k) != desired.get(k)]
        for key in changed:
            self.queue.add(key)
        return len(changed)

    def _changed(self, kind: StatusKind) -> Callable[[Change], None]:
        def on(change: Change) -> None:
            ns, _, name = change.key.rpartition("/")
            key: StatusKey = (kind, ns, name)
            with self._lock:
                written = self._written.get(key)
                if written is not None and rv_of(change.obj) not in written.older:
                    del self._written[key]  # the server moved past our write: the cache says it all
            self.queue.add(key)

        return on

    # -- work ---------------------------------------------------------------------------------
    def _known(self, key: StatusKey) -> tuple[StatusObject | None, str]:
        """The object as the server has it (as far as we know), and its resourceVersion."""
        kind, ns, name = key
        cached = self.informers[kind].get(f"{ns}/{name}")
        rv = rv_of(cached)
        with self._lock:
            written = self._written.get(key)
            if written is not None:
                if rv in written.older:
                    return written.obj, ""
                del self._written[key]
        return (existing_object(cached) if cached is not None else None), rv

    def _work(self) -> None:
        while not self._stopping.is_set():
            if not self._told.wait(0.2) or not all(i.wait_synced(0.2) for i in self.informers.values()):
                continue
            key = self.queue.get()
            if key is None:
                return
            try:
                ok = self._process(key)
            except Exception:
                log.exception("status object %s/%s failed", key[1], key[2])
                ok = False
            try:
                if ok or self._stopping.is_set():
                    self.queue.forget(key)
                else:
                    self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    def _process(self, key: StatusKey) -> bool:
        with self._lock:
            desired = self._desired.get(key)
        existing, rv = self._known(key)
        action = step(desired, existing)
        if action is None:
            return True
        kind, ns, name = key
        what = f"{kind} {ns}/{name}"
        older = {rv}
        try:
            if action in ("delete", "replace"):
                self._call(kind, "delete", ns, name, gone_ok=True)
                log.debug("deleted %s", what)
            if desired is None:
                self._remember(key, None, older)
                return True
            if action in ("create", "replace"):
                created = self._create(desired)
                older |= {"", created}
            self._patch_status(desired)
            self._remember(key, desired, older)
            log.debug("%s %s", action, what)
            return True
        except ObjectGone:
            return False  # the object (update) or its namespace went meanwhile: look again
        except KubeError as exc:
            if isinstance(exc, PermanentKubeError) and exc.status != 409:
                log.error("%s: refused, not retrying: %s", what, exc)
                return True
            log.log(retry_log_level(exc), "%s: %s failed, will retry: %s", what, action, exc)
            return False

    def _remember(self, key: StatusKey, obj: StatusObject | None, older: set[str]) -> None:
        with self._lock:
            self._written[key] = _Written(obj, frozenset(older))

    def _call(
        self,
        kind: StatusKind,
        verb: str,
        ns: str,
        name: str | None,
        *,
        body: Any = None,
        gone_ok: bool = False,
        content_type: str = JSON,
    ) -> Any:
        """One write (``verb``: create, patch_status or delete) of an object of ``kind``; every
        outcome is told to ``on_write`` as ``ok``, ``gone`` (the object or namespace went) or ``error``."""
        try:
            with api_errors():
                resp = self._rest.call(
                    getattr(ENDPOINTS[kind], verb),
                    namespace=ns,
                    name=name,
                    body=body,
                    content_type=content_type,
                    timeout=self._timeout,
                )
                data = resp.data
                resp.release_conn()
        except ObjectGone:
            self._on_write(kind, "gone")
            if not gone_ok:
                raise
            return None
        except KubeError:
            self._on_write(kind, "error")
            raise
        self.writes += 1
        self._on_write(kind, "ok")
        return json.loads(data) if data else None

    def _create(self, obj: StatusObject) -> str:
        """Create ``obj`` (without status); returns the new resourceVersion.

        A name taken by an object the informer does not show (its node label was changed, so it
        is not ours to see) is freed first: the name is this node's for this Service."""
        body = {"apiVersion": API_VERSION, "kind": obj.kind, "metadata": obj.metadata(), "spec": {}}
        try:
            made = self._call(obj.kind, "create", obj.namespace, None, body=body)
        except KubeError as exc:
            if exc.status != 409:
                raise
            log.info(
                "%s %s/%s exists without this node's label; replacing it", obj.kind, obj.namespace, obj.name
            )
            self._call(obj.kind, "delete", obj.namespace, obj.name, gone_ok=True)
            made = self._call(obj.kind, "create", obj.namespace, None, body=body)
        return rv_of(made)

    def _patch_status(self, obj: StatusObject) -> None:
        self._call(
            obj.kind,
            "patch_status",
            obj.namespace,
            obj.name,
            body={"status": obj.status()},
            content_type=MERGE_PATCH,
        )


def own_objects(publisher: StatusObjectPublisher) -> dict[StatusKey, StatusObject]:
    """What the publisher's caches hold now (for tests)."""
    out: dict[StatusKey, StatusObject] = {}
    for informer in publisher.informers.values():
        for obj in informer.items():
            found = existing_object(obj)
            if found is not None:
                out[found.key] = found
    return out
