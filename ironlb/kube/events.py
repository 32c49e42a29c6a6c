"""Kubernetes Events on the objects ironlb acts on, so ``kubectl describe`` says why.

core/v1 Events (what client-go's recorder and ``kubectl describe`` use), with
MetalLB's reasons. Recording never blocks or fails the caller: events are queued and
sent by a few threads (one object's Events always by the same one, in order), with a
few tenacity retries, and an identical event for the same object within
``aggregate_window`` bumps ``count`` and ``lastTimestamp`` on the existing Event
instead of creating another (as client-go aggregates), so a Service stuck in a retry
loop yields one Event, not thousands. Answers are not decoded: the recorder names its
Events itself and needs nothing back.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import zlib
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from ironlb.kube.client import WRITE_TIMEOUT
from ironlb.kube.errors import KubeError, call_with_retry, retry_log_level
from ironlb.kube.rest import MERGE_PATCH, Rest

log = logging.getLogger(__name__)

IP_ALLOCATED = "IPAllocated"
ALLOCATION_FAILED = "AllocationFailed"
CLEAR_ASSIGNMENT = "ClearAssignment"
ADDITIONAL_ASSIGN_FAILED = "AdditionalAssignFailed"
CONFIG_LOADED = "ConfigLoaded"
CONFIG_INVALID = "ConfigInvalid"

NORMAL, WARNING = "Normal", "Warning"
MAX_MESSAGE = 1024


@dataclass(frozen=True)
class _Pending:
    involved: dict[str, Any]
    type: str
    reason: str
    message: str


def _drain(resp: Any) -> None:
    """Read an answer we do not decode to its end, so its connection goes back to the pool
    (an unread one would cost a new TLS connection per Event)."""
    resp.read()
    resp.release_conn()


def _object_id(p: _Pending) -> str:
    return str(p.involved.get("uid") or p.involved.get("name"))


def involved_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    ref = {
        "kind": obj.get("kind", ""),
        "apiVersion": obj.get("apiVersion", "v1"),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    return {k: v for k, v in ref.items() if v}


def event_body(p: _Pending, *, component: str, host: str, now: dt.datetime, name: str) -> dict[str, Any]:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "metadata": {"name": name, "namespace": p.involved.get("namespace") or "default"},
        "involvedObject": p.involved,
        "type": p.type,
        "reason": p.reason,
        "message": p.message[:MAX_MESSAGE],
        "source": {"component": component, "host": host},
        "reportingComponent": component,
        "reportingInstance": host,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


class EventRecorder:
    """Sends Events from ``senders`` threads; ``event()`` only queues, never blocks or fails.

    Each involved object's Events go to one sender (by a hash of its uid or name), so they
    are posted in the order recorded and aggregation sees them one at a time, while the
    Events of different objects go out in parallel: one sender cannot keep up with workers
    writing statuses in parallel (Events trailed them by seconds). A producer that must not
    outrun its Events calls ``wait_for_room`` (the controller's workers do, after each
    Service). ``close`` drains what is queued within a deadline, so a graceful stop loses
    nothing; what a stuck API server leaves unsent by then is logged as dropped.
    """

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        component: str = "ironlb-controller",
        host: str = "",
        aggregate_window: float = 600.0,
        max_queue: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        request_timeout: float = WRITE_TIMEOUT,
        senders: int = 1,
    ) -> None:
        self._rest = Rest(api_client)
        self._timeout = request_timeout
        self._component, self._host = component, host
        self._window, self._clock = aggregate_window, clock
        self._max_queue = max_queue
        self._queues: list[deque[_Pending | None]] = [deque() for _ in range(max(1, senders))]
        self._recent: OrderedDict[tuple[str, ...], tuple[str, str, int, float]] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending = 0  # recorded and not yet sent or given up
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._threads = [
            threading.Thread(target=self._run, args=(q,), name=f"event-sender-{i}", daemon=True)
            for i, q in enumerate(self._queues)
        ]
        for t in self._threads:
            t.start()

    def event(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        p = _Pending(involved_object(obj), type_, reason, message)
        shard = self._queues[zlib.crc32(_object_id(p).encode()) % len(self._queues)]
        with self._cond:
            if self._pending >= self._max_queue:
                self.dropped += 1
                log.warning("event queue full; dropping %s %s", reason, message)
                return
            self._pending += 1
            shard.append(p)
            self._cond.notify_all()

    def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.event(obj, NORMAL, reason, message)

    def warning(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.event(obj, WARNING, reason, message)

    @property
    def pending(self) -> int:
        with self._cond:
            return self._pending

    def wait_for_room(self, limit: int, timeout: float) -> bool:
        """Wait until at most ``limit`` Events are unsent (True), or ``timeout`` passed (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending <= limit, timeout)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every recorded event was sent (or given up); True if so."""
        return self.wait_for_room(0, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for at most ``timeout``), then stop the senders."""
        if not self.flush(timeout):
            with self._cond:
                left = self._pending
            log.warning("%d Events not sent within %.0f s of stopping; dropping them", left, timeout)
        with self._cond:
            for q in self._queues:
                q.appendleft(None)  # stop before anything still queued
            self._cond.notify_all()
        for t in self._threads:
            t.join(max(self._timeout, 1.0))

    def _finish(self) -> None:
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()

    def _run(self, q: deque[_Pending | None]) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(q))
                p = q.popleft()
            if p is None:
                return
            try:
                self._send(p)
                self.sent += 1
            except KubeError as exc:
                self.failed += 1
                log.log(
                    retry_log_level(exc),
                    "could not record event %s on %s: %s",
                    p.reason,
                    p.involved.get("name"),
                    exc,
                )
            finally:
                self._finish()

    def _send(self, p: _Pending) -> None:
        key = (_object_id(p), p.type, p.reason, p.message)
        now = dt.datetime.now(dt.UTC)
        with self._recent_lock:
            recent = self._recent.get(key)
        if recent is not None and self._clock() - recent[3] < self._window:
            name, ns, count, _ = recent
            patch = {"count": count + 1, "lastTimestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
            try:
                call_with_retry(
                    lambda: _drain(
                        self._rest.call(
                            "patch_namespaced_event",
                            namespace=ns,
                            name=name,
                            body=patch,
                            content_type=MERGE_PATCH,
                            timeout=self._timeout,
                        )
                    )
                )
                self._remember(key, (name, ns, count + 1, self._clock()))
                return
            except KubeError:
                pass  # the Event may have been garbage-collected: create a new one

        def create() -> dict[str, Any]:
            # A fresh name per attempt (client-go's scheme: object name + unique suffix).
            name = f"{p.involved.get('name', 'object')}.{time.time_ns():x}"
            body = event_body(p, component=self._component, host=self._host, now=now, name=name)
            _drain(
                self._rest.call(
                    "create_namespaced_event",
                    namespace=body["metadata"]["namespace"],
                    body=body,
                    timeout=self._timeout,
                )
            )
            return body

        made = call_with_retry(create)
        self._remember(key, (made["metadata"]["name"], made["metadata"]["namespace"], 1, self._clock()))

    def _remember(self, key: tuple[str, ...], value: tuple[str, str, int, float]) -> None:
        with self._recent_lock:
            self._recent[key] = value
            self._recent.move_to_end(key)
            while len(self._recent) > 4096:
                self._recent.popitem(last=False)
