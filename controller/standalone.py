"""``ironlb-controller --manifests DIR`` (or ``python -m controller.standalone``): no Kubernetes.

Why: the lab, demos and standalone users have no API server, only a directory
of manifests (Services, Namespaces, the ConfigMap, ``ironlb.io`` config resources...). This
mode runs the same decisions as the Kubernetes controller -- ``ironlb.programs.configstate``
for the config (ConfigMap and resources through ``load_config``; an invalid one never replaces
the last good one) and ``controller.reconciler.reconcile``
over one ``ironlb.allocator.Allocator`` -- and writes each Service's status and
pool annotation through ``ironlb.cluster.statusdir`` into ``DIR/.ironlb-status/``,
where the speakers' ``ManifestSource`` picks them up.

Order, as in the Kubernetes runtime: at start (first valid config) every Service
that already has IPs is adopted before anything new is handed out, so a restart
changes no IP; then pending Services are allocated; deleted ones are released
and their status files removed. The directory is polled (it has no watch); a
pass runs only when the manifests or the statuses changed. Events, which have
no object store here, are logged.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from controller.reconciler import Decision, reconcile, reconcile_remembering
from ironlb import services as svc
from ironlb.allocator import Allocator
from ironlb.allocator.adoption import adopt_services
from ironlb.allocator.settle import settle_services
from ironlb.allocator.translate import namespace_labels, request_from_service
from ironlb.cluster.manifests import DEFAULT_CONFIGMAP, DEFAULT_NAMESPACE, ManifestSource
from ironlb.cluster.seam import ClusterSnapshot, ClusterSourceUnavailable
from ironlb.cluster.statusdir import StatusDir, StatusRecord, normalize, overlay, records_digest
from ironlb.kube_types import Service
from ironlb.programs.configstate import ConfigState, judge, log_state, read_config

log = logging.getLogger(__name__)


class StandaloneController:
    """One allocator over a manifest directory; ``step`` converges it once."""

    def __init__(
        self,
        manifests: Path,
        *,
        config_namespace: str = DEFAULT_NAMESPACE,
        configmap: str = DEFAULT_CONFIGMAP,
        lb_class: str | None = None,
    ) -> None:
        self.source = ManifestSource(
            [manifests], config_namespace=config_namespace, config_name=configmap, status_overlays=False
        )
        self.statuses = StatusDir.of(manifests)
        self.config_namespace = config_namespace
        self.configmap = configmap
        self.lb_class = lb_class
        self.config_state = ConfigState()
        self.allocator: Allocator | None = None
        self._config_seen: object = object()  # the ConfigMap and resources last judged
        self._refused: dict[str, str] = {}
        self._known: set[str] = set()
        self._marker: tuple[str, bytes] | None = None
        self._namespaces: dict[str, dict[str, str]] = {}

    def step(self) -> bool:
        """Converge once; False when nothing changed since the last pass.

        Raises ``ClusterSourceUnavailable`` when the manifests cannot be read (nothing is changed).
        """
        snapshot = self.source.snapshot()
        records = self.statuses.read_all()
        marker = (snapshot.revision, records_digest(records))
        if marker == self._marker:
            return False
        self._namespaces = namespace_labels(snapshot.namespaces)
        self._judge(snapshot)
        if self.allocator is not None:
            self._converge(snapshot, records)
        self._marker = (snapshot.revision, records_digest(self.statuses.read_all()))
        return True

    # -- config ----------------------------------------------------------------------------------
    def _judge(self, snapshot: ClusterSnapshot) -> None:
        cm = snapshot.config_map
        if (cm, snapshot.config_resources) == self._config_seen:
            return
        self._config_seen = (cm, snapshot.config_resources)
        previous = self.config_state
        reading = read_config(
            cm, snapshot.config_resources, namespace=self.config_namespace, name=self.configmap
        )
        self.config_state = judge(previous, reading)
        log_state(log, previous, self.config_state, f"in namespace {self.config_namespace}")
        config = self.config_state.config
        if config is None or config is previous.config:
            return
        if self.allocator is None:
            self.allocator = Allocator(config)
            self._adopt(snapshot)
        else:
            for invalidation in self.allocator.set_config(config):
                log.info("%s: %s", invalidation.key, invalidation.reason)

    def _adopt(self, snapshot: ClusterSnapshot) -> None:
        """Keep every existing assignment before anything new is allocated."""
        assert self.allocator is not None
        services = self._current(snapshot, self.statuses.read_all()).values()
        adopted = adopt_services(
            self.allocator, services, self.lb_class, lambda s: request_from_service(s, self._namespaces)
        )
        kept, refused = len(adopted.kept), len(adopted.refused)
        log.info("adopted %d existing assignments (%d not adoptable)", kept, refused)

    # -- Services --------------------------------------------------------------------------------
    @staticmethod
    def _bases(snapshot: ClusterSnapshot) -> dict[str, Service]:
        return {svc.service_key(s): s for s in snapshot.services}

    def _current(self, snapshot: ClusterSnapshot, records: Mapping[str, StatusRecord]) -> dict[str, Service]:
        return {key: overlay(s, records.get(key)) for key, s in self._bases(snapshot).items()}

    def _converge(self, snapshot: ClusterSnapshot, records: Mapping[str, StatusRecord]) -> None:
        assert self.allocator is not None
        bases = self._bases(snapshot)
        records = dict(records)
        for key in sorted(self._known - set(bases)):
            reconcile(key, None, self.allocator, self.lb_class)
            self._refused.pop(key, None)
            log.info("%s: deleted; its IPs are free", key)
        current = self._current(snapshot, records)
        # Every Service without IPs is decided in one fixed order (as ironlb plan does); the
        # passes below then write it. Services without an IP first, then the rest.
        settle_services(self.allocator, current.values(), self.lb_class, self._namespaces)
        order = sorted(current, key=lambda k: (bool(svc.ingress_ips(current[k])), k))
        reprocess = self._pass(order, bases, records)
        for _ in range(3):  # freed IPs may unblock refused Services
            if not reprocess:
                break
            reprocess = self._pass(sorted(self._refused), bases, records)
        for key in self.statuses.prune(bases):
            log.info("%s: status of a Service that no longer exists removed", key)
        self._known = set(bases)

    def _pass(
        self, keys: Sequence[str], bases: Mapping[str, Service], records: dict[str, StatusRecord]
    ) -> bool:
        assert self.allocator is not None
        reprocess = False
        for key in keys:
            base = bases.get(key)
            if base is None:
                continue
            decision = reconcile_remembering(
                key,
                overlay(base, records.get(key)),
                self.allocator,
                self.lb_class,
                self._refused,
                namespaces=self._namespaces,
            )
            reprocess = reprocess or decision.sync == "reprocess-all"
            self._write(base, records, decision)
        return reprocess

    def _write(self, base: Service, records: dict[str, StatusRecord], decision: Decision) -> None:
        key = decision.key
        old = records.get(key)
        merged = StatusRecord(
            key,
            (old.ingress if old else None) if decision.ingress is None else decision.ingress,
            {**(old.annotations if old else {}), **decision.annotations},
        )
        new = normalize(base, merged)
        if new != old:
            if new is None:
                self.statuses.remove(key)
                records.pop(key, None)
            else:
                self.statuses.write(new)
                records[key] = new
            ips = svc.ingress_ips(overlay(base, new))
            if ips:
                log.info("%s: %s", key, ", ".join(str(ip) for ip in ips))
            else:
                log.info("%s: load-balancer status cleared", key)
        for event in decision.events:
            level = logging.WARNING if event.type == "Warning" else logging.INFO
            log.log(level, "event %s %s on %s: %s", event.type, event.reason, key, event.message)


def run(
    manifests: Path,
    stop: threading.Event,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    configmap: str = DEFAULT_CONFIGMAP,
    lb_class: str | None = None,
    poll_interval: float = 0.2,
) -> int:
    """Converge ``manifests`` every ``poll_interval`` seconds until ``stop`` is set."""
    controller = StandaloneController(
        manifests, config_namespace=namespace, configmap=configmap, lb_class=lb_class
    )
    log.info("standalone controller on %s", manifests)
    unavailable = False
    while True:
        try:
            controller.step()
            unavailable = False
        except ClusterSourceUnavailable as exc:
            if not unavailable:
                log.warning("manifests unreadable, changing nothing until they are: %s", exc)
            unavailable = True
        if stop.wait(poll_interval):
            break
    log.info("standalone controller stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m controller.standalone ARGS``: ``ironlb-controller ARGS`` with ``--manifests`` required."""
    from controller.__main__ import main as program

    return program(argv, manifests_required=True)


if __name__ == "__main__":
    sys.exit(main())
