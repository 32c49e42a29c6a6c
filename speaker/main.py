"""The speaker's imperative shell: one asyncio loop wiring source, config, membership and backends.

Loop: read the cluster-state source (in a thread) when it reports a change
(Kubernetes informers, ``speaker.sources``) or every ``--poll-interval`` (a
manifest directory, re-parsed only when its files changed) → on a new revision judge the
config (``ironlb.programs.configstate``: an invalid one is refused, the last good one kept)
and refresh the membership peers from Node addresses → whenever the snapshot or the live set
changes, build the pure ``AnnounceInputs`` and hand them to every backend. An
unavailable source changes nothing: the speaker keeps announcing what it last
knew. SIGTERM: leave the membership (successors take over at once), then stop
the backends (layer 2 stops answering and cancels its pending announcements
before the leave goes out). If any long-lived task fails, the whole speaker stops. Each
Service this node starts announcing gets a ``nodeAssigned`` Event (``speaker.events``), and
what it announces, and where, its ``ServiceL2Status`` / ``ServiceBGPStatus`` (``speaker.statusobjects``).
The metrics port also answers the kubelet's probes (``ironlb.probes.serve``): ``/readyz`` and
``/healthz`` as ``speaker.probes`` decides from ``Speaker.status`` and a loop heartbeat.

The config is the ConfigMap, the ``ironlb.io`` resources and the Secrets their
``passwordSecret`` names (``ironlb.programs.configstate.read_config``); what is in force and
every problem go to this speaker's ``ConfigurationState`` (``speaker-<node>``) too.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prometheus_client import REGISTRY

from ironlb import logs
from ironlb.announce.inputs import Announcement, build_inputs, node_info
from ironlb.cluster.seam import ClusterSnapshot, ClusterSource, ClusterSourceUnavailable
from ironlb.config.model import Config
from ironlb.probes import CannotListen, ProbeServer, serve
from ironlb.programs.configstate import ConfigState, configuration_report, judge, log_state, read_config
from ironlb.programs.flags import listen_failure
from ironlb.statusobjects.cleanup import MembershipView
from ironlb.statusobjects.configuration import ConfigurationTracker
from speaker import metrics
from speaker.bfd.backend import BfdAnnouncer
from speaker.bgp.backend import BgpAnnouncer
from speaker.events import LogSink, NodeAssignedEvents
from speaker.layer2.announcer import Layer2Announcer
from speaker.membership.service import Membership
from speaker.membership.swim import Addr, Standing
from speaker.membership.wire import load_key
from speaker.options import SpeakerOptions, parse_options
from speaker.probes import Heartbeat, Probes, SpeakerStatus
from speaker.protocol import Announcer
from speaker.sources import open_cluster
from speaker.statusobjects import ServiceStatusObjects
from speaker.supervision import cancel_all

log = logging.getLogger(__name__)

RESYNC_INTERVAL = 30.0
"""A source that pushes its changes is still read this often (cheap: an unchanged revision is skipped)."""
CLEANUP_INTERVAL = 0.5
"""How often the membership's verdicts are looked at for other nodes' stale status objects."""


def build_backends(options: SpeakerOptions, membership: Membership | None = None) -> list[Announcer]:
    """The announcement backends of this speaker (BGP plugs in here)."""
    standing = membership.standing if membership is not None else Standing
    holding = membership.set_holding if membership is not None else None
    backends: list[Announcer] = [
        Layer2Announcer(timing=options.layer2_timing, standing=standing, holding=holding)
    ]
    if options.bgp:
        backends.append(BgpAnnouncer.from_options(options))
        backends.append(BfdAnnouncer.from_options(options))  # bfdd runs only for peers with a bfd-profile
    return backends


def peers_from_snapshot(snapshot: ClusterSnapshot, port: int, *, ipv6: bool) -> dict[str, Addr]:
    """Membership address of every node: its first InternalIP (else ExternalIP).

    An IPv4 socket reaches only IPv4 addresses; an IPv6 socket (bound to ``::``,
    dual-stack) reaches both, IPv4 ones as v4-mapped addresses.
    """
    peers: dict[str, Addr] = {}
    for node in snapshot.nodes:
        info = node_info(node)
        if info is None:
            continue
        for ip in info.addresses:
            if ip.version == 4:
                peers[info.name] = (f"::ffff:{ip}" if ipv6 else str(ip), port)
                break
            if ipv6:
                peers[info.name] = (str(ip), port)
                break
    return peers


def _config_inputs(snap: ClusterSnapshot) -> tuple[object, ...]:
    """What the config is made of: a change here makes the speaker judge it again."""
    return (snap.config_map, snap.config_resources, snap.secrets)


def membership_view(membership: Membership) -> MembershipView:
    """What the status-object cleanup judges on: who is live, the verdict on every other member."""
    swim = membership.swim
    verdicts = {name: m.status for name, m in swim.members.items()}
    heard = frozenset(name for name, m in swim.members.items() if m.heard > -math.inf)
    return MembershipView(swim.name, membership.live, verdicts, isolated=swim.isolated(), heard=heard)


def node_names(snapshot: ClusterSnapshot) -> list[str]:
    return [str((n.get("metadata") or {}).get("name") or "") for n in snapshot.nodes]


class Speaker:
    def __init__(
        self,
        options: SpeakerOptions,
        source: ClusterSource,
        membership: Membership,
        backends: Sequence[Announcer],
        *,
        config_state: Callable[[Mapping[str, Any]], None] | None = None,
        changes: asyncio.Event | None = None,
        events: NodeAssignedEvents | None = None,
        status_objects: ServiceStatusObjects | None = None,
    ) -> None:
        """``config_state(status)``: write this speaker's ``ConfigurationState`` status (the API only)."""
        self.options = options
        self.changes = changes
        """Set when the source has news (Kubernetes informers); None: poll every ``poll_interval``."""
        self.events = events or NodeAssignedEvents(LogSink())
        self.status_objects = status_objects
        """This node's ServiceL2Status / ServiceBGPStatus (``speaker.statusobjects``); None: none kept."""
        self.source = source
        self.membership = membership
        self.backends = list(backends)
        self.snapshot: ClusterSnapshot | None = None
        self.config_state = ConfigState()
        self._publish_config_state = config_state
        self._config_tracker = ConfigurationTracker(f"speaker-{options.node}")
        self.membership_started = False
        self.failed: str | None = None
        """The long-lived task whose failure is stopping the speaker."""
        self._dirty = asyncio.Event()
        self._unavailable = False
        self._stop = asyncio.Event()
        self._announced: set[tuple[str, str, str, str]] = set()
        membership.on_change = lambda _live: self._dirty.set()
        for b in self.backends:  # where an IP is answered changed: its ServiceL2Status says it
            if isinstance(b, Layer2Announcer):
                b.on_interfaces_changed = self._dirty.set
            if isinstance(b, BgpAnnouncer):  # a session up or down: ServiceBGPStatus.peers says it
                b.on_sessions_changed = self._dirty.set

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        if not await self._first_snapshot():
            return  # stopped before the cluster could be read: nothing announced, nobody told
        await self.reconcile()  # ready to act before peers hear of us
        await self.membership.start()
        self.membership_started = True
        tasks = [
            asyncio.create_task(self.membership.run(), name="membership"),
            asyncio.create_task(self._poll_loop(), name="source"),
            asyncio.create_task(self._reconcile_loop(), name="reconcile"),
            *(asyncio.create_task(b.run(), name=b.name) for b in self.backends),
        ]
        if self.status_objects is not None and self.status_objects.cleanup is not None:
            tasks.append(asyncio.create_task(self._cleanup_loop(), name="status-cleanup"))
        stop = asyncio.create_task(self._stop.wait(), name="stop")
        try:
            done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
            failed = [t for t in done if t is not stop]
            if failed:
                self.failed = failed[0].get_name()
            for t in failed:
                exc = t.exception() if not t.cancelled() else None
                log.error("task %s ended unexpectedly: %r; stopping", t.get_name(), exc)
            graceful = not failed
            if graceful:
                log.info("stopping: leaving the membership, then stopping the backends")
                for b in self.backends:
                    if isinstance(b, Layer2Announcer):
                        b.release()  # nothing of ours may be announced after a successor's first burst
                await self.membership.leave()
            else:
                self.membership.stop()
            for b in self.backends:
                await b.shutdown(graceful=graceful)
            if failed:
                raise RuntimeError(f"speaker task {failed[0].get_name()} failed")
        finally:
            await cancel_all([stop, *tasks])

    # ---- cluster state ----------------------------------------------------------

    async def _poll_loop(self) -> None:
        while True:
            await self._next_change()
            await self._poll_once()

    async def _next_change(self) -> None:
        if self.changes is None:
            await asyncio.sleep(self.options.poll_interval)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RESYNC_INTERVAL):  # not wait_for: see speaker.supervision.cancel_all
                await self.changes.wait()
        self.changes.clear()  # before reading: a change during the read wakes us again

    async def _first_snapshot(self) -> bool:
        """Wait until the source was read once: peers must not hear of a speaker that knows nothing."""
        while True:
            await self._poll_once()
            if self.snapshot is not None:
                return True
            waiter = asyncio.ensure_future(self._next_change())
            stop = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait([waiter, stop], return_when=asyncio.FIRST_COMPLETED)
            await cancel_all([waiter, stop])
            if self._stop.is_set():
                return False

    async def _poll_once(self) -> None:
        try:
            snap = await asyncio.to_thread(self.source.snapshot)
        except ClusterSourceUnavailable as exc:
            if not self._unavailable:
                log.warning("cluster state unavailable, keeping the last known state: %s", exc)
            self._unavailable = True
            metrics.SOURCE_UNAVAILABLE.set(1)
            return
        self._unavailable = False
        metrics.SOURCE_UNAVAILABLE.set(0)
        if self.snapshot is not None and snap.revision == self.snapshot.revision:
            return
        if (
            self.snapshot is None
            or self.config is None
            or _config_inputs(snap) != _config_inputs(self.snapshot)
        ):
            self._load_config(snap)
        self.snapshot = snap
        ipv6 = ":" in self.options.membership_bind
        self.membership.set_peers(peers_from_snapshot(snap, self.options.membership_port, ipv6=ipv6))
        self._dirty.set()

    def _load_config(self, snap: ClusterSnapshot) -> None:
        previous = self.config_state
        reading = read_config(
            snap.config_map,
            snap.config_resources,
            namespace=self.options.config_namespace,
            name=self.options.configmap,
            secrets=snap.secrets,
        )
        self.config_state = judge(previous, reading)
        log_state(log, previous, self.config_state, f"in namespace {self.options.config_namespace}")
        metrics.CONFIG.show(self.config_state)
        if self._publish_config_state is not None:
            now = dt.datetime.now(dt.UTC)
            self._publish_config_state(
                configuration_report(self._config_tracker, self.config_state, now).status()
            )

    @property
    def config(self) -> Config | None:
        """The config in effect: the latest valid one, or the last good one."""
        return self.config_state.config

    @property
    def config_problem(self) -> str | None:
        """Why the latest config is not the one in use (missing, invalid); None when it is."""
        state = self.config_state
        if not state.stale:
            return None
        if state.missing:
            return "the ConfigMap does not exist and there is no ironlb.io config resource"
        return "invalid: " + "; ".join(p.in_object() for p in state.problems)

    def status(self, api_problem: str | None = None) -> SpeakerStatus:
        """What readiness is decided on (read from the probe server's thread: plain attribute reads)."""
        return SpeakerStatus(
            snapshot=self.snapshot is not None,
            config_loaded=self.config is not None,
            config_problem=self.config_problem,
            membership_started=self.membership_started,
            api_problem=api_problem,
            configmap=f"{self.options.config_namespace}/{self.options.configmap}",
        )

    # ---- decisions ----------------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self.reconcile()

    async def reconcile(self) -> None:
        if self.snapshot is None or self.config is None:
            return
        inputs = build_inputs(
            self.options.node,
            self.config,
            self.snapshot,
            self.membership.live,
            lb_class=self.options.lb_class,
        )
        announced: list[Announcement] = []
        for b in self.backends:
            announced.extend(await b.apply(inputs))
        self._publish(announced)
        self.events.update(self.options.node, announced, self.snapshot.services)
        if self.status_objects is not None:
            self.status_objects.update(
                self.options.node,
                announced,
                self.snapshot.services,
                view=membership_view(self.membership),
                nodes=node_names(self.snapshot),
            )

    async def _cleanup_loop(self) -> None:
        """Between reconciles, judge the membership's verdicts for stale status objects (cheap, no I/O)."""
        while True:
            await asyncio.sleep(CLEANUP_INTERVAL)
            if self.status_objects is not None and self.snapshot is not None:
                view = membership_view(self.membership)
                self.status_objects.judge(self.options.node, view, node_names(self.snapshot))

    def _publish(self, announced: Sequence[Announcement]) -> None:
        now: set[tuple[str, str, str, str]] = {(a.service, a.protocol, a.node, str(a.ip)) for a in announced}
        for labels in self._announced - now:
            metrics.SPEAKER_ANNOUNCED.remove(*labels)
        for labels in now - self._announced:
            metrics.SPEAKER_ANNOUNCED.labels(*labels).set(1)
        self._announced = now


