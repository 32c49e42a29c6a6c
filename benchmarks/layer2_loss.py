"""Layer-2 packet loss: how many pings a client loses when the Service IP's owner restarts or dies.

Issue 5 promises "a hard node failure healed in under one second, and a planned
restart healed with no lost packet"; ``benchmarks/layer2.py`` times gratuitous
ARPs, this script counts the packets. On the ``containerlab/layer2`` topology
(namespace runner) three real speakers announce one layer-2 Service IP; every
node holds the IP on ``lo`` with ``arp_ignore=1``/``arp_announce=2`` (as
kube-proxy IPVS does), so whichever node the client's neighbour entry points at
answers the ping, and only the speaker answers ARP. The client pings the IP
every ``--interval`` seconds; each trial runs its own ``ping`` and counts the
sequence numbers that got no reply:

- planned restart: SIGTERM the owner's speaker (it leaves the membership, the
  successor announces at once), start it again (it wins the IP back), wait until
  all three are live and the client's entry is back on the owner's MAC;
- node death: ``ip link set eth1 down`` inside the owner's namespace (the node
  is gone from the segment, no goodbye), wait until the client's entry is on the
  successor's MAC, bring the link back, wait until everything settled as above.

Prints lost packets and the outage (lost x interval) p50/max for both, plus the
longest gap between two replies, measured by ``tests.support.layer2_icmpprobe`` (an
ICMP echo sender with exact per-packet accounting; ``ping -i 0.01`` is paced
at ~16 ms by iputils, so its counts would misstate the outage). Both run twice
in one lab: with the membership timing before issue 11 and with today's
defaults, then side by side with the ratio now/before.

Usage (root): .venv/bin/python benchmarks/layer2_loss.py [--trials 10] [--interval 0.01]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ironlb.announce.layer2 import owner
from ironlb.lab.fixture import topology_path
from tests.support.layer2_lab import (
    TIMINGS,
    L2Lab,
    PingResult,
    endpoint_slice,
    ns_run,
    service,
    timing_flags,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]


VIP = "172.30.0.200"
SETTLE_TIMEOUT = 20.0


def successor(lab: L2Lab, old: str) -> str:
    new = owner(ipaddress.ip_address(VIP), [n for n in lab.node_names if n != old])
    assert new is not None
    return new


def settle(lab: L2Lab, node: str, what: str) -> None:
    """All speakers live and the client's entry on ``node``'s MAC, then a quiet second."""
    if not wait_for(lab.all_live, timeout=SETTLE_TIMEOUT, interval=0.1):
        raise RuntimeError(f"{what}: the membership did not recover")
    if not wait_for(lambda: lab.neigh(VIP) == lab.macs[node], timeout=SETTLE_TIMEOUT, interval=0.05):
        raise RuntimeError(f"{what}: the client's entry stayed on {lab.neigh(VIP)}, not {node}")
    time.sleep(1.0)


def restart_trial(lab: L2Lab, old: str) -> None:
    lab.stop_speaker(old, signal.SIGTERM)
    lab.start_speaker(old)
    settle(lab, old, "planned restart")


def node_death_trial(lab: L2Lab, old: str) -> None:
    new = successor(lab, old)
    ns_run(lab.ns(old), "ip", "link", "set", "eth1", "down")
    try:
        if not wait_for(lambda: lab.neigh(VIP) == lab.macs[new], timeout=10, interval=0.02):
            raise RuntimeError(f"node death: the client's entry never moved to {new}: {lab.neigh(VIP)}")
        time.sleep(0.5)
    finally:
        ns_run(lab.ns(old), "ip", "link", "set", "eth1", "up")
    settle(lab, old, "node death")


def run_trials(
    lab: L2Lab, label: str, trial: Callable[[L2Lab, str], None], n: int, interval: float
) -> list[PingResult]:
    results = []
    for i in range(n):
        old = owner(ipaddress.ip_address(VIP), lab.node_names)
        assert old is not None
        tag = f"{label.replace(' ', '-')}-{i}"
        watch = lab.watch_neigh(VIP, f"neigh-{tag}")
        try:
            ping = lab.start_ping(VIP, interval, f"ping-{tag}")
            try:
                time.sleep(0.5)
                trial(lab, old)
            finally:
                result = ping.stop()
        finally:
            macs = watch.stop()
        results.append(result)
        path = " -> ".join(lab.owner_by_mac(m) or m for m in [lab.macs[old], *macs])
        where = (
            f" (sent {result.lost_at[0]:.2f}-{result.lost_at[-1]:.2f} s into the trial)"
            if result.lost
            else ""
        )
        print(
            f"  {label} trial {i + 1}: {len(result.lost)} lost of {result.sent}{where}, "
            f"longest gap between replies {result.longest_gap * 1000:.0f} ms; client's entry {path}",
            flush=True,
        )
    return results


def summary(results: list[PingResult], interval: float) -> str:
    lost = [len(r.lost) for r in results]
    gaps = [r.longest_gap * 1000 for r in results]
    return (
        f"lost packets p50 {statistics.median(lost):g} max {max(lost)} (total {sum(lost)} of "
        f"{sum(r.sent for r in results)}); outage p50 {statistics.median(lost) * interval * 1000:.0f} ms "
        f"max {max(lost) * interval * 1000:.0f} ms; longest reply gap p50 {statistics.median(gaps):.0f} ms "
        f"max {max(gaps):.0f} ms; trials with loss {sum(1 for x in lost if x)}/{len(lost)}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--interval", type=float, default=0.01, help="seconds between pings")
    args = ap.parse_args()

    lab = L2Lab(topology_path("layer2"), prefix=f"l2loss{os.getpid() % 10000}")
    try:
        lab.up()
        lab.hold_vips(VIP)
        for n in lab.node_names:  # IPv6 addresses survive the link going down in node-death trials
            ns_run(lab.ns(n), "sysctl", "-qw", "net.ipv6.conf.eth1.keep_addr_on_down=1")
        lab.write_manifests([service("web", [VIP])], [endpoint_slice("web", ["node1"])])
        first = owner(ipaddress.ip_address(VIP), lab.node_names)
        assert first is not None
        results: dict[str, tuple[list[PingResult], list[PingResult]]] = {}
        for label, timing in TIMINGS.items():
            try:
                lab.start_all_speakers(timing_flags(timing), VIP)
                ns_run(lab.client, "ping", "-c", "3", "-i", "0.2", "-W", "1", VIP)
                settle(lab, first, "start")
                print(
                    f"[{label}] owner of {VIP}: {first}; ping every {args.interval * 1000:g} ms", flush=True
                )
                restarts = run_trials(
                    lab, f"[{label}] planned restart", restart_trial, args.trials, args.interval
                )
                deaths = run_trials(
                    lab, f"[{label}] node death", node_death_trial, args.trials, args.interval
                )
                results[label] = (restarts, deaths)
            finally:
                lab.stop_all_speakers()
        print(
            f"\n{args.trials} trials each, ping every {args.interval * 1000:g} ms from the client to {VIP} "
            "(before: membership timing before issue 11; now: today's defaults):"
        )
        for label, (restarts, deaths) in results.items():
            print(f"[{label}] planned restart (SIGTERM, start again): {summary(restarts, args.interval)}")
            print(f"[{label}] node death (owner's eth1 down, then up): {summary(deaths, args.interval)}")
        b = statistics.median(len(r.lost) for r in results["before"][1])
        n = statistics.median(len(r.lost) for r in results["now"][1])
        bmax = max(len(r.lost) for r in results["before"][1])
        nmax = max(len(r.lost) for r in results["now"][1])
        if b and bmax:
            print(f"node death outage, ratio now/before: p50 {n / b:.2f}, max {nmax / bmax:.2f}")
    finally:
        lab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
