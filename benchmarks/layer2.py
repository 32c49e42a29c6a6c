"""Layer-2 speaker benchmark: failover, graceful handoff, false failovers, throughput, reply latency.

Runs three real speakers on the ``containerlab/layer2`` topology (namespace
runner: a bridge, three nodes, one client), once with the membership timing
before issue 11 (``LEGACY_TIMING``, passed as flags) and once with today's
defaults, and prints for each, then side by side with the ratio now/before:

- idle speaker CPU;
- false failovers: membership suspicions, confirmed suspicions (IPs moved) and
  deaths while --hogs busy loops compete for the CPUs for --load-seconds, and
  the gratuitous ARPs the client saw meanwhile (each one an IP that moved);
- hard failure: SIGKILL of the owner's speaker → first gratuitous ARP from the
  new owner seen on the client (p50/p99 over --trials);
- graceful handoff: SIGTERM → the same.

Then, once (today's defaults): throughput (share of ARP requests answered at
--rate requests/s, and replies/s under a flood, raw-socket sender in the client
namespace) and the reply latency of the speaker vs the kernel answering for an
address configured on a node's interface, as a ratio in one run.

Usage (root): .venv/bin/python benchmarks/layer2.py [--trials 20] [--load-seconds 60]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ironlb.announce.layer2 import owner
from ironlb.lab.fixture import topology_path
from speaker.failover import Timing
from tests.support.layer2_lab import TIMINGS, L2Lab, endpoint_slice, ns_run, service, timing_flags, wait_for

ROOT = Path(__file__).resolve().parents[1]


PROBE = str(ROOT / "benchmarks" / "l2probe.py")
VIP = "172.30.0.200"
KERNEL_IP = "172.30.0.250"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def failover_trial(lab: L2Lab, sig: int) -> float | None:
    old = owner(ipaddress.ip_address(VIP), lab.node_names)
    new = owner(ipaddress.ip_address(VIP), [n for n in lab.node_names if n != old])
    assert old and new
    sniffer = subprocess.Popen(
        ["ip", "netns", "exec", lab.client, sys.executable, PROBE, "garp", VIP, lab.macs[new], "5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sniffer.stdout is not None
    sniffer.stdout.readline()  # "ready"
    t0 = time.monotonic()
    lab.speakers[old].send_signal(sig)
    line = sniffer.stdout.readline().strip()
    sniffer.wait()
    lab.stop_speaker(old, signal.SIGKILL)
    lab.start_speaker(old)
    if not wait_for(lab.all_live, timeout=20, interval=0.2):
        raise RuntimeError("cluster did not recover after a trial")
    time.sleep(0.5)
    return None if line == "timeout" else float(line) - t0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric_sum(lab: L2Lab, name: str) -> float:
    total = 0.0
    for n in lab.node_names:
        for line in lab.metrics(n).splitlines():
            if line.startswith(name + " "):
                total += float(line.split()[1])
    return total


def false_alarms(lab: L2Lab, hogs: int, seconds: float) -> tuple[dict[str, float], dict[str, int]]:
    """Membership counters, and the gratuitous ARPs the client saw, while ``hogs`` busy loops run."""
    names = (
        "ironlb_membership_suspicions_total",
        "ironlb_membership_confirmed_suspicions_total",
        "ironlb_membership_deaths_total",
    )
    before = [metric_sum(lab, n) for n in names]
    watch = subprocess.Popen(
        ["ip", "netns", "exec", lab.client, sys.executable, PROBE, "watch", VIP, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert watch.stdout is not None
    watch.stdout.readline()  # "ready"
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(hogs)]
    try:
        seen: dict[str, int] = json.loads(watch.stdout.readline())
    finally:
        for p in procs:
            p.kill()
            p.wait()
        watch.wait()
    after = [metric_sum(lab, n) for n in names]
    counts = {
        n.split("_", 2)[2].removesuffix("_total"): a - b for n, a, b in zip(names, after, before, strict=True)
    }
    return counts, seen


def describe_alarms(counts: dict[str, float], seen: dict[str, int]) -> str:
    moved = sum(seen.values())
    return (
        f"{counts['deaths']:.0f} false deaths, {counts['confirmed_suspicions']:.0f} confirmed suspicions "
        f"(IPs moved), {counts['suspicions']:.0f} suspicions; {moved} gratuitous ARPs at the client"
    )


def failovers(times: list[float], trials: int) -> str:
    if not times:
        return f"no gratuitous ARP seen in {trials} trials"
    missed = trials - len(times)
    return (
        f"p50 {statistics.median(times) * 1000:.0f} ms, p99 {pct(times, 99) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms over {len(times)} trials"
        + (f" ({missed} without a gratuitous ARP within 5 s)" if missed else "")
    )


def run_timing(lab: L2Lab, label: str, t: Timing, args: argparse.Namespace) -> dict[str, object]:
    """Start the speakers with timing ``t``, measure, stop them; prints as it goes."""
    try:
        lab.start_all_speakers(timing_flags(t), VIP)
        out: dict[str, object] = {}
        before = {n: cpu_seconds(p.pid) for n, p in lab.speakers.items()}
        time.sleep(10)
        out["idle"] = max((cpu_seconds(p.pid) - before[n]) / 10 * 100 for n, p in lab.speakers.items())
        print(f"[{label}] idle speaker CPU (3 nodes): at most {out['idle']:.1f}% of one core", flush=True)
        if args.load_seconds > 0:
            counts, seen = false_alarms(lab, args.hogs, args.load_seconds)
            out["alarms"] = (counts, seen)
            print(
                f"[{label}] {args.hogs} busy loops on {os.cpu_count()} cores for {args.load_seconds:.0f} s: "
                f"{describe_alarms(counts, seen)}",
                flush=True,
            )
        for key, sig in (
            ("hard failure (SIGKILL)", signal.SIGKILL),
            ("graceful handoff (SIGTERM)", signal.SIGTERM),
        ):
            times = [x for x in (failover_trial(lab, sig) for _ in range(args.trials)) if x is not None]
            out[key] = times
            print(f"[{label}] {key}: {failovers(times, args.trials)}", flush=True)
        return out
    finally:
        lab.stop_all_speakers()


def compare(results: dict[str, dict[str, object]], trials: int) -> None:
    before, now = results["before"], results["now"]
    print("\nside by side (before: membership timing before issue 11; now: today's defaults):")
    for key in ("hard failure (SIGKILL)", "graceful handoff (SIGTERM)"):
        b, n = before[key], now[key]
        assert isinstance(b, list) and isinstance(n, list)
        line = f"  {key}: before {failovers(b, trials)}; now {failovers(n, trials)}"
        if b and n:
            line += (
                f"; ratio now/before p50 {statistics.median(n) / statistics.median(b):.2f}, "
                f"p99 {pct(n, 99) / pct(b, 99):.2f}"
            )
        print(line, flush=True)
    if "alarms" in before and "alarms" in now:
        for label, r in (("before", before), ("now", now)):
            counts, seen = r["alarms"]  # type: ignore[misc]
            print(f"  false failovers under load, {label}: {describe_alarms(counts, seen)}", flush=True)
    print(f"  idle speaker CPU: before {before['idle']:.1f}%, now {now['idle']:.1f}% of one core", flush=True)


def probe(lab: L2Lab, *args: str) -> dict[str, float]:
    out = ns_run(lab.client, sys.executable, PROBE, *args, timeout=120).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--rate", type=float, default=20000)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--load-seconds", type=float, default=60.0, help="false-alarm check under CPU load")
    ap.add_argument("--hogs", type=int, default=4, help="busy processes during the false-alarm check")
    args = ap.parse_args()

    lab = L2Lab(topology_path("layer2"), prefix=f"l2bench{os.getpid() % 10000}")
    try:
        lab.up()
        lab.write_manifests([service("web", [VIP])], [endpoint_slice("web", ["node1"])])
        results = {label: run_timing(lab, label, t, args) for label, t in TIMINGS.items()}
        compare(results, args.trials)
        lab.start_all_speakers([], VIP)
        r = probe(lab, "rate", "eth1", VIP, str(args.rate), str(args.seconds))
        share = r["replies"] / r["sent"] if r["sent"] else 0.0
        print(
            f"throughput at {args.rate:.0f} req/s offered: {share * 100:.1f}% answered "
            f"({r['replies']:.0f}/{r['sent']:.0f} in {args.seconds:.0f} s, sender achieved "
            f"{r['sent'] / args.seconds:.0f} req/s)",
            flush=True,
        )
        f = probe(lab, "rate", "eth1", VIP, "0", str(args.seconds))
        secs = args.seconds
        print(
            f"flood: {f['sent'] / secs:.0f} req/s offered, {f['replies'] / secs:.0f} replies/s "
            f"({f['replies'] / f['sent'] * 100:.1f}% answered)",
            flush=True,
        )

        ns_run(lab.ns("node1"), "ip", "addr", "add", f"{KERNEL_IP}/32", "dev", "eth1")
        lat = probe(lab, "latency", "eth1", VIP, KERNEL_IP, "300")
        sp, kn = lat[VIP], lat[KERNEL_IP]
        print(
            f"reply latency (median of {lat['n']:.0f}): speaker {sp * 1e6:.0f} us, kernel {kn * 1e6:.0f} us, "
            f"ratio {sp / kn:.2f}",
            flush=True,
        )
    finally:
        lab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
