"""BGP failover benchmark: a node dies hard → the router's kernel FIB drops its next hop.

Why: with BGP the router only learns that a node is gone when something tells
it. A speaker that stops cleanly closes its session (Cease) and the router
withdraws at once; a node that loses power or its link sends nothing, and the
router keeps forwarding to it until the BGP hold timer expires (90 s by
default, 3 s at the least), or until BFD declares the neighbor down. This
script measures that window on real parts.

Runs a private copy of the ``bgp-ecmp`` lab (FRR router, three nodes; network
namespaces; root) under its own instance name, and the real speaker
(``python -m speaker``, manifest source) on all three nodes announcing one
LoadBalancer IP; the router holds one route with three next hops. Each trial
kills one node hard -- ``ip link set eth1 down`` inside the node's namespace, so
its TCP session gets no FIN or RST (a SIGKILL of ExaBGP alone closes the socket
and is not a node death) -- and times, from that command to the router's kernel
FIB no longer having the node as a next hop (``ip monitor route nexthop`` on the
router triggers a read of the route; a 20 ms poll backs it up). The link then
comes back and the next trial waits for three next hops again.

Scenarios, in one run, each on a fresh lab (the previous scenario's speakers
stop gracefully, which leaves the router in graceful-restart helper state for
them): hold time 3 s and 9 s (the router side offers 3/9; the negotiated hold
time is the smaller one), and BFD with the ``bgp-ecmp-bfd`` topology
(``neighbor NODES bfd`` on the router, the speaker's bfdd next to ExaBGP on the
nodes, ``bfd-profile`` 100 ms x 3) with hold time 9 s; its trials start once
the router shows every BFD session up.

    python benchmarks/bgp_failover.py [--trials 4] [--scenarios hold3,hold9,bfd]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.bgp_objects import config_map, dump, node, service
from tests.support.objects import endpoint_slice

REPO = Path(__file__).resolve().parents[1]


NODES = {"node1": "172.30.0.11", "node2": "172.30.0.12", "node3": "172.30.0.13"}
LB_IP = "198.51.100.10"
PREFIX = f"{LB_IP}/32"


@dataclass(frozen=True)
class Scenario:
    name: str
    topology: str
    hold_time: int
    bfd: tuple[int, int] | None = None  # (interval ms, detect multiplier)

    def label(self) -> str:
        if self.bfd is None:
            return f"hold time {self.hold_time} s, no BFD"
        interval, mult = self.bfd
        return f"BFD {interval} ms x {mult} (hold time {self.hold_time} s)"

    def config(self) -> str:
        peer: dict[str, Any] = {
            "peer-address": "172.30.0.1",
            "peer-asn": 64512,
            "my-asn": 64513,
            "hold-time": f"{self.hold_time}s",
        }
        out: dict[str, Any] = {
            "peers": [peer],
            "address-pools": [{"name": "pub", "protocol": "bgp", "addresses": ["198.51.100.0/24"]}],
        }
        if self.bfd is not None:
            interval, mult = self.bfd
            peer["bfd-profile"] = "fast"
            out["bfd-profiles"] = [
                {
                    "name": "fast",
                    "receive-interval": interval,
                    "transmit-interval": interval,
                    "detect-multiplier": mult,
                }
            ]
        return yaml.safe_dump(out, sort_keys=False)


SCENARIOS = {
    "hold3": Scenario("hold3", "bgp-ecmp", 3),
    "hold9": Scenario("hold9", "bgp-ecmp", 9),
    "bfd": Scenario("bfd", "bgp-ecmp-bfd", 9, bfd=(100, 3)),
}


# ---------------------------------------------------------------- cluster manifests


def cluster_yaml(config: str) -> str:
    objects = [config_map(config), *(node(n, a) for n, a in NODES.items())]
    return dump([*objects, service("web", lb_ips=[LB_IP]), endpoint_slice("web", list(NODES))])


# ---------------------------------------------------------------- router FIB watcher


class NexthopWatch:
    """The router's next hops for ``PREFIX``, re-read on every route/nexthop event (and every 20 ms)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.proc = subprocess.Popen(
            ["ip", "-n", namespace, "monitor", "route", "nexthop"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
        )  # fmt: skip
        self.cond = threading.Condition()
        self.hops: frozenset[str] = self.read()
        self.changed_at = time.monotonic()
        self.events = 0
        self._stop = threading.Event()
        threading.Thread(target=self._events, daemon=True).start()
        threading.Thread(target=self._poll, daemon=True).start()

    def read(self) -> frozenset[str]:
        out = subprocess.run(
            ["ip", "-n", self.namespace, "-4", "-j", "route", "show", "exact", PREFIX],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        hops: set[str] = set()
        for route in json.loads(out or "[]"):
            if "gateway" in route:
                hops.add(route["gateway"])
            hops.update(nh["gateway"] for nh in route.get("nexthops", []) if "gateway" in nh)
        return frozenset(hops)

    def _update(self, seen_at: float) -> None:
        hops = self.read()
        with self.cond:
            if hops != self.hops:
                self.hops = hops
                self.changed_at = seen_at
                self.cond.notify_all()

    def _events(self) -> None:
        assert self.proc.stdout is not None
        for _line in self.proc.stdout:
            self._update(time.monotonic())

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self._update(time.monotonic())

    def wait(self, pred: Any, timeout: float) -> float:
        """Until ``pred(hops)``; returns when the matching set was first seen."""
        with self.cond:
            if not self.cond.wait_for(lambda: pred(self.hops), timeout):
                raise TimeoutError(f"router next hops for {PREFIX}: {sorted(self.hops)}")
            return self.changed_at

    def close(self) -> None:
        self._stop.set()
        self.proc.terminate()
        self.proc.wait()


# ---------------------------------------------------------------- speakers


@contextmanager
def speakers(lab: Any, work: Path, scenario: Scenario, graceful_restart: int) -> Iterator[None]:
    """The real speaker on every node; always stopped (SIGTERM, then reaped by the lab)."""
    manifests = work / f"cluster-{scenario.name}"
    manifests.mkdir()
    (manifests / "cluster.yaml").write_text(cluster_yaml(scenario.config()))
    key = work / "membership.key"
    key.write_text("bgp-failover-benchmark-membership-key-0123\n")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name in NODES:
            argv = [
                sys.executable, "-m", "speaker", "--node", name, "--manifests", str(manifests),
                "--membership-key-file", str(key), "--metrics-address", "", "--poll-interval", "0.2",
                "--bgp-workdir", str(work / f"bgp-{scenario.name}-{name}"),
                "--bgp-graceful-restart", str(graceful_restart),
                "--bfd-workdir", str(work / f"bfd-{scenario.name}-{name}"),
            ]  # fmt: skip
            log_file = work / f"speaker-{scenario.name}-{name}.log"
            procs.append(lab.spawn(name, argv, name=f"speaker-{name}", log_file=log_file, cwd=REPO))
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def link(lab: Any, node: str, state: str) -> None:
    subprocess.run(["ip", "-n", lab.namespace(node), "link", "set", "eth1", state], check=True)


def router_bfd_up(lab: Any) -> frozenset[str]:
    """Peers whose BFD session is up on the router."""
    out = lab.exec("router", list(lab.routers["router"].query_argv("show bfd peers json"))).stdout
    try:
        peers = json.loads(out or "[]")
    except ValueError:
        return frozenset()
    return frozenset(p["peer"] for p in peers if p.get("status") == "up")


def wait_until(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def run_scenario(lab: Any, work: Path, scenario: Scenario, trials: int, gr: int) -> list[float]:
    every = frozenset(NODES.values())
    watch = NexthopWatch(lab.namespace("router"))
    times: list[float] = []
    try:
        with speakers(lab, work, scenario, gr):
            watch.wait(lambda hops: hops == every, 60)
            for trial in range(trials):
                victim = list(NODES)[trial % len(NODES)]
                address = NODES[victim]
                time.sleep(0.5)  # a few keepalives (and BFD packets) on the fresh sessions
                if scenario.bfd is not None:
                    wait_until(lambda: router_bfd_up(lab) >= every, 60, "BFD sessions up on the router")
                t0 = time.monotonic()
                link(lab, victim, "down")
                try:
                    seen = watch.wait(lambda hops, a=address: a not in hops, 300)
                    times.append(seen - t0)
                    print(f"  {scenario.name} trial {trial + 1}: {victim} down -> next hop gone "
                          f"after {seen - t0:.3f} s", flush=True)  # fmt: skip
                finally:
                    link(lab, victim, "up")
                watch.wait(lambda hops: hops == every, 120)
    finally:
        watch.close()
    return times


def summary(times: list[float]) -> str:
    return (
        f"median {statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s "
        f"(n={len(times)})"
    )


def run(args: argparse.Namespace) -> None:
    from ironlb.lab.fixture import REPO_CONTAINERLAB, running_lab

    chosen = [SCENARIOS[s] for s in args.scenarios.split(",")]
    work = Path(tempfile.mkdtemp(prefix="ironlb-bench-failover-"))
    os.chmod(work, 0o755)
    results: dict[str, list[float]] = {}
    try:
        for scenario in chosen:
            # A fresh lab per scenario: the speakers of the previous one stopped gracefully
            # (graceful restart), which leaves the router in helper state for their peers.
            if not (REPO_CONTAINERLAB / scenario.topology).is_dir():
                print(f"skipping {scenario.name}: no topology {scenario.topology}")
                continue
            copy = work / scenario.name
            shutil.copytree(REPO_CONTAINERLAB / scenario.topology, copy)
            path = copy / f"{scenario.topology}.clab.yml"
            with running_lab(path, instance=f"bfo{os.getpid()}{scenario.name}") as lab:
                print(f"{scenario.label()}: {args.trials} trials", flush=True)
                results[scenario.name] = run_scenario(lab, work, scenario, args.trials, args.graceful_restart)
    finally:
        if args.keep:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    gr = args.graceful_restart
    print(f"node link down -> router FIB drops its next hop (speaker graceful restart {gr} s):")
    for name, times in results.items():
        print(f"  {SCENARIOS[name].label():40s} {summary(times)}")
    medians: Mapping[str, float] = {n: statistics.median(t) for n, t in results.items()}
    if "hold3" in medians and "hold9" in medians:
        print(f"  ratio hold 9 s / hold 3 s: {medians['hold9'] / medians['hold3']:.1f}")
    if "bfd" in medians:
        for other in ("hold3", "hold9"):
            if other in medians:
                print(f"  ratio {other} / BFD: {medians[other] / medians['bfd']:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument(
        "--scenarios", default="hold3,hold9,bfd", help=f"comma-separated: {','.join(SCENARIOS)}"
    )
    parser.add_argument(
        "--graceful-restart", type=int, default=120,
        help="the speakers' --bgp-graceful-restart (default: the speaker's default, 120)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the work directory (speaker logs)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    run(args)


if __name__ == "__main__":
    main()
