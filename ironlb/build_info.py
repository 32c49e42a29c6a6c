"""The ``ironlb_build_info`` metric: which version each process runs, as Prometheus users expect.

Why: the convention (``prometheus_build_info``, ``node_exporter_build_info``, ...)
is a gauge that is always 1 and carries the build as labels, so that a dashboard
or an alert can join any series on it (``* on(pod) group_left(version)``) and a
rolling upgrade shows as two label sets. Each program registers it once on the
registry it serves.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from ironlb.version import python_version, version

METRIC = "ironlb_build_info"
LABELS = ("version", "python_version", "program")


def register_build_info(registry: CollectorRegistry, program: str) -> Gauge:
    """Register ``ironlb_build_info{version,python_version,program} 1`` on ``registry``.

    ``program`` names the process (``ironlb-controller``, ``ironlb-speaker``).
    Registering twice on one registry raises ``ValueError`` (prometheus_client's
    duplicate check), as for any metric.
    """
    gauge = Gauge(
        METRIC,
        "Always 1; the labels say which ironlb build this process runs.",
        LABELS,
        registry=registry,
    )
    gauge.labels(version=version(), python_version=python_version(), program=program).set(1)
    return gauge
