"""Membership at 100 and 1,000 nodes: traffic per speaker (steady and on a death), and detection time.

Runs the real SWIM state machine on the simulated network of the tests
(``tests.support.layer2_simnet``: fake time, every datagram encoded and authenticated by
``speaker.membership.wire`` exactly as a speaker sends it), with node names and
incarnations shaped like real ones (``ip-10-0-3-17.ec2.internal``, incarnation =
start time in milliseconds). For each cluster size and timing (before issue 11,
today's defaults), prints what one speaker sends per second on average:

- steady: a healthy cluster, once the start-up exchange (every speaker
  learning and retelling every other's incarnation) is over;
- death: the 2 s after one node stops (its suspicion and death spread, probes
  of it fail, helpers are asked).

Bytes are UDP payloads (JSON + 32-byte HMAC tag) plus 42 bytes of Ethernet,
IPv4 and UDP headers. A speaker receives about what it sends (each ping is
answered by an ack). The figures do not depend on the number of nodes beyond
the size of node names: one probe per interval, answers to about as many, and
a few pushes per membership change: O(1) per node per period.

Then, with today's defaults, how long after a node stops the first speaker
counts it out (its IPs move) and the last one does, over --detect-trials
(fake time, in steps of 5 ms): a large cluster waits longer for the first
probe of the dead node than three nodes do.

Usage: .venv/bin/python benchmarks/membership_traffic.py [--sizes 100 1000] [--seconds 5]
       [--detect-trials 20] [--detect-sizes 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from speaker.failover import LEGACY_TIMING, Timing
from tests.support.layer2_simnet import Net

ROOT = Path(__file__).resolve().parents[1]


HEADERS = 14 + 20 + 8
TIMINGS = {"before": LEGACY_TIMING, "now": Timing()}


def names(n: int) -> list[str]:
    return [f"ip-10-0-{i // 250}-{i % 250 + 1}.ec2.internal" for i in range(n)]


def sent(net: Net) -> dict[str, list[int]]:
    return {k: list(v) for k, v in net.datagrams.items()}


def rate(before: dict[str, list[int]], after: dict[str, list[int]], seconds: float) -> tuple[float, float]:
    """Mean packets/s and bytes/s one speaker sent between two snapshots."""
    packets, sizes = [], []
    for name, now in after.items():
        new = now[len(before.get(name, [])) :]
        packets.append(len(new) / seconds)
        sizes.append(sum(b + HEADERS for b in new) / seconds)
    return statistics.mean(packets), statistics.mean(sizes)


def measure(n: int, timing: Timing, seconds: float) -> dict[str, tuple[float, float]]:
    net = Net(seed=1, timing=timing, max_latency=0.001)
    net.populate(names(n), incarnation=int(time.time() * 1000))
    # start-up: everyone learns everyone's incarnation and retells it a few times
    net.run(1.0)
    net.until(lambda: not any(s._gossip for s in net.nodes.values()), limit=60.0)
    s0 = sent(net)
    net.run(seconds)
    s1 = sent(net)
    net.stopped.add(names(n)[-1])
    net.run(2.0)
    s2 = sent(net)
    return {"steady": rate(s0, s1, seconds), "death": rate(s1, s2, 2.0)}


def detection(n: int, seed: int) -> tuple[float, float]:
    """Seconds from a node stopping until the first, then the last, speaker counts it out."""
    net = Net(seed=seed, max_latency=0.001)
    net.populate(names(n), incarnation=int(time.time() * 1000))
    net.run(1.0 + seed * 0.0137)  # a different phase of the probe rounds each time
    net.until(lambda: not any(s._gossip for s in net.nodes.values()), limit=60.0)
    victim = names(n)[-1]
    net.stopped.add(victim)

    def out() -> list[bool]:
        return [victim not in net.nodes[m].live() for m in net.running()]

    first = net.until(lambda: any(out()), limit=10.0)
    last = net.until(lambda: all(out()), limit=10.0)
    assert first is not None and last is not None
    return first, first + last


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--detect-trials", type=int, default=20)
    ap.add_argument("--detect-sizes", type=int, nargs="+", default=[100], help="(1,000 nodes take minutes)")
    args = ap.parse_args()
    for n in args.sizes:
        results = {label: measure(n, t, args.seconds) for label, t in TIMINGS.items()}
        for phase in ("steady", "death"):
            (bp, bb), (np_, nb) = results["before"][phase], results["now"][phase]
            print(
                f"{n} nodes, {phase}: per speaker sent before {bp:.1f} packets/s, {bb / 1000:.2f} kB/s; "
                f"now {np_:.1f} packets/s, {nb / 1000:.2f} kB/s (ratio now/before {nb / bb:.2f})",
                flush=True,
            )
    for n in args.detect_sizes:
        firsts, lasts = zip(*(detection(n, seed) for seed in range(args.detect_trials)), strict=True)
        print(
            f"{n} nodes, a node stops: counted out by the first speaker after p50 "
            f"{statistics.median(firsts) * 1000:.0f} ms, max {max(firsts) * 1000:.0f} ms; by the last after "
            f"p50 {statistics.median(lasts) * 1000:.0f} ms, max {max(lasts) * 1000:.0f} ms "
            f"({args.detect_trials} trials, fake time)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
