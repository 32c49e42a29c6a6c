"""The controller's Prometheus metrics, in one place so names stay consistent with MetalLB's.

The convention of both programs (MetalLB keeps a ``stats.go`` per package): a package's
metrics are declared in its ``metrics.py`` and nowhere else, on the registry its program
serves with ``ironlb.probes.serve`` (``/metrics`` beside ``/healthz`` and ``/readyz``),
together with ``ironlb_build_info`` (``ironlb.build_info``). The speaker's live in the
process's default registry (one speaker per process); each controller gets its own
``CollectorRegistry``, because tests run two controllers in one process and each must
report its own leadership and writes. Pool usage is read from the allocator at scrape time
by a small collector, so it can never drift from the allocator's state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from controller.options import PROGRAM
from ironlb.allocator import PoolUsage
from ironlb.build_info import register_build_info
from ironlb.programs.configmetrics import ConfigGauges


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
        register_build_info(self.registry, PROGRAM)
        self.registry.register(_PoolCollector(pool_usage))
        self.updates = Counter(
            "ironlb_k8s_client_updates", "Writes of Service status and annotations", registry=self.registry
        )
        self.update_errors = Counter(
            "ironlb_k8s_client_update_errors",
            "Failed writes of Service status and annotations",
            registry=self.registry,
        )
        self.config = ConfigGauges.register(self.registry)
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
