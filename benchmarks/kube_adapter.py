"""The Kubernetes adapter against the API double: how fast its parts are on their own.

Run: ``.venv/bin/python benchmarks/kube_adapter.py`` (about 15 s).

Prints the informer's initial sync of N Services, watch delivery latency (create →
change reported, p50/p99), sequential status-patch cost through ``ServiceWriter``,
and Event recording throughput. These bound what ``benchmarks/controller.py`` can
show: a controller cannot be faster than the double answers.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from kubernetes import client

from ironlb.kube.cache import Change
from ironlb.kube.client import make_api_client
from ironlb.kube.events import IP_ALLOCATED, EventRecorder
from ironlb.kube.informer import Informer
from ironlb.kube.status import ServiceWriter
from tests.support.kubeapi import KubeApiServer, by_plural


def svc(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "bench"},
        "spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False, "ports": [{"port": 80}]},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--patches", type=int, default=2_000)
    ap.add_argument("--latency-samples", type=int, default=300)
    args = ap.parse_args()
    with TemporaryDirectory() as tmp, KubeApiServer() as server:
        api = make_api_client(str(server.write_kubeconfig(Path(tmp) / "kc")))
        core: Any = client.CoreV1Api(api)
        rt = by_plural("services")
        for i in range(args.services):
            server.store.create(rt, "bench", svc(f"s{i}"))

        seen: dict[str, float] = {}
        cond = threading.Condition()

        def on_change(change: Change) -> None:
            with cond:
                seen[change.key] = time.perf_counter()
                cond.notify_all()

        inf = Informer(
            "services",
            core.list_service_for_all_namespaces,
            kind="Service",
            api_version="v1",
            on_change=on_change,
        )
        t0 = time.perf_counter()
        inf.start()
        inf.wait_synced(120)
        print(f"informer initial sync of {args.services} Services: {time.perf_counter() - t0:.2f} s")

        lat = []
        for i in range(args.latency_samples):
            key = f"bench/lat{i}"
            start = time.perf_counter()
            core.create_namespaced_service("bench", svc(f"lat{i}"))
            with cond:
                cond.wait_for(lambda k=key: k in seen, 10)  # type: ignore[misc]
                lat.append((seen[key] - start) * 1000)
        q = statistics.quantiles(lat, n=100)
        print(f"create -> informer change: p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms ({len(lat)} samples)")

        writer = ServiceWriter(api)
        t0 = time.perf_counter()
        for i in range(args.patches):
            cached = inf.get(f"bench/s{i}")
            assert cached is not None
            writer.set_ingress(cached, [f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}"])  # type: ignore[arg-type]
        dt = time.perf_counter() - t0
        print(
            f"status patches (sequential, one client): {args.patches / dt:.0f}/s, "
            f"{dt / args.patches * 1000:.2f} ms each"
        )

        rec = EventRecorder(api, host="bench")
        t0 = time.perf_counter()
        for i in range(1000):
            rec.normal(inf.get(f"bench/s{i}") or {}, IP_ALLOCATED, f"Assigned IP {i}")
        rec.flush(120)
        print(f"events recorded: {1000 / (time.perf_counter() - t0):.0f}/s")
        rec.close()
        inf.stop()
        api.close()


if __name__ == "__main__":
    main()
