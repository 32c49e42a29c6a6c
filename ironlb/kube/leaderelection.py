"""The Lease-based leader elector: the I/O loop around ``leader``'s decisions.

One thread tries to acquire or renew every ``retry_period``; the application asks
``is_leader()`` before every write (it turns False by itself once renewals have
failed for ``renew_deadline``); ``stop(release=True)`` gives the Lease up.

The elector also watches its one Lease (an ``Informer`` on ``metadata.name=<lease>``,
so resume and 410 relists are the informer's) and runs a round at once when the
Lease is released, deleted or acquired anew by someone else (``leader.wake_on``): a standby takes a
released Lease within a round trip instead of at its next retry, and a leader that
lost the Lease stops at once. A standby also schedules its next round for the moment
the holder's Lease expires (``leader.next_round_in``). The retry-period polling stays
as the fallback when the watch is down; the watch only moves rounds earlier, the
decisions stay ``leader.decide``'s.
The Lease is this process's only when this process acquired it (``leader.is_mine``: the
``acquireTime`` it wrote), so a second process under the same identity never renews or
releases it. The clocks are injectable and ``step()`` runs one round, so tests drive
elections against the real API server without sleeping.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from ironlb.kube.cache import Change
from ironlb.kube.errors import KubeError, ObjectGone, api_errors, retry_log_level
from ironlb.kube.informer import Informer
from ironlb.kube.leader import (
    LeaseRecord,
    Observation,
    decide,
    format_micro_time,
    is_mine,
    lease_spec,
    next_round_in,
    observe,
    record_from_lease,
    release_spec,
    still_leader,
    wake_on,
)
from ironlb.kube.rest import Rest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaderConfig:
    namespace: str
    name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")


def _noop() -> None:
    return None


class LeaderElector:
    def __init__(
        self,
        api_client: client.ApiClient,
        cfg: LeaderConfig,
        *,
        on_started_leading: Callable[[], None] = _noop,
        on_stopped_leading: Callable[[], None] = _noop,
        on_new_leader: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        watch_timeout: int = 300,
    ) -> None:
        self.cfg = cfg
        self._rest = Rest(api_client)  # raw dicts, see rest.py
        self._on_started, self._on_stopped, self._on_new_leader = (
            on_started_leading,
            on_stopped_leading,
            on_new_leader,
        )
        self._clock, self._wall = clock, wall
        self._obs: Observation | None = None
        self._last_renew: float | None = None
        self._leading = False
        self._last_holder = ""
        self._acquired: deque[str] = deque(maxlen=8)  # acquireTimes this process wrote
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by the Lease watch: run a round now
        self._thread: threading.Thread | None = None
        self._informer = Informer(
            f"lease:{cfg.namespace}/{cfg.name}",
            self._rest.lister("list_namespaced_lease"),
            kind="Lease",
            api_version="coordination.k8s.io/v1",
            on_change=self._on_lease_change,
            list_kwargs={"namespace": cfg.namespace, "field_selector": f"metadata.name={cfg.name}"},
            watch_timeout=watch_timeout,
        )
        self.wakeups = 0  # rounds started early by the watch (logs and tests)
        # Every Lease call is bounded, so a request the server never answers cannot keep the loop
        # from stepping down at the renew deadline: a round (a GET and a PUT, urllib3 retrying
        # neither) lasts at most half of it, as client-go bounds its renew loop by it.
        self._request_timeout = cfg.renew_deadline / 4

    # -- state --------------------------------------------------------------------
    def _mine(self, rec: LeaseRecord | None) -> bool:
        return rec is not None and is_mine(rec, self.cfg.identity, self._acquired)

    def is_leader(self) -> bool:
        with self._lock:
            return self._leading and still_leader(self._last_renew, self.cfg.renew_deadline, self._clock())

    @property
    def holder(self) -> str:
        return self._last_holder

    def wait_watching(self, timeout: float | None = None) -> bool:
        """Wait until the Lease watch has listed once (so it will see the next change)."""
        return self._informer.wait_synced(timeout)

    def _on_lease_change(self, change: Change) -> None:
        """Informer callback: note the version as observed now, and wake the loop if it matters."""
        old = record_from_lease(change.old) if change.old is not None else None
        new = record_from_lease(change.new) if change.new is not None else None
        with self._lock:
            if new is not None:
                self._obs = observe(self._obs, new, self._clock())
            wake = wake_on(old, new, mine=self._mine(new))
        if wake:
            log.debug(
                "lease %s: %s by the watch (holder %r): election round now",
                self.cfg.name,
                change.type.lower(),
                new.holder if new else None,
            )
            self.wakeups += 1
            self._wake.set()

    # -- one round ----------------------------------------------------------------
    def _call(self, endpoint: str, body: dict[str, Any] | None = None) -> Any:
        """One request about our Lease (the answer unread)."""
        name = None if endpoint == "create_namespaced_lease" else self.cfg.name
        return self._rest.call(
            endpoint, namespace=self.cfg.namespace, name=name, body=body, timeout=self._request_timeout
        )

    def read(self) -> LeaseRecord | None:
        try:
            with api_errors():
                resp = self._call("read_namespaced_lease")
        except ObjectGone:
            return None
        return record_from_lease(json.loads(resp.data))

    def attempt(self, rec: LeaseRecord | None) -> bool:
        """Write the Lease as ours, based on ``rec`` as read; False if someone else won (409).

        The lock is never held across the request: a renewal the API server never answers
        must not block ``is_leader``, which has to turn False on its own at the renew deadline.
        """
        with self._lock:
            now = self._clock()  # taken before the write: leadership is counted from here
            self._obs = None if rec is None else observe(self._obs, rec, now)
            if rec is not None:
                self._note_holder(rec.holder)
            mine = self._mine(rec)
            decision = decide(self._obs, now, mine=mine)
            if decision == "wait":
                self._lose("held by " + (rec.holder if rec else "?"))
                return False
            spec = lease_spec(rec, self.cfg.identity, self._wall(), self.cfg.lease_duration, mine=mine)
            if not mine:  # remembered before the write: a write whose answer is lost still counts
                self._acquired.append(format_micro_time(spec["acquireTime"]))
        body: dict[str, Any] = {
            "metadata": {"name": self.cfg.name, "namespace": self.cfg.namespace},
            "spec": spec,
        }
        try:
            with api_errors():
                if rec is None:
                    self._call("create_namespaced_lease", body).read()
                else:
                    body["metadata"]["resourceVersion"] = rec.resource_version
                    self._call("replace_namespaced_lease", body).read()
        except KubeError as exc:
            if exc.status == 409:
                # Someone wrote the Lease since we read it. Like client-go, a leader does not
                # step down for one failed renewal: it stays leader only until its renew
                # deadline, which ends before any standby may take over.
                log.debug("lease %s: conflict (%s); retrying next round", self.cfg.name, exc.reason)
                return False
            raise
        with self._lock:
            if self._stop.is_set():
                return False  # stopped meanwhile: ``release`` clears the Lease if this write landed
            self._last_renew = now
            self._note_holder(self.cfg.identity)
            if not self._leading:
                self._leading = True
                log.info(
                    "lease %s/%s: %s is now the leader", self.cfg.namespace, self.cfg.name, self.cfg.identity
                )
                self._on_started()
            return True

    def step(self) -> bool:
        """One acquire-or-renew round; returns ``is_leader()`` afterwards."""
        try:
            self.attempt(self.read())
        except KubeError as exc:
            log.log(retry_log_level(exc), "lease %s: %s", self.cfg.name, exc)
        with self._lock:
            if self._leading and not still_leader(self._last_renew, self.cfg.renew_deadline, self._clock()):
                self._lose("could not renew within the renew deadline")
        return self.is_leader()

    def release(self) -> bool:
        """Give the Lease up if we hold it; True if released."""
        with self._lock:
            was_leading = self._leading
            self._lose("released")
        if not was_leading:
            return False
        for _ in range(3):
            try:
                rec = self.read()
                if not self._mine(rec):  # taken meanwhile, if only under the same identity: not ours
                    return False
                assert rec is not None
                body = {
                    "metadata": {
                        "name": self.cfg.name,
                        "namespace": self.cfg.namespace,
                        "resourceVersion": rec.resource_version,
                    },
                    "spec": release_spec(rec, self._wall()),
                }
                with api_errors():
                    self._call("replace_namespaced_lease", body).read()
                log.info("lease %s/%s released by %s", self.cfg.namespace, self.cfg.name, self.cfg.identity)
                return True
            except KubeError as exc:
                log.warning("lease %s: release failed: %s", self.cfg.name, exc)
        return False

    def _lose(self, why: str) -> None:
        if self._leading:
            self._leading = False
            self._last_renew = None
            log.warning("lease %s: %s stopped leading: %s", self.cfg.name, self.cfg.identity, why)
            self._on_stopped()

    def _note_holder(self, holder: str) -> None:
        if holder != self._last_holder:
            self._last_holder = holder
            if self._on_new_leader is not None and holder:
                self._on_new_leader(holder)

    # -- thread -------------------------------------------------------------------
    def start(self) -> LeaderElector:
        self._informer.start()
        self._thread = threading.Thread(target=self._run, name="leader-elector", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            # Cleared before the round: a wake that lands during the round is for a change the
            # round may have missed, so it triggers another one.
            self._wake.clear()
            self.step()
            with self._lock:
                obs = self._obs
                mine = obs is not None and self._mine(obs.record)
                delay = next_round_in(obs, self._clock(), self.cfg.retry_period, mine=mine)
            self._wake.wait(delay)

    def stop(self, *, release: bool = True, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if release:
            self.release()
        else:
            with self._lock:
                self._lose("stopped")
        self._informer.stop(timeout)
