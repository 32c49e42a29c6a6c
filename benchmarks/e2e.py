"""Benchmark: the whole system on bgp-ecmp, from a Service manifest to a client's answer and back.

Run as root: ``.venv/bin/python benchmarks/e2e.py [--rounds N] [--topology bgp-ecmp]``.
Brings the lab up with ironlb (``ironlb.lab.system``: standalone controller, a speaker
per node, test backends), then per round writes one new Service manifest into the
lab's cluster directory and measures from that write:
  status    the controller's status (LoadBalancer IP) is visible to the speakers,
  route     the router's kernel FIB has the IP with one next hop per node,
  answer    the client gets an HTTP answer from the IP,
then deletes the manifest and measures
  withdraw  the route is gone from the router's FIB.
Prints p50/p99/max of each, plus the time to bring the lab and ironlb up.

The observer polls by running ``ip``/``curl`` inside the namespaces (each poll costs
~5-30 ms), so figures carry that resolution; the programs themselves poll the
manifest directory every 0.1 s (controller, speakers, node agents).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

from ironlb.lab import procs
from ironlb.lab.fixture import running_lab, topology_path
from ironlb.lab.runner import Lab
from ironlb.lab.system import IronlbSystem
from tests.support.bgp_lab import fib_nexthops

HOPS = frozenset({"172.30.0.11", "172.30.0.12", "172.30.0.13"})


def until(start: float, check: Callable[[], bool], timeout: float = 20.0) -> float:
    while not check():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("condition not reached")
        time.sleep(0.005)
    return time.perf_counter() - start


def manifest(i: int) -> list[dict[str, object]]:
    name = f"bench{i}"
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
         "spec": {"type": "LoadBalancer", "clusterIP": f"10.96.1.{i % 250 + 1}",
                  "ports": [{"port": 80, "protocol": "TCP"}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": f"{name}-1", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": name}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.244.0.9"], "conditions": {"ready": True}, "nodeName": "node1"}]},
    ]  # fmt: skip


def lb_ip(system: IronlbSystem, name: str) -> str | None:
    for s in system.source().snapshot().services:
        if s["metadata"]["name"] == name:
            ingress = ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            return ingress[0]["ip"] if ingress else None
    return None


def has_ip(system: IronlbSystem, name: str) -> bool:
    return lb_ip(system, name) is not None


def routed(lab: Lab, ip: str) -> bool:
    return fib_nexthops(lab, ip) == HOPS


def withdrawn(lab: Lab, ip: str) -> bool:
    return not fib_nexthops(lab, ip)


def answered(lab: Lab, ip: str) -> bool:
    return bool(lab.exec("client", ["curl", "-s", "-m", "0.5", f"http://{ip}/"]).stdout.strip())


def summary(label: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    p50 = statistics.median(ms)
    return f"{label:<9} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  max {ms[-1]:7.1f} ms  (n={len(ms)})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--topology", default="bgp-ecmp")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    procs.set_child_subreaper(True)
    results: dict[str, list[float]] = {"status": [], "route": [], "answer": [], "withdraw": []}
    start = time.perf_counter()
    with running_lab(topology_path(args.topology), instance=f"bench-e2e-{os.getpid()}") as lab:
        system = IronlbSystem(lab).start()
        system.wait_ready(timeout=60)
        ready = time.perf_counter() - start
        print(f"lab + ironlb up, sessions Established, demo Service assigned: {ready:.2f} s")
        for i in range(args.rounds):
            name = f"bench{i}"
            t0 = time.perf_counter()
            system.apply(name, manifest(i))
            results["status"].append(until(t0, partial(has_ip, system, name)))
            ip = lb_ip(system, name)
            assert ip is not None
            results["route"].append(until(t0, partial(routed, lab, ip)))
            results["answer"].append(until(t0, partial(answered, lab, ip)))
            t1 = time.perf_counter()
            system.delete(name)
            results["withdraw"].append(until(t1, partial(withdrawn, lab, ip)))
    for label, values in results.items():
        print(summary(label, values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
