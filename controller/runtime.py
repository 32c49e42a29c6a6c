"""The controller's imperative shell: informers -> work queue -> reconciler -> writers.

Wiring and ordering, no decisions (those are ``reconciler`` and ``configstate``):

- Start-up barrier: nothing is written until the Service and ConfigMap informers
  have listed and a valid config is known, and this replica leads. Then a *session*
  starts: a fresh allocator adopts every existing assignment (from a fresh LIST, so
  a new leader never trusts a cache that may lag behind the old leader's writes),
  and only then is every Service queued, so pending ones are allocated after all
  current ones are kept. A restart therefore changes no IP.
- A config change is applied to the allocator at once: what it no longer allows is released and
  every Service without IPs is decided in one fixed order (``ironlb.allocator.settle``, the
  order ``ironlb plan`` uses), so the workers only write what was decided.
- Work flows through the de-duplicating ``WorkQueue`` (one key per Service, plus one
  control key for config and leadership). Several workers run; decisions are taken
  one at a time under a lock (the allocator has one owner), writes overlap. A
  failed write is retried with the queue's tenacity backoff without blocking others.
- Writes go only where they change something: one merge patch through ``/status``
  carries the ingress and the pool annotation together (``ironlb.kube.status``),
  guarded by ``resourceVersion``. What a write returned is kept as an overlay until the
  informer catches up, so a lagging cache never causes a second, conflicting write.
- The Service cache holds ``ironlb.services.allocation_view`` of each Service (only the
  fields the controller reads), and so do the overlays and the adoption LIST.
- Events (``IPAllocated``...) go out from a few sender threads right behind their status
  writes (workers wait while the senders are behind); a graceful stop sends what is
  queued, within ``EVENT_DRAIN``, before the Lease is released.
- Leadership: a session belongs to one term of leadership. Every write first checks
  that this replica still leads (``LeaderElector.is_leader`` turns false once renewals
  have failed for the renew deadline, before the Lease can expire elsewhere) and
  that the session is current. On stop, writing ends first, then the Lease is released.
- Once per term of leadership (and never on a standby), the speakers' membership Secret
  is created if it is missing (``--membership-secret``); an existing one is never
  touched. Allocation does not wait for it; a failure is retried through the queue.
- An API server that cannot be used until a person acts (wrong CA, 401, 403) is named
  once by the client's ``ApiHealth`` (``ironlb.kube.health``), counted in
  ``ironlb_k8s_client_errors_total{reason}`` and given as ``/readyz``'s reason; every path
  here keeps retrying with backoff, logging those retries at DEBUG only.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from controller.configfollow import ConfigFollower
from controller.metrics import ControllerMetrics, MetricsServer
from controller.options import ControllerOptions, split_address
from controller.reconciler import POOL_ANNOTATION, Decision, SyncState, reconcile
from controller.session import adopt
from ironlb import services as svc
from ironlb.allocator import Allocator, PoolUsage
from ironlb.allocator.settle import settle_services
from ironlb.kube.client import health_of, make_api_client
from ironlb.kube.errors import KubeError, ObjectGone, PermanentKubeError, retry_log_level
from ironlb.kube.events import EventRecorder
from ironlb.kube.leaderelection import LeaderConfig, LeaderElector
from ironlb.kube.listing import list_services
from ironlb.kube.membership_secret import ensure_membership_secret
from ironlb.kube.source import KubeClusterSource, ObjectRef
from ironlb.kube.status import ServiceWriter, status_patch
from ironlb.kube.workqueue import WorkQueue, tenacity_backoff
from ironlb.kube_types import ConfigMap, Service
from ironlb.probes import CannotListen

log = logging.getLogger(__name__)

PROGRAM = "ironlb-controller"
CONTROL = ObjectRef("Control", "", "config-and-leadership")
EVENT_SENDERS = 4
"""Threads posting Events; one object's Events always go through the same one, in order."""
EVENT_BACKLOG = 2 * EVENT_SENDERS
EVENT_WAIT = 1.0
"""A worker that recorded Events waits (at most ``EVENT_WAIT`` s) while more than ``EVENT_BACKLOG``
are unsent, so each Event follows its status write within a fraction of a second instead of
trailing it by the whole backlog, and a stop finds almost nothing left to send."""
FIRST_ROUND_WAIT = 1.0
"""At most this long, start-up waits for the elector's first round before listing."""
EVENT_DRAIN = 5.0
"""Seconds a graceful stop spends sending the Events still queued before releasing the Lease."""
RBAC_HINT = "config/default/rbac-controller.yaml (ClusterRole and Role for ServiceAccount controller)"


