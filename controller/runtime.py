"""The controller's imperative shell: informers -> work queue -> workers, leadership and lifecycle.

Wiring and ordering, no decisions (those are ``reconciler``, ``session`` and
``ironlb.programs.configstate``); one Service's path is ``servicesync``:

- Start-up barrier: nothing is written until the Service and ConfigMap informers
  have listed and a valid config is known, and this replica leads. Then a *session*
  (``controller.session``) starts: a fresh allocator adopts every existing assignment
  (from a fresh LIST, so a new leader never trusts a cache that may lag behind the old
  leader's writes), and only then is every Service queued, so pending ones are allocated
  after all current ones are kept. A restart therefore changes no IP. The pending ones are
  decided in plan order as the workers reach them (``controller.session.SettlePlan``), so the
  first is written before the last of a large backlog is decided.
- A config change is applied to the allocator at once: what it no longer allows is released and
  every Service without IPs is decided in one fixed order (``ironlb.allocator.settle``, the
  order ``ironlb plan`` uses), so the workers only write what was decided.
- Work flows through the de-duplicating ``WorkQueue`` (one key per Service, plus one
  control key for config and leadership). Several workers run; decisions are taken
  one at a time under a lock (the allocator has one owner), writes overlap. A
  failed write is retried with the queue's tenacity backoff without blocking others.
- The Service cache holds ``ironlb.services.allocation_view`` of each Service (only the
  fields the controller reads), and so do the write overlay and the adoption LIST.
- Long-lived objects (imports, the cache after an adoption, what is left after a burst of work)
  are frozen out of the cyclic garbage collector's full passes (``controller.heap``).
- A graceful stop sends the Events still queued, within ``EVENT_DRAIN``, before the Lease
  is released.
- Leadership: a session belongs to one term of leadership. Every write first checks
  that this replica still leads (``LeaderElector.is_leader`` turns false once renewals
  have failed for the renew deadline, before the Lease can expire elsewhere) and
  that the session is current. On stop, writing ends first, then the Lease is released.
- Once per term of leadership (and never on a standby), the speakers' membership Secret
  is created if it is missing (``controller.membershipsecret``).
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
from typing import Any, cast

from controller import heap
from controller.configfollow import ConfigFollower
from controller.heap import HeapKeeper, StartUpPause
from controller.membershipsecret import MembershipSecret
from controller.metrics import ControllerMetrics
from controller.namespaces import NamespaceLabelsView
from controller.options import PROGRAM, ControllerOptions
from controller.reconciler import SyncState
from controller.servicesync import EVENT_SENDERS, ServiceSync, view
from controller.session import Session, adopt
from ironlb import services as svc
from ironlb.allocator import PoolUsage
from ironlb.allocator.settle import settle_services
from ironlb.config import warm_decoders
from ironlb.kube.client import health_of, make_api_client
from ironlb.kube.configurationstate import ConfigurationStateWriter
from ironlb.kube.errors import KubeError, retry_log_level
from ironlb.kube.events import EventRecorder
from ironlb.kube.leaderelection import LeaderConfig, LeaderElector
from ironlb.kube.listing import list_services
from ironlb.kube.servicepages import allocation_view_page
from ironlb.kube.source import CONFIG_KINDS, KubeClusterSource, ObjectRef
from ironlb.kube.status import ServiceWriter
from ironlb.kube.workqueue import WorkQueue, tenacity_backoff
from ironlb.kube_types import ConfigMap, Service
from ironlb.probes import CannotListen, ProbeServer, serve
from ironlb.programs.flags import listen_failure

log = logging.getLogger(__name__)

CONTROL = ObjectRef("Control", "", "config-and-leadership")
CONFIG_INPUTS = frozenset({"ConfigMap", *CONFIG_KINDS})
"""Kinds whose change makes the controller judge its config again."""
SERVICE_PAGE_SIZE = 5000
"""Services per page of the controller's LIST of every Service. Each page costs a round trip and
the API server's set-up on top of its items (10,000 Services in pages of 500: 0.54 s from the first
request to the cache; of 5,000: 0.37 s, quiet machine, 3 starts each); a page is decoded straight
into views (``ironlb.kube.servicepages``), so its size bounds only a transient buffer (about 5 MB:
10,001 Services were 9.9 MB of JSON)."""
FIRST_ROUND_WAIT = 1.0
"""At most this long, start-up waits for the elector's first round before listing."""
EVENT_DRAIN = 5.0
"""Seconds a graceful stop spends sending the Events still queued before releasing the Lease."""
RBAC_HINT = "config/default/rbac-controller.yaml (ClusterRole and Role for ServiceAccount controller)"


