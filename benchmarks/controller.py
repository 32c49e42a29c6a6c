"""ironlb's controller side by side with MetalLB's (v0.16.1), each on a fresh real kube-apiserver.

Run (as root, under the heavy-run lock; ``KUBEBUILDER_ASSETS`` names kube-apiserver and etcd)::

    KUBEBUILDER_ASSETS=/root/.cache/ironlb/k8s flock /tmp/ironlb-heavy.lock \\
        .venv/bin/python benchmarks/controller.py                   # 5,000 Services, ~9 min
    ... benchmarks/controller.py --services 10000                   # ~15 min
    ... benchmarks/controller.py --quick                            # 1,000 Services, ~2 min
    ... benchmarks/controller.py --only ironlb --only ironlb-b --ironlb-b-repo ../wt-before
                                                    # a change against the code before it, in one run

Each controller gets its own fresh etcd + kube-apiserver (``tests/support/controlplane.py``);
both control planes are up for the whole run (the backlogs are created before either
controller starts), and in one run:

1. backlog, each controller alone (the other's control plane idle, its controller not yet
   started or idle): N LoadBalancer Services of its class exist before it starts; from
   spawning the process (its ServiceAccount and token are made before) to the last status
   written (as the benchmark's own watch sees it), and to the first; the controller's CPU
   meanwhile, and the API server's and etcd's;
2. warm, once both controllers and control planes are quiet (under 0.3 core together over a
   second, at most ``--quiet-timeout``; MetalLB goes on writing after its last status): create
   -> status, one Service at a time (p50, p99), the two controllers' samples
   *interleaved in time* (ironlb, MetalLB, ironlb, MetalLB, ..., ``--warm-gap`` between two),
   so that both meet the same moments of a shared, noisy machine (and the controller's
   established TCP connections after each: a connection opened in steady state would be a
   TLS handshake on a Service's path); each sample is split, from
   the API server's audit log, into the create on the server, the controller's own share (create
   done -> its status write received: watch delivery, decision, sending), the status write on
   the server, and the benchmark's watch seeing it (``ctlmeasure.warm_split``);
3. each in turn: SIGTERM while a burst of Services is being allocated, then a new process:
   restart = its spawn until a Service created right then has its status; every Service of
   the burst is then served, no IP changed across the restart, no IP given twice;
4. from the API server's audit log (each process has its own ServiceAccount): Service writes
   per allocation, and for every status written, whether its Event was created within 1 s,
   later, or never (lost, e.g. on SIGTERM);
5. peak RSS of the first process (``wait4``'s ``ru_maxrss``: backlog, warm and burst).

Then one table with both controllers, the ratio ironlb / MetalLB, and the goal of issue 14
(warm latency is judged from the create's answer, when the Service exists, to its status seen:
the create before it is the API server's work on the benchmark's request, the same for both
controllers, and on a slow etcd it is most of the sample; from the create call is printed too);
then the warm split: p50 / p99 of each part, and each part's mean over the slowest 2 % of
samples (what the tail is made of).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctlmeasure import (
    SPLIT_PARTS,
    AuditFigures,
    Exit,
    StatusWatch,
    audit_figures,
    cpu_seconds,
    list_ips,
    reap,
    tcp_connections,
    warm_split,
)
from kubernetes import client
from lbcontrollers import SUBJECTS, Subject

from tests.support.controlplane import ControlPlane, assets_problem


@dataclass
class Result:
    name: str
    services: int
    backlog: float = float("nan")
    first_ip: float = float("nan")
    cpu_backlog: float = float("nan")
    server_cpu_backlog: float = float("nan")
    warm: list[float] = field(default_factory=list)
    restart: float = float("nan")
    exit1: Exit | None = None
    changed: int = -1
    duplicates: int = -1
    unserved: int = -1
    audit: AuditFigures | None = None
    events_at_last_ip: int = 0
    split: dict[str, list[float]] = field(default_factory=dict)  # warm sample part -> seconds
    warm_connections: tuple[int, int] = (-1, -1)  # open after the first warm sample, opened later
    notes: list[str] = field(default_factory=list)


def create_services(core: Any, subject: Subject, ns: str, names: list[str], threads: int = 8) -> None:
    def one(name: str) -> None:
        core.create_namespaced_service(ns, subject.service(ns, name), _preload_content=False).read()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, names))


def server_cpu(cp: ControlPlane) -> float:
    return sum(cpu_seconds(pid) for pid in cp.pids.values())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


class Bench:
    """One controller on its own fresh control plane, measured phase by phase (see the module docstring).

    The phases are methods so that ``main`` can interleave the warm samples of two benches."""

    def __init__(self, subject: Subject, args: argparse.Namespace, stack: ExitStack) -> None:
        self.subject, self.args = subject, args
        self.res = Result(subject.name, args.services)
        self.offset = time.time() - time.monotonic()  # monotonic -> epoch, for the audit log
        self.cp = stack.enter_context(ControlPlane())
        self.api = self.cp.admin_client()
        stack.callback(self.api.close)
        stack.callback(self._kill)
        self.core: Any = client.CoreV1Api(self.api)
        self.procs: list[Any] = []
        self.users: list[str] = []
        self.watch: StatusWatch | None = None
        self.ns = ""
        self.last_ip_epoch = float("nan")
        self.warm_at: dict[str, tuple[float, float]] = {}  # name -> (epoch before create, epoch seen)
        self.connections: list[set[tuple[str, str]]] = []  # the controller's, after each warm sample
        self.ok = True

    def setup(self) -> None:
        """The configuration objects and the backlog, before the controller starts."""
        self.subject.prepare(self.api)
        self.ns = self.cp.new_namespace("bench")
        create_services(self.core, self.subject, self.ns, [f"b-{i:05d}" for i in range(self.args.services)])
        self.watch = StatusWatch(self.api, self.ns).start()

    def _kill(self) -> None:
        if self.watch is not None:
            self.watch.stop()
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def backlog(self) -> None:
        """1. From spawning the process to the last backlog Service's status."""
        n, res, watch, cp = self.args.services, self.res, self.watch, self.cp
        assert watch is not None
        server0 = server_cpu(cp)
        proc1, user1 = self.subject.spawn(cp)
        t0 = self.subject.spawned_at
        self.procs.append(proc1)
        self.users.append(user1)
        if not watch.wait(lambda d: sum(k.startswith("b-") for k in d) >= n, self.args.timeout):
            res.notes.append(f"backlog: only {watch.count('b-')}/{n} served in {self.args.timeout} s")
            self.ok = False
            return
        stamps = [t for k, t in watch.first_ip.items() if k.startswith("b-")]
        res.backlog, res.first_ip = max(stamps) - t0, min(stamps) - t0
        res.cpu_backlog = cpu_seconds(proc1.pid)
        res.server_cpu_backlog = server_cpu(cp) - server0
        self.last_ip_epoch = max(stamps) + self.offset

    def first_ip(self, quiet: list[int]) -> float | None:
        """``--first-ip-starts``: one fresh process on the backlog the previous ones left (each is
        stopped by SIGTERM right after its first status: a handful of the backlog get IPs per start);
        its spawn -> first new status, once ``quiet`` (every controller's API server and etcd: the
        other's may still be settling the last start) are quiet."""
        watch, args = self.watch, self.args
        assert watch is not None
        wait_quiet(quiet, args.quiet_timeout)
        before = set(watch.first_ip)
        proc, user = self.subject.spawn(self.cp)
        t0 = self.subject.spawned_at
        self.procs.append(proc)
        self.users.append(user)
        served = watch.wait(lambda d: len(d) > len(before), args.timeout)
        proc.send_signal(signal.SIGTERM)
        reap(proc, 60, time.monotonic())
        if not served:
            self.res.notes.append(f"first IP: none within {args.timeout} s")
            self.ok = False
            return None
        with watch.cond:
            return min(t for k, t in watch.first_ip.items() if k not in before) - t0

    def pids(self) -> list[int]:
        """Its running controller, API server and etcd."""
        return [p.pid for p in self.procs if p.poll() is None] + list(self.cp.pids.values())

    def warm_one(self, i: int) -> None:
        """2. One Service created, timed until the benchmark's watch sees its status."""
        watch, args = self.watch, self.args
        assert watch is not None
        name = f"w-{i:04d}"
        t = time.monotonic()
        self.core.create_namespaced_service(
            self.ns, self.subject.service(self.ns, name), _preload_content=False
        ).read()
        if not watch.wait(lambda d, k=name: k in d, args.warm_timeout):
            self.res.notes.append(
                f"warm: {name} not served within {args.warm_timeout:.0f} s; counted as that"
            )
            self.res.warm.append(args.warm_timeout)
            return
        seen = watch.first_ip[name]
        self.res.warm.append(seen - t)
        self.warm_at[name] = (t + self.offset, seen + self.offset)
        self.connections.append(tcp_connections(self.procs[0].pid))

    def restart(self) -> None:
        """3. SIGTERM during a burst, then a new process; 4. the audit log's figures."""
        args, res, watch, core, ns, cp, subject = (
            self.args,
            self.res,
            self.watch,
            self.core,
            self.ns,
            self.cp,
            self.subject,
        )
        assert watch is not None
        proc1 = self.procs[0]
        burst = [f"t-{i:05d}" for i in range(args.burst)]
        creator = threading.Thread(target=create_services, args=(core, subject, ns, burst, 4))
        creator.start()
        watch.wait(lambda d: sum(k.startswith("t-") for k in d) >= len(burst) // 2, args.timeout)
        t_sig = time.monotonic()
        proc1.send_signal(signal.SIGTERM)
        res.exit1 = reap(proc1, 60, t_sig)
        creator.join()
        before = list_ips(self.api, ns)
        proc2, user2 = subject.spawn(cp)
        t1 = subject.spawned_at
        self.procs.append(proc2)
        self.users.append(user2)
        core.create_namespaced_service(ns, subject.service(ns, "p-restart"), _preload_content=False).read()
        if watch.wait(lambda d: "p-restart" in d, args.timeout):
            res.restart = watch.first_ip["p-restart"] - t1
        everyone = len(before) + 1
        if not watch.wait(lambda d: len(d) >= everyone, args.timeout):
            res.notes.append(f"after restart: {len(watch.first_ip)}/{everyone} served")
        after = list_ips(self.api, ns)
        res.changed = sum(1 for k, ips in before.items() if ips and after.get(k) != ips)
        res.unserved = sum(1 for ips in after.values() if not ips)
        given = Counter(ip for ips in after.values() for ip in ips)
        res.duplicates = sum(c - 1 for c in given.values() if c > 1)
        proc2.send_signal(signal.SIGTERM)
        reap(proc2, 60, time.monotonic())
        time.sleep(0.5)  # the audit log's last lines
        records = cp.audit()
        res.audit = audit_figures(records, self.users, {"b-": self.last_ip_epoch})
        res.events_at_last_ip = res.audit.events_by["b-"]
        res.split = warm_split(records, self.warm_at, "admin", self.users)
        if self.connections:
            first, every = self.connections[0], set().union(*self.connections)
            res.warm_connections = (len(first), len(every - first))


# -- the table ---------------------------------------------------------------------------------


def _f(value: float, unit: str = "s", digits: int = 2) -> str:
    return "n/a" if value != value else f"{value:.{digits}f} {unit}".strip()


def rows(r: Result) -> dict[str, tuple[str, float]]:
    """Label -> (shown, number for the ratio) for one controller."""
    a, e = r.audit, r.exit1
    p50, p99 = (statistics.median(r.warm), percentile(r.warm, 0.99)) if r.warm else (float("nan"),) * 2
    own = r.split.get(SPLIT_PARTS[2]) or []  # create done -> status write received
    own50, own99 = (statistics.median(own), percentile(own, 0.99)) if own else (float("nan"),) * 2
    # From the moment the Service exists (its create answered) to the status seen: every part the
    # controller can change; the create on the server before it is the same work for both.
    since = [sum(parts) for parts in zip(*(r.split.get(p) or [] for p in SPLIT_PARTS[2:]), strict=True)]
    s50, s99 = (statistics.median(since), percentile(since, 0.99)) if since else (float("nan"),) * 2
    out: dict[str, tuple[str, float]] = {
        "backlog: start -> last status": (_f(r.backlog), r.backlog),
        "first IP after start": (_f(r.first_ip), r.first_ip),
        "warm create -> status p50 (from the create call)": (_f(p50 * 1000, "ms", 1), p50),
        "warm create -> status p99 (from the create call)": (_f(p99 * 1000, "ms", 1), p99),
        "warm created -> status p50 (from the create's answer)": (_f(s50 * 1000, "ms", 1), s50),
        "warm created -> status p99 (from the create's answer)": (_f(s99 * 1000, "ms", 1), s99),
        "warm: controller's own share p50 (audit log)": (_f(own50 * 1000, "ms", 1), own50),
        "warm: controller's own share p99 (audit log)": (_f(own99 * 1000, "ms", 1), own99),
        "warm: TCP connections open / opened during the warm phase": (
            f"{r.warm_connections[0]} / {r.warm_connections[1]}",
            r.warm_connections[1],
        ),
        "restart until serving": (_f(r.restart), r.restart),
        "CPU during backlog (controller)": (_f(r.cpu_backlog, "s", 1), r.cpu_backlog),
        "CPU during backlog (API server + etcd)": (_f(r.server_cpu_backlog, "s", 1), r.server_cpu_backlog),
        "CPU whole first run (controller)": (_f(e.cpu if e else float("nan"), "s", 1), e.cpu if e else 0.0),
        "peak RSS": (_f(e.peak_rss_mib if e else float("nan"), "MiB", 0), e.peak_rss_mib if e else 0.0),
        "SIGTERM -> exited": (_f(e.seconds if e else float("nan")), e.seconds if e else 0.0),
    }
    if a is None:
        for label in AUDIT_ROWS:
            out[label] = ("n/a", float("nan"))
    else:
        per = a.service_writes / a.allocations if a.allocations else float("nan")
        out["Service writes per allocation"] = (
            f"{per:.2f} ({a.status_writes} status, {a.service_writes - a.status_writes} other,"
            f" {a.failed_writes} failed; {a.allocations} allocations)",
            per,
        )
        out["Events posted when the last backlog IP was written"] = (
            f"{r.events_at_last_ip}/{r.services}",
            r.events_at_last_ip,
        )
        out["Events within 1 s of their status / later / lost"] = (
            f"{a.events_within_1s} / {a.events_lagging} / {a.events_lost} (max lag {a.max_event_lag:.2f} s)",
            a.events_lagging + a.events_lost,
        )
    out["duplicate IPs / changed by restart / unserved"] = (
        f"{r.duplicates} / {r.changed} / {r.unserved}",
        max(r.duplicates, 0) + max(r.changed, 0) + max(r.unserved, 0),
    )
    return out


AUDIT_ROWS = (
    "Service writes per allocation",
    "Events posted when the last backlog IP was written",
    "Events within 1 s of their status / later / lost",
)

GOALS = {
    "backlog: start -> last status": ("<= 0.5x", lambda i, m: i <= 0.5 * m),
    "first IP after start": ("<= 1 s", lambda i, m: i <= 1.0),
    "warm created -> status p99 (from the create's answer)": ("<= 0.5x", lambda i, m: i <= 0.5 * m),
    "restart until serving": ("<= 0.5x", lambda i, m: i <= 0.5 * m),
    "peak RSS": ("<= 1x", lambda i, m: i <= m),
    "Service writes per allocation": ("1", lambda i, m: abs(i - 1.0) < 0.005),
    "Events within 1 s of their status / later / lost": ("all / 0 / 0", lambda i, m: i == 0),
    "duplicate IPs / changed by restart / unserved": ("0 / 0 / 0", lambda i, m: i == 0),
}


def print_rows(lines: list[list[str]]) -> None:
    widths = [max(len(row[c]) for row in lines) for c in range(len(lines[0]))]
    for k, row in enumerate(lines):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def print_table(results: dict[str, Result]) -> None:
    names = list(results)
    table = {name: rows(r) for name, r in results.items()}
    labels = list(next(iter(table.values())))
    ratio_of = ("ironlb", "metallb") if set(names) == {"ironlb", "metallb"} else None
    head = ["what", *names] + (["ironlb / MetalLB", "goal"] if ratio_of else [])
    lines = [head]
    for label in labels:
        line = [label, *(table[n][label][0] for n in names)]
        if ratio_of:
            i, m = table["ironlb"][label][1], table["metallb"][label][1]
            ratio = f"{i / m:.2f}" if m and i == i and m == m else ""
            goal = GOALS.get(label)
            verdict = ""
            if goal is not None and i == i and m == m:
                verdict = f"{goal[0]}: {'met' if goal[1](i, m) else 'NOT met'}"
            line += [ratio, verdict]
        lines.append(line)
    print_rows(lines)
    for name, r in results.items():
        for note in r.notes:
            print(f"{name}: {note}")


def print_split(results: dict[str, Result]) -> None:
    """Where the warm samples' time went (``ctlmeasure.warm_split``): p50 / p99 of each part, and
    the mean of each part over the slowest 2 % of samples (what makes the tail)."""
    names = [n for n, r in results.items() if r.split]
    if not names:
        return
    head = ["warm create -> status, part (audit log)"]
    for n in names:
        head += [f"{n} p50 / p99 ms", f"{n} slowest 2 % ms"]
    lines = [head]
    tails = {}
    for n in names:
        split = results[n].split
        totals = [sum(v) for v in zip(*split.values(), strict=True)]
        cut = percentile(totals, 0.98)
        tails[n] = [k for k, t in enumerate(totals) if t >= cut]
    for part in [*SPLIT_PARTS, "total"]:
        line = [part]
        for n in names:
            split = results[n].split
            values = [sum(v) for v in zip(*split.values(), strict=True)] if part == "total" else split[part]
            slow = [values[k] for k in tails[n]]
            line.append(f"{statistics.median(values) * 1000:.1f} / {percentile(values, 0.99) * 1000:.1f}")
            line.append(f"{statistics.fmean(slow) * 1000:.1f}" if slow else "n/a")
        lines.append(line)
    print()
    print(f"where the time went ({', '.join(f'{n}: {len(tails[n])} slowest' for n in names)}):")
    print_rows(lines)


def wait_quiet(pids: list[int], timeout: float, busy: float = 0.3) -> float:
    """Wait until ``pids`` use less than ``busy`` of a core together over a second (a controller
    may go on writing after its last status, MetalLB does), at most ``timeout``; returns the wait."""
    started = time.monotonic()
    before = sum(cpu_seconds(p) for p in pids)
    while time.monotonic() - started < timeout:
        time.sleep(1.0)
        now = sum(cpu_seconds(p) for p in pids)
        if now - before < busy:
            break
        before = now
    return time.monotonic() - started


def first_ip_only(benches: list[Bench], starts: int) -> int:
    """``--first-ip-starts``: the controllers' starts alternate (A, B, A, B, ...), so both meet the same
    moments of a shared machine; prints each start and the median."""
    times: dict[str, list[float]] = {b.subject.name: [] for b in benches}
    for _ in range(starts):
        for b in benches:
            seconds = b.first_ip([p for each in benches for p in each.pids()]) if b.ok else None
            if seconds is not None:
                times[b.subject.name].append(seconds)
    n = benches[0].args.services if benches else 0
    print(f"first IP after start (spawn -> first new status), {n} Services, {starts} starts each:")
    for name, values in times.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        median = statistics.median(values) if values else float("nan")
        print(f"  {name}: median {median:.2f} s ({shown})")
    names = list(times)
    if len(names) == 2 and times[names[0]] and times[names[1]]:
        a, b = (statistics.median(times[k]) for k in names)
        print(f"  ratio {names[0]} / {names[1]}: {a / b:.2f}")
    for b in benches:
        for note in b.res.notes:
            print(f"{b.subject.name}: {note}", file=sys.stderr)
    return 0 if all(b.ok for b in benches) else 1


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=5000, help="Services in the backlog")
    ap.add_argument("--samples", type=int, default=400, help="warm create -> status samples")
    ap.add_argument("--burst", type=int, default=0, help="Services created around the SIGTERM (N/10)")
    ap.add_argument("--quick", action="store_true", help="1,000 Services, 50 samples")
    ap.add_argument("--only", choices=sorted(SUBJECTS), action="append", help="run only this controller")
    ap.add_argument("--ironlb-args", default="", help="extra flags for ironlb-controller")
    ap.add_argument("--metallb-args", default="", help="extra flags for MetalLB's controller")
    ap.add_argument("--ironlb-b-args", default="", help="extra flags for the variant ironlb-b")
    ap.add_argument("--ironlb-b-repo", type=Path, help="the checkout ironlb-b runs from (default: this one)")
    ap.add_argument("--ironlb-b-prelude", default="", help="Python that ironlb-b runs before the controller")
    ap.add_argument(
        "--first-ip-starts",
        type=int,
        default=0,
        help="measure only the first IP after start, this many times per controller (then stop)",
    )
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for any phase")
    ap.add_argument("--quiet-timeout", type=float, default=60.0, help="most seconds to wait for quiet")
    ap.add_argument("--warm-gap", type=float, default=0.02, help="seconds between two warm samples")
    ap.add_argument("--warm-timeout", type=float, default=120.0, help="seconds to wait for one warm sample")
    args = ap.parse_args()
    if args.quick:
        args.services, args.samples = min(args.services, 1000), min(args.samples, 50)
    args.burst = args.burst or max(100, args.services // 10)
    problem = assets_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="ironlb-bench-ctl-"))
    extra = {
        "ironlb": shlex.split(args.ironlb_args),
        "metallb": shlex.split(args.metallb_args),
        "ironlb-b": shlex.split(args.ironlb_b_args),
    }
    subjects = []
    for name in args.only or ["ironlb", "metallb"]:
        subject = SUBJECTS[name](workdir, extra[name])
        if name == "ironlb-b":
            subject.repo = (args.ironlb_b_repo or subject.repo).resolve()
            subject.prelude = args.ironlb_b_prelude + "; " if args.ironlb_b_prelude else ""
        why = subject.problem()
        if why:
            print(f"{name}: skipped: {why}", file=sys.stderr)
            continue
        subjects.append(subject)
    with ExitStack() as stack:
        benches = [Bench(s, args, stack) for s in subjects]
        for b in benches:
            say(f"{b.subject.name}: {args.services} Services on a fresh API server ...")
            b.setup()
        if args.first_ip_starts:
            return first_ip_only(benches, args.first_ip_starts)
        for b in benches:  # each backlog alone (the other's control plane idle)
            say(f"{b.subject.name}: backlog ...")
            b.backlog()
        benches = [b for b in benches if b.ok]
        quiet = wait_quiet([pid for b in benches for pid in b.pids()], args.quiet_timeout)
        say(f"warm: {args.samples} samples each, interleaved (after {quiet:.1f} s for quiet) ...")
        for i in range(args.samples):  # A, B, A, B ...: both see the same moments of the machine
            for b in benches:
                b.warm_one(i)
                time.sleep(args.warm_gap)
        for b in benches:
            say(f"{b.subject.name}: SIGTERM amid a burst, restart ...")
            b.restart()
        results = {b.subject.name: b.res for b in benches}
    with open(workdir / "results.txt", "a") as out:  # kept even if printing the table fails
        for r in results.values():
            print(repr(r), file=out)
    print(
        f"controllers on a real kube-apiserver + etcd, each on a fresh one: {args.services} Services in the"
        f" backlog, {args.samples} warm samples, SIGTERM amid a burst of {args.burst}; logs in {workdir}"
    )
    for name, r in results.items():
        for note in r.notes:
            print(f"{name}: {note}", file=sys.stderr)
    if results:
        print_table(results)
        print_split(results)
    return 0 if all(not r.notes for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
