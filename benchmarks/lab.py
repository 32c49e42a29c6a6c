"""Benchmark: bring the bgp-ecmp lab up until every BGP session is Established, and tear it down.

Run as root: ``.venv/bin/python benchmarks/lab.py [--runs N] [--topology bgp-ecmp]``.
Per run it measures
  up          namespaces, links, exec entries, FRR started (``Lab.up``),
  established up + one ExaBGP speaker started on each node + all sessions Established,
  down        everything stopped and removed (``Lab.down``),
and prints each run and the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from ironlb.lab import procs
from ironlb.lab.exabgp import exabgp_config, start_exabgp
from ironlb.lab.fixture import topology_path
from ironlb.lab.runner import Lab
from ironlb.lab.topology import load_topology

ROUTER = "172.30.0.1"
NODES = {"node1": "172.30.0.11", "node2": "172.30.0.12", "node3": "172.30.0.13"}


def one_run(topology_name: str, index: int) -> tuple[float, float, float]:
    lab = Lab(load_topology(topology_path(topology_name)), instance=f"bench-{os.getpid()}-{index}")
    start = time.perf_counter()
    try:
        lab.up()
        up = time.perf_counter() - start
        for node, address in NODES.items():
            config = exabgp_config(
                local_address=address, peer_address=ROUTER, local_as=64513, peer_as=64512,
                announce=["198.51.100.0/24"],
            )  # fmt: skip
            start_exabgp(lab, node, config)
        lab.wait_established(NODES.values(), timeout=60)
        established = time.perf_counter() - start
    finally:
        down_start = time.perf_counter()
        lab.down()
        down = time.perf_counter() - down_start
    return up, established, down


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--topology", default="bgp-ecmp")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    procs.set_child_subreaper(True)
    results = []
    print(f"lab {args.topology}: {len(NODES)} ExaBGP speakers -> FRR, {args.runs} runs")
    print(f"{'run':>4} {'up (s)':>8} {'up+Established (s)':>20} {'down (s)':>9}")
    for index in range(args.runs):
        up, established, down = one_run(args.topology, index)
        results.append((up, established, down))
        print(f"{index:>4} {up:>8.3f} {established:>20.3f} {down:>9.3f}")
    med = [statistics.median(column) for column in zip(*results, strict=True)]
    print(f"{'med':>4} {med[0]:>8.3f} {med[1]:>20.3f} {med[2]:>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