def service_ref(key: str) -> ObjectRef:
    ns, _, name = key.partition("/")
    return ObjectRef("Service", ns, name)


class Controller:
    def __init__(self, opts: ControllerOptions, *, api_client: Any = None, keep_heap: bool = False) -> None:
        """``keep_heap``: freeze long-lived objects out of the garbage collector (``controller.heap``);
        for the process that is the controller, not for a test that runs one among others."""
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
            config_resources=True,
            namespaces=True,
            service_transform=view,
            service_pages=allocation_view_page,
            service_page_size=SERVICE_PAGE_SIZE,
        )
        assert self.source.namespaces is not None
        self.namespaces = NamespaceLabelsView(self.source.namespaces)
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
        self._session: Session | None = None
        self._generation = 0
        self._leading_since = float("-inf")  # monotonic time leadership last changed
        self.config_state = ConfigurationStateWriter.for_controller(self.api, opts.namespace)
        self.config = ConfigFollower(
            opts.namespace, opts.configmap, self.metrics, self.recorder, publish=self.config_state.publish
        )
        self.membership_secret = MembershipSecret(self.api, opts.namespace, opts.membership_secret)
        self.service_sync = ServiceSync(
            lock=self._lock,
            session=lambda: self._session,
            writable=self._writable,
            cached=self.source.service,
            requeue=lambda key: self.queue.add(service_ref(key)),
            writer=self.writer,
            recorder=self.recorder,
            metrics=self.metrics,
            lb_class=opts.lb_class,
            namespaces=self.namespaces,
        )
        self.heap = HeapKeeper(self.queue.idle) if keep_heap else None
        self.start_up = StartUpPause() if keep_heap else None
        self._stopping = threading.Event()
        self._workers: list[threading.Thread] = []
        self._server: ProbeServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, *, serve_metrics: bool = True) -> Controller:
        if self.start_up is not None:
            self.start_up.begin()  # until the first adoption is frozen (controller.heap)
        if serve_metrics:
            self._server = serve(
                self.opts.metrics_address,
                self.metrics.registry,
                liveness=self.liveness,
                readiness=self.readiness,
            )
        for i in range(self.opts.workers):
            t = threading.Thread(target=self._worker, name=f"reconcile-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        if self.elector is not None:
            self.elector.start()
            self._wait_first_round(FIRST_ROUND_WAIT)
        self.source.start()
        # The config decoders load while the first LIST is on the wire (ironlb.config).
        threading.Thread(target=warm_decoders, name="warm-config-decoders", daemon=True).start()
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
        if self.start_up is not None:
            self.start_up.end()
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
        self.config_state.close(timeout=1.0)
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

    def liveness(self) -> str | None:
        """None while alive (``/healthz``), else why not."""
        return None if self.healthy() else "unhealthy"

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
            return (
                f"no valid config in ConfigMap {self.opts.namespace}/{self.opts.configmap}"
                f" or the ironlb.io resources of namespace {self.opts.namespace} yet"
            )
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
        if ref.kind == "Service" and self._session is None:
            # No term yet (start-up: the first LIST reports every Service): a new session queues
            # every cached Service, this one included (the cache holds the change before it is
            # reported), so queueing it now would only make a worker find no session, thousands
            # of times while the adoption needs the interpreter. Checked under the lock a session
            # starts under, so a change is never dropped after that session read the cache.
            with self._lock:
                if self._session is None:
                    return
        elif ref.kind == "Service" and self._own_write(ref.key):
            return
        self.queue.add(CONTROL if ref.kind in CONFIG_INPUTS else ref)

    def _own_write(self, key: str) -> bool:
        """The change is the informer's report of the status this term just wrote: its reconcile
        would decide exactly what was written (a write is guarded by resourceVersion, so it was
        decided on the latest Service; whatever changes the allocator queues the keys it touches),
        so it is not queued. One no-op reconcile per allocation saved."""
        cached = self.source.service(key)
        with self._lock:
            session = self._session
            return session is not None and session.overlay.caught_up(key, cached)

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
            if self.heap is not None:
                self.heap.processed()

    def _process(self, ref: ObjectRef) -> SyncState:
        if ref == CONTROL:
            return self._sync_control()
        if ref.kind == "Service":
            return self.service_sync.sync(ref.key)
        if ref.kind == "Namespace":
            return self._sync_namespace(ref.name)
        return "done"

    def _writable(self, session: Session) -> bool:
        return self._session is session and session.generation == self._generation and self.is_leader()

    # -- config and leadership -------------------------------------------------------------------
    def _sync_control(self) -> SyncState:
        if not self.source.wait_synced(1.0):
            return "retry"
        state = self._sync_config_and_session()
        if self.start_up is not None:
            # Listed, and adopted (and frozen) if this replica leads with a valid config.
            self.start_up.end()
        # After the session: allocation never waits for the Secret.
        secret = self.membership_secret.ensure(self._generation, self.is_leader)
        return "retry" if "retry" in (secret, state) else state

    def _sync_config_and_session(self) -> SyncState:
        with self._lock:
            self._follow_config()
            if not self.is_leader():
                if self._session is not None:
                    log.info("no longer leading: stopping all writes")
                    self._session = None
                return "done"
            self.config.report(self._config_map(), self.source.config_objects(), self._generation)
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
        changed = self.config.update(
            self._config_map(), self.source.config_objects(), leading=self.is_leader()
        )
        session = self._session
        if changed is not None and session is not None:
            session.settle_all()  # the plan was made under the old config: decided under it first
            for inv in session.allocator.set_config(changed):
                log.info("%s: %s", inv.key, inv.reason)
            # Every Service that lost its IPs, or had none, is decided now in one fixed order
            # (ironlb.allocator.settle, as ironlb plan does), not in the order workers race to.
            keys = (svc.service_key(cast(Service, s)) for s in self.source.services.items())
            current = (session.overlay.current(key, self.source.service(key)) for key in keys)
            pending = (s for s in current if s is not None)
            settle_services(session.allocator, pending, self.opts.lb_class, self.namespaces)
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
        fresh = list_services(self.api, transform=svc.allocation_view, page_decoder=allocation_view_page)
        return fresh, "a fresh LIST"

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
        adoption = adopt(config, services, self.opts.lb_class, cached, self.namespaces, lazy=True)
        log.info(
            "leading: adopted %d existing assignments (%d not adoptable) of %d Services from %s in %.2f s;"
            " allocating (%d pending, decided in plan order as the workers reach them)",
            adoption.adopted,
            adoption.refused,
            len(services),
            origin,
            time.monotonic() - started,
            adoption.plan.pending(),
        )
        # Queued before the session is visible (workers wait on our lock meanwhile), so the
        # queue is never idle before the first reconciles.
        self.queue.add_all(service_ref(key) for key in adoption.order)
        self._session = Session(adoption.allocator, generation, adoption.plan)
        if self.heap is not None:
            heap.freeze()  # the cache and the allocator live as long as the term (controller.heap)
        return "done"

    def _sync_namespace(self, namespace: str) -> SyncState:
        """A Namespace's labels changed (or it came or went): the Services of it whose pool no longer
        admits them lose their IPs and are decided again, and so are its refused ones (a pool may admit
        them now). Those that keep their IPs are not touched."""
        prefix = f"{namespace}/"
        with self._lock:
            session = self._session
            if session is None:
                return "done"  # a new session decides every Service with the labels it then reads
            session.settle_all()
            labels = self.namespaces.sorted_labels(namespace)
            keys = {k for k in session.refused if k.startswith(prefix)}
            invalidated = session.allocator.set_namespace_labels(namespace, labels)
            for inv in invalidated:
                log.info("%s: %s", inv.key, inv.reason)
                keys.add(inv.key)
            if invalidated:  # freed IPs may unblock refused Services of any namespace
                keys.update(session.refused)
        for key in sorted(keys):
            self.queue.add(service_ref(key))
        return "done"

    def _queue_all_services(self) -> None:
        self.queue.add_all(
            service_ref(svc.service_key(cast(Service, o))) for o in self.source.services.items()
        )


def run(opts: ControllerOptions, stop: threading.Event) -> int:
    """Run until ``stop`` is set; returns an exit code."""
    heap.freeze()  # what the imports made lives as long as the process (controller.heap)
    controller = Controller(opts, keep_heap=True)
    try:
        controller.start()
    except CannotListen as exc:
        log.error("%s", listen_failure(exc))
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