async def amain(options: SpeakerOptions) -> int:
    assert options.membership_key_file is not None
    key = load_key(options.membership_key_file)
    loop = asyncio.get_running_loop()
    changes = asyncio.Event()
    probes = Probes(Heartbeat())
    beat = asyncio.create_task(probes.heartbeat.run(), name="heartbeat")
    server: ProbeServer | None = None

    def wake() -> None:  # from informer threads
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody to wake
            loop.call_soon_threadsafe(changes.set)

    try:
        server = serve(
            options.metrics_address, REGISTRY, liveness=probes.liveness, readiness=probes.readiness
        )
        cluster = await asyncio.to_thread(open_cluster, options, wake)
        probes.api_problem = cluster.api_problem
        try:
            membership = Membership(
                options.node,
                key,
                bind=options.membership_bind,
                port=options.membership_port,
                timing=options.membership_timing,
            )
            speaker = Speaker(
                options,
                cluster.source,
                membership,
                build_backends(options, membership),
                config_state=cluster.config_state,
                changes=changes if cluster.pushes_changes else None,
                events=NodeAssignedEvents(cluster.events),
                status_objects=(
                    ServiceStatusObjects(cluster.status_objects, cluster.status_cleanup)
                    if cluster.status_objects
                    else None
                ),
            )
            probes.speaker = speaker
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, speaker.request_stop)
            await speaker.run()
        finally:
            await asyncio.to_thread(cluster.close)
    finally:
        await cancel_all([beat])
        if server is not None:
            server.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_options(argv))


def run(options: SpeakerOptions) -> int:
    """Run the speaker until SIGTERM or SIGINT; returns the exit code."""
    logs.setup(options.log_format)
    log.info("speaker starting on node %s", options.node)
    try:
        return asyncio.run(amain(options))
    except CannotListen as exc:
        log.error("%s", listen_failure(exc))
        return 1
    except (OSError, ValueError) as exc:
        log.error("speaker failed: %s", exc)
        return 1
