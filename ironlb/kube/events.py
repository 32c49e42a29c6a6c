"""Kubernetes Events on the objects ironlb acts on, so ``kubectl describe`` says why.

core/v1 Events (what client-go's recorder and ``kubectl describe`` use), with
MetalLB's reasons. Recording never blocks or fails the caller: events go to a
bounded queue sent by one thread, with a few tenacity retries, and an identical
event for the same object within ``aggregate_window`` bumps ``count`` and
``lastTimestamp`` on the existing Event instead of creating another (as client-go
aggregates), so a Service stuck in a retry loop yields one Event, not thousands.
Answers are not decoded: the recorder names its Events itself and needs nothing back.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections import OrderedDict
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
    ) -> None:
        self._rest = Rest(api_client)
        self._timeout = request_timeout
        self._component, self._host = component, host
        self._window, self._clock = aggregate_window, clock
        self._queue: queue.Queue[_Pending | None] = queue.Queue(max_queue)
        self._recent: OrderedDict[tuple[str, ...], tuple[str, str, int, float]] = OrderedDict()
        self._idle = threading.Condition()
        self._pending = 0
        self.sent = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name="event-recorder", daemon=True)
        self._thread.start()

    def event(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        p = _Pending(involved_object(obj), type_, reason, message)
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(p)
        except queue.Full:
            log.warning("event queue full; dropping %s %s", reason, message)
            self._finish()

    def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.event(obj, NORMAL, reason, message)

    def warning(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.event(obj, WARNING, reason, message)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every recorded event was sent (or given up); True if so."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout)

    def _finish(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _run(self) -> None:
        while True:
            p = self._queue.get()
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
        key = (str(p.involved.get("uid") or p.involved.get("name")), p.type, p.reason, p.message)
        now = dt.datetime.now(dt.UTC)
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
        self._recent[key] = value
        self._recent.move_to_end(key)
        while len(self._recent) > 4096:
            self._recent.popitem(last=False)