def _view(obj: Any) -> Any:
    """What the controller keeps of a Service (``ironlb.services.allocation_view``)."""
    return svc.allocation_view(cast(Service, obj))


def _rv(obj: Mapping[str, Any] | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


@dataclass
class _Session:
    """One term of leadership: the allocator state that is only valid while it lasts."""

    allocator: Allocator
    generation: int


@dataclass(frozen=True)
class _Written:
    """A Service as our last write left it, and the versions the cache may still show instead."""

    obj: Service
    older: frozenset[str]


class Controller:
    def __init__(self, opts: ControllerOptions, *, api_client: Any = None) -> None:
        self.opts = opts
        self.api = (
            api_client
            if api_client is not None
            else make_api_client(opts.kubeconfig, rbac_hint=RBAC_HINT, program=PROGRAM)
        )
        self.queue: WorkQueue[ObjectRef] = WorkQueue(backoff=tenacity_backoff(0.05, 10.0))
        self.source = KubeClusterSource(
            self.api,
            config_namespace=opts.namespace,
            config_name=opts.configmap,
            on_change=self._on_change,
            endpoint_slices=False,
            nodes=False,
            service_transform=_view,
        )
        self.writer = ServiceWriter(self.api)
        self.recorder = EventRecorder(
            self.api,
            component=PROGRAM,
            host=opts.instance or opts.identity,
            max_queue=100_000,
            senders=EVENT_SENDERS,
        )
        self.elector: LeaderElector | None = None
        if opts.leader_elect:
            self.elector = LeaderElector(
                self.api,
                LeaderConfig(
                    namespace=opts.namespace,
                    name=opts.lease_name,
                    identity=opts.identity,
                    lease_duration=opts.lease_duration,
                    renew_deadline=opts.renew_deadline,
                    retry_period=opts.retry_period,
                ),
                on_started_leading=self._on_leadership_change,
                on_stopped_leading=self._on_leadership_change,
            )
        self.metrics = ControllerMetrics(pool_usage=self._pool_usage, is_leader=self.is_leader)
        self.api_health = health_of(self.api)  # None for a client not made by ironlb.kube
        if self.api_health is not None:
            self.api_health.subscribe(lambda p: self.metrics.client_errors.labels(p.cause).inc())
        self._lock = threading.RLock()  # decisions: config, session, allocator, bookkeeping
        self._session: _Session | None = None
        self._generation = 0
        self._leading_since = float("-inf")  # monotonic time leadership last changed
        self._secret_checked = -1  # the leadership generation whose membership Secret is ensured
        self.config = ConfigFollower(opts.namespace, opts.configmap, self.metrics, self.recorder)
        self._refused: dict[str, str] = {}
        self._written: dict[str, _Written] = {}
        self._stopping = threading.Event()
        self._workers: list[threading.Thread] = []
        self._server: MetricsServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, *, serve_metrics: bool = True) -> Controller:
        if serve_metrics:
            host, port = split_address(self.opts.metrics_address)
            self._server = MetricsServer(
                host, port, self.metrics, healthy=self.healthy, readiness=self.readiness
            )
            self._server.start()
        for i in range(self.opts.workers):
            t = threading.Thread(target=self._worker, name=f"reconcile-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        if self.elector is not None:
            self.elector.start()
            self._wait_first_round(FIRST_ROUND_WAIT)
        self.source.start()
        self.queue.add(CONTROL)
        log.info(
            "controller %s started (namespace %s, configmap %s, class %s, leader election %s)",
            self.opts.identity,
            self.opts.namespace,
            self.opts.configmap,
            self.opts.lb_class or "(none)",
            "on" if self.elector else "off",
        )
        return self

    def _wait_first_round(self, timeout: float) -> None:
        """Let the elector's first round finish (it knows the holder) before the informers list,
        so a replica that leads at once can adopt from its first LIST instead of listing twice."""
        assert self.elector is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            holder = self.elector.holder
            if self._leading_since > float("-inf") or (holder and holder != self.opts.identity):
                return  # leading (and _leading_since set), or someone else leads
            time.sleep(0.005)

    def stop(self, *, release: bool = True) -> None:
        """Stop writing first, let in-flight work finish, then give the Lease up."""
        self._stopping.set()
        self.queue.shutdown()
        for t in self._workers:
            t.join(10.0)
        stuck = [t.name for t in self._workers if t.is_alive()]
        if stuck and release:
            # A write may still land: releasing now would let the standby write at the same
            # time. Let the Lease expire instead (the standby then waits out its duration).
            log.warning("workers %s still busy after 10 s; not releasing the Lease", ", ".join(stuck))
            release = False
        self.recorder.close(timeout=EVENT_DRAIN)  # every Event of a written status, then the Lease
        if self.elector is not None:
            self.elector.stop(release=release)
        self.source.stop()
        if self._server is not None:
            self._server.stop()
        log.info("controller %s stopped", self.opts.identity)

    @property
    def metrics_port(self) -> int | None:
        return self._server.port if self._server else None

    # -- state for probes, metrics and tests ----------------------------------------------------
    def is_leader(self) -> bool:
        if self._stopping.is_set():
            return False
        return self.elector.is_leader() if self.elector is not None else True

    def healthy(self) -> bool:
        return not self._stopping.is_set() and all(t.is_alive() for t in self._workers)

    def ready(self) -> bool:
        return self.readiness() is None

    def readiness(self) -> str | None:
        """None when ready; else why not: the API server cannot be used, not listed yet, no config."""
        problem = self.api_health.reason() if self.api_health is not None else None
        if problem is not None:
            return problem
        if not self.source.synced:
            pending = ", ".join(inf.name for inf in self.source.informers if not inf.synced)
            return f"waiting for the first list of {pending} from the Kubernetes API server"
        if self.config.config is None:
            return f"no valid config in ConfigMap {self.opts.namespace}/{self.opts.configmap} yet"
        return None

    def active(self) -> bool:
        """Leading with a session: adoption done, allocating."""
        return self._session is not None and self.is_leader()

    def settled(self) -> bool:
        """Active and nothing left to do (for tests and benchmarks)."""
        return self.active() and self.queue.idle()

    def _pool_usage(self) -> Mapping[str, PoolUsage]:
        with self._lock:
            session = self._session
            return session.allocator.usage() if session is not None else {}

    # -- inputs ----------------------------------------------------------------------------------
    def _on_change(self, ref: ObjectRef) -> None:
        self.queue.add(CONTROL if ref.kind == "ConfigMap" else ref)

    def _on_leadership_change(self) -> None:
        # Called by the elector with its lock held: never take our lock here.
        self._generation += 1
        self._leading_since = time.monotonic()  # after the Lease write (see _services_to_adopt)
        self.queue.add(CONTROL)

    # -- workers ---------------------------------------------------------------------------------
    def _worker(self) -> None:
        while True:
            ref = self.queue.get()
            if ref is None:
                return
            try:
                state = self._process(ref)
            except Exception:
                log.exception("processing %s failed", ref.key or ref.kind)
                state = "retry"
            try:
                if state == "retry" and not self._stopping.is_set():
                    self.queue.add_rate_limited(ref)
                else:
                    self.queue.forget(ref)
            finally:
                self.queue.done(ref)

    def _process(self, ref: ObjectRef) -> SyncState:
        if ref == CONTROL:
            return self._sync_control()
        if ref.kind == "Service":
            return self._sync_service(ref)
        return "done"

    def _writable(self, session: _Session) -> bool:
        return self._session is session and session.generation == self._generation and self.is_leader()

    # -- config and leadership -------------------------------------------------------------------
    def _sync_control(self) -> SyncState:
        if not self.source.wait_synced(1.0):
            return "retry"
        state = self._sync_config_and_session()
        secret = self._ensure_membership_secret()  # after the session: allocation never waits for it
        return "retry" if "retry" in (secret, state) else state

    def _ensure_membership_secret(self) -> SyncState:
        """Once per term: create the speakers' membership Secret if missing (outside our lock)."""
        name = self.opts.membership_secret
        generation = self._generation  # read before is_leader: a later change queues CONTROL again
        if not name or self._secret_checked == generation or not self.is_leader():
            return "done"
        try:
            ensure_membership_secret(self.api, self.opts.namespace, name)
        except PermanentKubeError as exc:
            log.error("membership Secret %s/%s: %s; not retrying", self.opts.namespace, name, exc)
        except KubeError as exc:
            log.log(
                retry_log_level(exc),
                "membership Secret %s/%s: %s; will retry",
                self.opts.namespace,
                name,
                exc,
            )
            return "retry"
        self._secret_checked = generation
        return "done"

    def _sync_config_and_session(self) -> SyncState:
        with self._lock:
            self._follow_config()
            if not self.is_leader():
                if self._session is not None:
                    log.info("no longer leading: stopping all writes")
                    self._session = None
                return "done"
            self.config.report(self._config_map(), self._generation)
            if self.config.config is None:
                return "done"  # no valid config yet: nothing is written
            session = self._session
            if session is None or session.generation != self._generation:
                return self._start_session()
        return "done"

    def _config_map(self) -> ConfigMap | None:
        items = self.source.config_map.items()
        return cast(ConfigMap, items[0]) if items else None

    def _follow_config(self) -> None:
        changed = self.config.update(self._config_map(), leading=self.is_leader())
        session = self._session
        if changed is not None and session is not None:
            for inv in session.allocator.set_config(changed):
                log.info("%s: %s", inv.key, inv.reason)
            # Every Service that lost its IPs, or had none, is decided now in one fixed order
            # (ironlb.allocator.settle, as ironlb plan does), not in the order workers race to.
            keys = (svc.service_key(cast(Service, s)) for s in self.source.services.items())
            current = (self._current(key) for key in keys)
            settle_services(session.allocator, (s for s in current if s is not None), self.opts.lb_class)
            self._queue_all_services()

    def _services_to_adopt(self) -> tuple[list[Service], str]:
        """Every Service, fresh enough to adopt from: no write of a previous leader missing.

        The informer cache qualifies when its LIST was sent after this replica began to lead
        (the old leader had stopped writing by then): the usual case at start-up, since the
        elector's first round runs before the informers list. Otherwise a LIST now."""
        informer = self.source.services
        listed_at = informer.listed_at
        if listed_at is not None and listed_at > self._leading_since:
            return [cast(Service, s) for s in informer.items()], "the cache (listed after leadership began)"
        return list_services(self.api, transform=svc.allocation_view), "a fresh LIST"

    def _start_session(self) -> SyncState:
        config = self.config.config
        assert config is not None
        generation = self._generation
        started = time.monotonic()
        try:
            services, origin = self._services_to_adopt()
        except KubeError as exc:
            log.log(
                retry_log_level(exc), "cannot list Services to adopt their assignments: %s; retrying", exc
            )
            return "retry"
        cached = (svc.service_key(cast(Service, s)) for s in self.source.services.items())
        adoption = adopt(config, services, self.opts.lb_class, cached)
        log.info(
            "leading: adopted %d existing assignments (%d not adoptable) of %d Services from %s in %.2f s;"
            " allocating",
            adoption.adopted,
            adoption.refused,
            len(services),
            origin,
            time.monotonic() - started,
        )
        # Queued before the session is visible (workers wait on our lock meanwhile), so the
        # queue is never idle before the first reconciles.
        for key in adoption.order:
            ns, _, name = key.partition("/")
            self.queue.add(ObjectRef("Service", ns, name))
        self._refused.clear()
        self._written.clear()
        self._session = _Session(adoption.allocator, generation)
        return "done"

    def _queue_all_services(self) -> None:
        for obj in self.source.services.items():
            ns, _, name = svc.service_key(cast(Service, obj)).partition("/")
            self.queue.add(ObjectRef("Service", ns, name))

    def _queue_refused(self) -> None:
        with self._lock:
            keys = list(self._refused)
        for key in keys:
            ns, _, name = key.partition("/")
            self.queue.add(ObjectRef("Service", ns, name))

    # -- one Service -----------------------------------------------------------------------------
    def _current(self, key: str) -> Service | None:
        """The cached Service, or what our last write returned while the cache still lags."""
        cached = self.source.service(key)
        written = self._written.get(key)
        if written is None:
            return cached
        if cached is not None and _rv(cached) in written.older:
            return written.obj
        del self._written[key]
        return cached

    def _sync_service(self, ref: ObjectRef) -> SyncState:
        key = ref.key
        with self._lock:
            session = self._session
            if session is None or not self._writable(session):
                return "done"  # a new session queues every Service again
            service = self._current(key)
            decision = reconcile(
                key, service, session.allocator, self.opts.lb_class, previous_refusal=self._refused.get(key)
            )
            if decision.refusal is not None:
                self._refused[key] = decision.refusal
            else:
                self._refused.pop(key, None)
        if decision.sync == "reprocess-all":
            self._queue_refused()
        if service is None:
            return "done"
        return self._apply(session, service, decision)

    def _apply(self, session: _Session, service: Service, decision: Decision) -> SyncState:
        key = decision.key
        obj = service
        older: set[str] = set()
        try:
            if status_patch(obj, decision.ingress, decision.annotations) is not None:
                if not self._writable(session):
                    return "done"
                base = _rv(obj)
                obj = _view(self.writer.write(obj, ips=decision.ingress, annotations=decision.annotations))
                older.add(base)
                self.metrics.updates.inc()
        except ObjectGone:
            return "done"  # deleted meanwhile: the DELETED event frees its IPs
        except KubeError as exc:
            self.metrics.update_errors.inc()
            if isinstance(exc, PermanentKubeError):
                log.error("%s: write refused, not retrying: %s", key, exc)
                return "done"
            log.log(retry_log_level(exc), "%s: write failed, will retry: %s", key, exc)
            return "retry"
        finally:
            if older:
                with self._lock:
                    prev = self._written.get(key)
                    if prev is not None:
                        older |= prev.older
                    self._written[key] = _Written(obj, frozenset(older))
        # A status this session wrote gets its Event even if a stop began meanwhile (the stop
        # sends it before exiting); without a write, only a current leader reports.
        if decision.events and (older or self._writable(session)):
            for ev in decision.events:
                self.recorder.event(obj, ev.type, ev.reason, ev.message)
            # Statuses must not outrun their Events: a worker waits while the senders are behind.
            self.recorder.wait_for_room(EVENT_BACKLOG, EVENT_WAIT)
        if older and decision.ingress:
            log.info(
                "%s: %s (pool %s)",
                key,
                ", ".join(decision.ingress),
                decision.annotations.get(POOL_ANNOTATION),
            )
        elif older:
            log.info("%s: load-balancer status cleared", key)
        return "done"


def run(opts: ControllerOptions, stop: threading.Event) -> int:
    """Run until ``stop`` is set; returns an exit code."""
    controller = Controller(opts)
    try:
        controller.start()
    except CannotListen as exc:
        log.error(
            "%s for /metrics, /healthz and /readyz (--metrics-address, env IRONLB_METRICS_ADDRESS): "
            "another process has it; choose a free one",
            exc,
        )
        controller.api.close()
        return 1
    try:
        while not stop.wait(1.0):
            if not controller.healthy():
                log.error("a worker died; exiting")
                return 1
    finally:
        controller.stop(release=True)
        with contextlib.suppress(Exception):
            controller.api.close()
    return 0
