"""What bounds the controller on a real kube-apiserver: round trips, JSON decoding, cache memory.

Run (as root, under the heavy-run lock)::

    KUBEBUILDER_ASSETS=/root/.cache/ironlb/k8s flock /tmp/ironlb-heavy.lock \\
        .venv/bin/python benchmarks/controller_bounds.py [--services 5000]

On a fresh etcd + kube-apiserver with N LoadBalancer Services, prints:

1. a status merge patch (what the controller sends per allocation): round trip one at a
   time, this process's CPU per request (the Python client: urllib3, JSON both ways), and
   the API server's + etcd's CPU per request; then throughput with 1, 4, 8, 16 threads;
2. the same for creating an Event (the controller's second request per allocation);
3. a LIST of every Service: bytes per Service on the wire, ``json.loads`` per Service, and
   the client's model deserialisation (``V1ServiceList``) per Service for comparison;
4. memory per cached Service (``tracemalloc``): the whole object as the API server sends it
   vs ``ironlb.services.allocation_view`` (what the controller's informer keeps).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ctlmeasure import cpu_seconds

from ironlb.services import allocation_view
from tests.support.controlplane import ControlPlane, assets_problem

MERGE = "application/merge-patch+json"


def lb(ns: str, name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": ns, "annotations": {"team": "bench"}},
        "spec": {
            "type": "LoadBalancer",
            "loadBalancerClass": "ironlb",
            "allocateLoadBalancerNodePorts": False,
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
        },
    }


def server_cpu(cp: ControlPlane) -> float:
    return sum(cpu_seconds(pid) for pid in cp.pids.values())


def timed_requests(
    cp: ControlPlane, calls: list[Any], threads: int
) -> tuple[float, float, float, list[float]]:
    """(wall s, this process's CPU s, server CPU s, per-call latencies) for running ``calls``."""
    lat: list[float] = []
    lock = threading.Lock()

    def one(call: Any) -> None:
        t = time.perf_counter()
        call()
        with lock:
            lat.append(time.perf_counter() - t)

    s0, c0, t0 = server_cpu(cp), time.process_time(), time.perf_counter()
    if threads == 1:
        for call in calls:
            one(call)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, calls))
    return time.perf_counter() - t0, time.process_time() - c0, server_cpu(cp) - s0, lat


def report(what: str, n: int, wall: float, cpu: float, server: float, lat: list[float]) -> None:
    lat.sort()
    print(
        f"  {what}: {n / wall:6.0f}/s, p50 {statistics.median(lat) * 1000:5.1f} ms,"
        f" p99 {lat[int(0.99 * (len(lat) - 1))] * 1000:5.1f} ms; CPU per request: client"
        f" {cpu / n * 1000:.2f} ms, API server + etcd {server / n * 1000:.2f} ms"
    )


def cache_size(pages: list[bytes], keep: Any) -> int:
    """Bytes a cache holds after decoding ``pages`` as the informer does and keeping ``keep(item)``."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = [keep(o) for p in pages for o in json.loads(p)["items"]]
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return after - before


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=5000)
    ap.add_argument("--requests", type=int, default=800, help="writes per measurement")
    args = ap.parse_args()
    if assets_problem():
        print(assets_problem(), file=sys.stderr)
        return 2
    n = args.services
    with ControlPlane() as cp:
        api = cp.admin_client()
        core: Any = client.CoreV1Api(api)
        ns = cp.new_namespace("bounds")
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda i: core.create_namespaced_service(
                        ns, lb(ns, f"s-{i:05d}"), _preload_content=False
                    ).read(),
                    range(n),
                )
            )
        print(f"real kube-apiserver + etcd, {n} LoadBalancer Services; 2 cores shared by all")

        print("1. status merge patch (one per allocation), raw JSON in and out:")
        k = min(args.requests, n)
        ip = iter(range(1, 10**9))

        def patch(i: int) -> Any:
            def call() -> None:
                body = {
                    "status": {"loadBalancer": {"ingress": [{"ip": f"198.18.{next(ip) % 250}.{i % 250}"}]}}
                }
                core.patch_namespaced_service_status(
                    f"s-{i:05d}", ns, body, _content_type=MERGE, _preload_content=False
                ).read()

            return call

        for threads in (1, 4, 8, 16):
            report(f"{threads:2d} thread(s)", k, *timed_requests(cp, [patch(i) for i in range(k)], threads))

        print("2. Event create (one per allocation):")
        stamp = "2026-01-01T00:00:00Z"

        def event(i: int) -> Any:
            body = {
                "metadata": {"name": f"s-{i:05d}.{time.time_ns():x}", "namespace": ns},
                "involvedObject": {
                    "kind": "Service",
                    "apiVersion": "v1",
                    "namespace": ns,
                    "name": f"s-{i:05d}",
                },
                "type": "Normal",
                "reason": "IPAllocated",
                "message": 'Assigned IP ["198.18.0.1"]',
                "source": {"component": "bench"},
                "firstTimestamp": stamp,
                "lastTimestamp": stamp,
                "count": 1,
            }
            return lambda: core.create_namespaced_event(ns, body, _preload_content=False).read()

        for threads in (1, 8):
            report(f"{threads:2d} thread(s)", k, *timed_requests(cp, [event(i) for i in range(k)], threads))

        print(f"3. LIST of {n} Services (pages of 500):")
        pages: list[bytes] = []
        token = None
        t = time.perf_counter()
        while True:
            kw: dict[str, Any] = {"limit": 500, "_preload_content": False}
            if token:
                kw["_continue"] = token
            resp = core.list_namespaced_service(ns, **kw)
            pages.append(resp.data)
            token = json.loads(resp.data)["metadata"].get("continue")
            if not token:
                break
        wall = time.perf_counter() - t
        wire = sum(len(p) for p in pages)
        t = time.process_time()
        items = [o for p in pages for o in json.loads(p)["items"]]
        decode = time.process_time() - t
        t = time.process_time()
        for p in pages:
            api.deserialize(p.decode(), "V1ServiceList", "application/json")
        models = time.process_time() - t
        print(
            f"  {wall:.2f} s wall; {wire / n:.0f} bytes per Service on the wire; json.loads"
            f" {decode / n * 1e6:.0f} µs per Service; the client's models {models / n * 1e6:.0f} µs"
            f" per Service ({models / max(decode, 1e-9):.0f}x)"
        )

        print("4. memory per cached Service (tracemalloc, decoded page by page as the informer does):")
        del items
        size_full, size_view = cache_size(pages, lambda o: o), cache_size(pages, allocation_view)
        print(
            f"  whole object {size_full / n:.0f} B; allocation_view {size_view / n:.0f} B"
            f" ({size_full / size_view:.1f}x less); for {n} Services {size_full / 2**20:.1f} MiB"
            f" vs {size_view / 2**20:.1f} MiB"
        )
        api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
