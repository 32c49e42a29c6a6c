"""What the controller exposes on its metrics port: Prometheus metrics, ``/healthz``, ``/readyz``.

Metric names follow MetalLB's where the meaning is the same. Each controller gets
its own ``CollectorRegistry`` (never the process-wide default), so tests can run
two controllers in one process. Pool usage is read from the allocator at scrape
time by a small collector, so it can never drift from the allocator's state.

The HTTP server is the one the speaker uses too (``ironlb.probes``: metrics and probes
on one port); the exposition itself is prometheus-client's ``generate_latest``.
A 503 ``/readyz`` says why in its body (the API server cannot be used, not listed yet,
no valid config): the kubelet only sees the 503, a person asking the port sees the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ironlb.allocator import PoolUsage
from ironlb.probes import ProbeServer

log = logging.getLogger(__name__)


class _PoolCollector(Collector):
    def __init__(self, usage: Callable[[], Mapping[str, PoolUsage]]) -> None:
        self._usage = usage

    def collect(self) -> Iterator[GaugeMetricFamily]:
        usage = self._usage()
        total = GaugeMetricFamily(
            "ironlb_allocator_addresses_total", "Usable IP addresses in each pool", labels=["pool"]
        )
        in_use = GaugeMetricFamily(
            "ironlb_allocator_addresses_in_use_total", "IP addresses in use in each pool", labels=["pool"]
        )
        for pool, u in usage.items():
            total.add_metric([pool], float(u.size))
            in_use.add_metric([pool], float(u.in_use))
        yield total
        yield in_use


class ControllerMetrics:
    def __init__(
        self,
        *,
        pool_usage: Callable[[], Mapping[str, PoolUsage]],
        is_leader: Callable[[], bool],
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self.registry.register(_PoolCollector(pool_usage))
        self.updates = Counter(
            "ironlb_k8s_client_updates", "Writes of Service status and annotations", registry=self.registry
        )
        self.update_errors = Counter(
            "ironlb_k8s_client_update_errors",
            "Failed writes of Service status and annotations",
            registry=self.registry,
        )
        self.config_loaded = Gauge(
            "ironlb_config_loaded_bool", "1 when a valid config has been loaded", registry=self.registry
        )
        self.config_stale = Gauge(
            "ironlb_config_stale_bool",
            "1 when the latest config is invalid or missing and the last good one is in use",
            registry=self.registry,
        )
        self.client_errors = Counter(
            "ironlb_k8s_client_errors",
            "Requests to the API server that failed for a reason retrying alone will not fix: "
            "tls (certificate did not verify), unauthorized (401), forbidden (403)",
            ["reason"],
            registry=self.registry,
        )
        for reason in ("tls", "unauthorized", "forbidden"):
            self.client_errors.labels(reason)  # exported as 0 until it happens
        leader = Gauge(
            "ironlb_leader_bool", "1 when this replica is the active leader", registry=self.registry
        )
        leader.set_function(lambda: 1.0 if is_leader() else 0.0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """Serves ``/metrics``, ``/healthz`` and ``/readyz`` from a daemon thread."""

    def __init__(
        self,
        host: str,
        port: int,
        metrics: ControllerMetrics,
        *,
        healthy: Callable[[], bool],
        readiness: Callable[[], str | None],
    ) -> None:
        """``readiness`` returns None when ready, else why not (the body of a 503 ``/readyz``)."""
        self._server = ProbeServer(
            host,
            port,
            metrics=lambda _accept: (metrics.exposition(), CONTENT_TYPE_LATEST),
            liveness=lambda: None if healthy() else "unhealthy",
            readiness=readiness,
        )

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> MetricsServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
