"""Controller speed against the API-server double, everything over HTTP with the real client.

Run: ``.venv/bin/python benchmarks/controller.py`` (about two minutes with the defaults;
``--services 2000 --samples 50`` for a quick look).

Prints:
1. start -> all statuses written for N pending Services (the controller process is
   started after the Services exist; the clock starts when it is spawned);
2. create -> status latency p50/p99 for single Services on a warm controller
   (create request sent -> the benchmark's own watch sees ``status.loadBalancer``);
3. leader takeover after SIGKILL and after SIGTERM of the leader: signal -> Lease held
   by the standby, and signal -> status written for a Service created once the old
   leader has exited (so only the new leader can have written it).

The double and each controller are separate processes (``python -m tests.kubeapi``,
``python -m controller``), as in a cluster; the machine's cores are shared by all.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.kubeapi, the API double

from ironlb.kube.cache import Change
from ironlb.kube.client import make_api_client
from ironlb.kube.informer import Informer
from tests.kubeapi import KubeApiProcess

REPO = Path(__file__).resolve().parents[1]
NS = "ironlb-system"
CONFIG = "address-pools:\n- name: bench\n  protocol: layer2\n  addresses: [10.128.0.0/12]\n"


def lb(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], "allocateLoadBalancerNodePorts": False},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Watcher:
    """The benchmark's own informer: when did each Service first show an ingress IP?"""

    def __init__(self, api: client.ApiClient) -> None:
        self.cond = threading.Condition()
        self.assigned: dict[str, float] = {}
        core = client.CoreV1Api(api)
        self.informer = Informer(
            "bench",
            core.list_service_for_all_namespaces,
            kind="Service",
            api_version="v1",
            on_change=self._on_change,
        )

    def _on_change(self, change: Change) -> None:
        obj = change.new
        if obj is None or change.key in self.assigned:
            return
        if ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            with self.cond:
                self.assigned[change.key] = time.monotonic()
                self.cond.notify_all()

    def wait(self, pred: Any, timeout: float) -> bool:
        with self.cond:
            return bool(self.cond.wait_for(lambda: pred(self.assigned), timeout))


class Controllers:
    def __init__(self, kubeconfig: Path, workdir: Path, timings: list[str]) -> None:
        self.kubeconfig, self.workdir, self.timings = kubeconfig, workdir, timings
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, identity: str) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{identity}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "controller",
                "--kubeconfig",
                str(self.kubeconfig),
                "--identity",
                identity,
                "--metrics-address",
                f"127.0.0.1:{free_port()}",
                *self.timings,
            ],
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs[identity] = proc
        return proc

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lease_holder(coord: Any) -> str:
    try:
        lease = coord.read_namespaced_lease("ironlb-controller", NS)
    except client.exceptions.ApiException:
        return ""
    return str(lease.spec.holder_identity or "")


def reap(proc: subprocess.Popen[bytes], exited: list[float]) -> None:
    """Wait for ``proc`` to end and note when (in a thread, while the Lease is polled)."""
    proc.wait(60)
    exited.append(time.monotonic())


