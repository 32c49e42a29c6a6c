"""Idle CPU of one speaker on the manifest-directory source.

Why: the manifest source used to be re-read and re-parsed on every poll (every
0.2 s in the labs), which cost a few percent of a core per speaker doing nothing.
This starts a real speaker (``python -m speaker --no-bgp``) in a network namespace
of its own (only ``lo``: no responder, no traffic anywhere), with a manifest
directory of --services Services (plus their EndpointSlices, three Nodes and the
ConfigMap), lets it settle, and prints its CPU time over --seconds as a share of
one core (utime+stime from /proc/PID/stat), then the same after one file change
to show that changes are still picked up.

With ``--source kube`` the same speaker reads the API-server double instead
(watches: nothing to poll), for comparison.

Usage (root): .venv/bin/python benchmarks/speaker_idle.py [--source manifests|kube] [--services 50]
              [--seconds 20] [--poll 0.2]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from ironlb.lab import netns

ROOT = Path(__file__).resolve().parents[1]


CONFIG = {
    "address-pools": [{"name": "l2", "protocol": "layer2", "addresses": ["192.0.2.0/24"]}],
}


def objects(n_services: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "ironlb", "namespace": "ironlb-system"},
            "data": {"config": yaml.safe_dump(CONFIG)},
        }
    ]
    for i, name in enumerate(("n1", "n2", "n3")):
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                "status": {"addresses": [{"type": "InternalIP", "address": f"127.0.0.{i + 1}"}]},
            }
        )
    for i in range(n_services):
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"svc{i}", "namespace": "apps"},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
                "status": {"loadBalancer": {"ingress": [{"ip": f"192.0.2.{i + 1}"}]}},
            }
        )
        docs.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"svc{i}-abc",
                    "namespace": "apps",
                    "labels": {"kubernetes.io/service-name": f"svc{i}"},
                },
                "addressType": "IPv4",
                "endpoints": [
                    {"addresses": [f"10.0.{i}.1"], "conditions": {"ready": True}, "nodeName": "n1"}
                ],
            }
        )
    return docs


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def announced(port: int, ns: str | None) -> int:
    fetch = f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{port}/metrics',timeout=5).read().decode())"
    argv = [sys.executable, "-c", fetch]
    out = subprocess.run(netns.wrap(ns, argv) if ns else argv, capture_output=True, text=True, check=False)
    return sum(1 for line in out.stdout.splitlines() if line.startswith("ironlb_speaker_announced{"))


def measure(pid: int, seconds: float) -> float:
    t0, c0 = time.monotonic(), cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def wait_change(port: int, ns: str | None, before: int) -> int:
    deadline = time.monotonic() + 10
    after = before
    while time.monotonic() < deadline and after == before:
        time.sleep(0.1)
        after = announced(port, ns)
    return after


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_manifests(a: argparse.Namespace, d: Path, key: Path) -> tuple[float, int, int]:
    """The speaker in a namespace of its own (only ``lo``), polling a manifest directory."""
    ns = f"ilbspkbench-{os.getpid()}"
    manifests = d / "cluster"
    manifests.mkdir()
    docs = objects(a.services)
    (manifests / "cluster.yaml").write_text(yaml.safe_dump_all(docs))
    netns.add(ns)
    proc: subprocess.Popen[bytes] | None = None
    try:
        argv = [
            sys.executable, "-m", "speaker", "--node", "n1", "--manifests", str(manifests),
            "--membership-key-file", str(key), "--membership-bind", "127.0.0.1",
            "--metrics-address", "127.0.0.1:7473", "--poll-interval", str(a.poll), "--no-bgp",
        ]  # fmt: skip
        with open(d / "speaker.log", "wb") as log:
            proc = subprocess.Popen(netns.wrap(ns, argv), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        time.sleep(a.settle)
        assert proc.poll() is None, (d / "speaker.log").read_text()
        before = announced(7473, ns)
        idle = measure(proc.pid, a.seconds)
        # One change still reaches the speaker: drop half of the Services.
        (manifests / "cluster.yaml").write_text(yaml.safe_dump_all(docs[: 4 + a.services]))
        return idle, before, wait_change(7473, ns, before)
    finally:
        stop(proc)
        for pid in netns.pids(ns):
            os.kill(pid, signal.SIGKILL)
        netns.delete(ns)


def run_kube(a: argparse.Namespace, d: Path, key: Path) -> tuple[float, int, int]:
    """The speaker on the API double (in this process, on 127.0.0.1; watches, no polling).

    Root namespace, so the config names no real interface (layer 2 decides, never sends).
    """
    from tests.support.kubeapi import KubeApiServer, by_plural

    docs = objects(a.services)
    cm = docs[0]
    cm["data"]["config"] = yaml.safe_dump({**CONFIG, "l2": {"interfaces": ["ilbspk-none"]}})
    port = 7473 + os.getpid() % 1000
    with KubeApiServer(bookmark_interval=a.bookmark) as server:
        for doc in docs:
            rt = by_plural(doc["kind"].lower() + "s", doc["apiVersion"].rpartition("/")[0])
            ns = doc["metadata"].get("namespace")
            server.store.create(rt, ns, doc, keep_status=True)
        kubeconfig = server.write_kubeconfig(d / "kubeconfig")
        proc: subprocess.Popen[bytes] | None = None
        try:
            argv = [
                sys.executable, "-m", "speaker", "--node", "n1", "--kubeconfig", str(kubeconfig),
                "--membership-key-file", str(key), "--membership-bind", "127.0.0.1",
                "--membership-port", str(port), "--metrics-address", f"127.0.0.1:{port}", "--no-bgp",
            ]  # fmt: skip
            with open(d / "speaker.log", "wb") as log:
                proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            time.sleep(a.settle)
            assert proc.poll() is None, (d / "speaker.log").read_text()
            before = announced(port, None)
            idle = measure(proc.pid, a.seconds)
            services = by_plural("services")
            for i in range(a.services // 2, a.services):
                server.store.delete(services, "apps", f"svc{i}")
            return idle, before, wait_change(port, None, before)
        finally:
            stop(proc)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", choices=("manifests", "kube"), default="manifests")
    p.add_argument("--services", type=int, default=50)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--poll", type=float, default=0.2, help="manifest poll interval")
    p.add_argument("--bookmark", type=float, default=2.0, help="the double's bookmark interval (real: ~60 s)")
    p.add_argument("--settle", type=float, default=5.0)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="ilb-speaker-idle-") as tmp:
        d = Path(tmp)
        key = d / "key"
        key.write_text("0123456789abcdef0123456789abcdef")
        idle, before, after = (run_kube if a.source == "kube" else run_manifests)(a, d, key)
    how = f"poll={a.poll}s" if a.source == "manifests" else f"watch, bookmarks every {a.bookmark}s"
    print(f"source={a.source} ({how}) services={a.services} window={a.seconds:.0f}s")
    print(f"idle CPU: {idle * 100:.2f}% of one core")
    print(f"announced before change: {before}, after removing half the Services: {after}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
