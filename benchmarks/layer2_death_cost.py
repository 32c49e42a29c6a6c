"""What re-announcing on every death would cost: gratuitous frames per death, today and proposed.

The gap it would close (``tests/announce/test_ownership_partitions.py``, "Not covered"):
a node cut off with the client takes every IP, announces each once, and dies before
the heal; the client stays on the dead node until its own neighbour probe fails. The
proposal: when the membership declares a node dead, every live node re-announces,
with the usual repeats, every IP it owns (a cut-off node may have taken any of them).

Runs the real ``GratuitousSchedule`` of each survivor in fake time over ``--ips``
IPv4 addresses (a gratuitous ARP is a request and a reply: 2 frames; an IPv6
unsolicited NA is 1) on ``--nodes`` nodes, with today's timing: the start-up
bursts are drained, then one node dies and what the survivors send in the next
10 s is counted. "today": the failover (the dead node's share); "proposed": the
same plus every owned IP announced again (a burst as after a comeback).

Usage: .venv/bin/python benchmarks/layer2_death_cost.py [--ips 1000] [--nodes 3 4 8]
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

from ironlb.announce.layer2 import owner
from ironlb.config.model import IPAddress
from speaker.failover import GratuitousTiming, Standing
from speaker.layer2.gratuitous import GratuitousSchedule

FRAMES_PER_ANNOUNCEMENT = 2  # IPv4: gratuitous ARP request and reply
STEP = 0.01


def owned(me: str, ips: list[IPAddress], live: frozenset[str]) -> dict[IPAddress, str | None]:
    return {ip: owner(ip, live - {me}) for ip in ips if owner(ip, live) == me}


def drain(schedules: dict[str, GratuitousSchedule], start: float, seconds: float) -> tuple[int, float]:
    """Run the schedules for ``seconds``: announcements sent, and when the last one went."""
    sent, last, now = 0, start, start
    while now < start + seconds:
        for s in schedules.values():
            due = s.due(now)
            if due:
                sent, last = sent + len(due), now
        now += STEP
    return sent, last - start


def death(n_nodes: int, ips: list[IPAddress], *, reannounce: bool) -> tuple[int, float]:
    nodes = [f"node{i}" for i in range(n_nodes)]
    live = frozenset(nodes)
    timing = GratuitousTiming()
    schedules = {n: GratuitousSchedule(n, timing) for n in nodes}
    up = Standing(in_touch=True)
    for n, s in schedules.items():
        s.update(0.0, owned(n, ips, live), live, up)
    drain(schedules, 0.0, 10.0)
    dead = nodes[0]
    del schedules[dead]
    after = live - {dead}
    back = Standing(in_touch=True, comebacks=1) if reannounce else up
    for n, s in schedules.items():
        s.update(10.0, owned(n, ips, after), after, back)
    return drain(schedules, 10.0, 10.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ips", type=int, default=1000)
    ap.add_argument("--nodes", type=int, nargs="+", default=[3, 4, 8])
    args = ap.parse_args(argv)
    base = ipaddress.ip_address("10.96.0.0")
    ips: list[IPAddress] = [base + i for i in range(args.ips)]
    print(f"gratuitous frames sent by the survivors in the 10 s after one death, {args.ips} IPv4 IPs")
    print(f"{'nodes':>5} {'today':>8} {'proposed':>9} {'ratio':>6} {'last frame (s)':>15}")
    for n in args.nodes:
        today, _ = death(n, ips, reannounce=False)
        proposed, lasted = death(n, ips, reannounce=True)
        t, p = today * FRAMES_PER_ANNOUNCEMENT, proposed * FRAMES_PER_ANNOUNCEMENT
        print(f"{n:>5} {t:>8} {p:>9} {p / max(t, 1):>5.1f}x {lasted:>15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