def wait_until(pred: Any, timeout: float, poll: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(poll)
    return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=200, help="single-Service creations for the latency")
    ap.add_argument("--lease-duration", default="15")
    ap.add_argument("--renew-deadline", default="10")
    ap.add_argument("--retry-period", default="2")
    args = ap.parse_args()
    timings = [
        "--lease-duration",
        args.lease_duration,
        "--renew-deadline",
        args.renew_deadline,
        "--retry-period",
        args.retry_period,
    ]
    workdir = Path(tempfile.mkdtemp(prefix="ironlb-bench-ctl-"))
    with KubeApiProcess(workdir, args=["--history-limit", "1000000"]) as double:
        api = make_api_client(str(double.kubeconfig))
        core: Any = client.CoreV1Api(api)
        coord: Any = client.CoordinationV1Api(api)
        core.create_namespaced_config_map(
            NS, {"metadata": {"name": "ironlb", "namespace": NS}, "data": {"config": CONFIG}}
        )
        n = args.services
        for start in range(0, n, 1000):
            double.control.seed(
                "services", [lb(f"pending-{i:05d}") for i in range(start, min(n, start + 1000))]
            )
        watcher = Watcher(api)
        watcher.informer.start()
        watcher.informer.wait_synced(120)
        ctls = Controllers(double.kubeconfig, workdir, timings)
        try:
            # 1. cold start with N pending Services
            t0 = time.monotonic()
            ctls.spawn("ctl-a")
            if not watcher.wait(lambda d: len(d) >= n, 900):
                print(f"cold start: only {len(watcher.assigned)}/{n} assigned in 900 s")
                return 1
            last = max(watcher.assigned.values())
            leading = [line for line in (workdir / "ctl-a.log").read_text().splitlines() if "adopted" in line]
            print(
                f"start -> all statuses written, {n} pending Services: {last - t0:.2f} s"
                f" ({n / (last - t0):.0f} Services/s; includes process start-up)"
            )
            if leading:
                print(f"  ({leading[0].split(': ', 1)[-1]})")
            assert double.proc is not None
            print(
                f"  CPU so far: controller {cpu_seconds(ctls.procs['ctl-a'].pid):.1f} s,"
                f" API double {cpu_seconds(double.proc.pid):.1f} s (2 cores shared)"
            )

            # 2. create -> status latency on the warm controller
            lat: list[float] = []
            for i in range(args.samples):
                key = f"default/single-{i:04d}"
                t = time.monotonic()
                core.create_namespaced_service("default", lb(f"single-{i:04d}"), _preload_content=False)
                if not watcher.wait(lambda d, k=key: k in d, 30):
                    print(f"latency: {key} not assigned within 30 s")
                    return 1
                lat.append(watcher.assigned[key] - t)
            lat.sort()
            p50 = statistics.median(lat)
            p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
            print(
                f"create -> status, warm controller, {len(lat)} Services one by one:"
                f" p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms"
            )

            # 3. takeover: SIGKILL, then SIGTERM
            for sig, old, standby in ((signal.SIGKILL, "ctl-a", "ctl-b"), (signal.SIGTERM, "ctl-b", "ctl-c")):
                ctls.spawn(standby)
                log = workdir / f"{standby}.log"
                wait_until(lambda log=log: log.exists() and "started" in log.read_text(), 60, 0.05)
                # The standby has observed the Lease; the jitter keeps the signal from falling at a
                # fixed phase of the leader's renewals (after SIGKILL the Lease expires a lease
                # duration after the last one) and of the standby's retry loop.
                time.sleep((2 + random.random()) * float(args.retry_period))
                name = f"takeover-{sig.name.lower()}"
                proc = ctls.procs[old]
                exited: list[float] = []
                reaper = threading.Thread(target=reap, args=(proc, exited))
                t = time.monotonic()
                proc.send_signal(sig)
                reaper.start()
                # The Lease is polled from the signal on, not from the old leader's exit: after
                # SIGTERM it is released (and taken) before the process has finished exiting.
                ok = wait_until(lambda s=standby: lease_holder(coord) == s, 120, 0.002)
                t_lease = time.monotonic() - t
                reaper.join(60)
                t_exit = (exited[0] if exited else float("nan")) - t
                # Created once the old leader is gone, so only the new leader can serve it.
                core.create_namespaced_service("default", lb(name), _preload_content=False)
                ok = ok and watcher.wait(lambda d, k=f"default/{name}": k in d, 120)
                t_status = watcher.assigned.get(f"default/{name}", float("nan")) - t
                print(
                    f"leader takeover after {sig.name}: old leader gone {t_exit:.2f} s, Lease to standby"
                    f" {t_lease:.2f} s, new Service's status written by the new leader {t_status:.2f} s"
                    f" after the signal (lease {args.lease_duration} s, renew {args.renew_deadline} s,"
                    f" retry {args.retry_period} s){'' if ok else ' [TIMED OUT]'}"
                )
        finally:
            ctls.stop_all()
            watcher.informer.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
