"""Helpers for the BGP namespace tests: a manifest "cluster", real speakers on lab nodes, router views.

The lab itself (namespaces, FRR/BIRD) comes from ``ironlb.lab``; this module adds
what the BGP tests share: writing cluster state atomically, starting the real
``ironlb-speaker`` on nodes, and reading the router's kernel FIB and BGP table.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ironlb.lab.runner import Lab
from tests.support.bgp_objects import config_map, dump, node
from tests.support.daemons import stop_process

T = TypeVar("T")

NODES = {"node1": "172.30.0.11", "node2": "172.30.0.12", "node3": "172.30.0.13"}
ROUTER = "172.30.0.1"


def router_peer(address: str = ROUTER, *, hold: int = 9, more: str = "") -> str:
    """The ConfigMap ``peers`` entry for the labs' router (AS 64512; the nodes are AS 64513), one line.

    ``more``: further fields in the same flow style (``"bfd-profile: fast"``).
    """
    extra = f", {more}" if more else ""
    return f'- {{peer-address: "{address}", peer-asn: 64512, my-asn: 64513, hold-time: {hold}s{extra}}}'


class Cluster:
    """A manifest directory the speakers read: config, nodes, services, endpoint slices."""

    def __init__(self, directory: Path, config_yaml: str, nodes: Mapping[str, str] = NODES) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_yaml = config_yaml
        self.nodes = [node(n, a) for n, a in nodes.items()]
        self.objects: list[dict[str, Any]] = []
        self.write()

    def write(
        self, objects: Iterable[dict[str, Any]] | None = None, *, config_yaml: str | None = None
    ) -> None:
        if objects is not None:
            self.objects = list(objects)
        if config_yaml is not None:
            self.config_yaml = config_yaml
        text = dump([config_map(self.config_yaml), *self.nodes, *self.objects])
        tmp = self.dir.parent / (self.dir.name + ".tmp.yaml")
        tmp.write_text(text)
        os.replace(tmp, self.dir / "cluster.yaml")


class Speakers:
    """The real ``ironlb-speaker`` (``python -m speaker``) on lab nodes."""

    def __init__(self, lab: Lab, cluster: Cluster, workdir: Path) -> None:
        self.lab = lab
        self.cluster = cluster
        self.workdir = workdir
        self.key = workdir / "membership.key"
        self.key.write_text("bgp-test-membership-key-0123456789abcdef\n")
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def log_path(self, name: str) -> Path:
        return self.workdir / f"speaker-{name}.log"

    def workdir_of(self, name: str) -> Path:
        return self.workdir / f"bgp-{name}"

    def start(
        self, name: str, *, password_dir: Path | None = None, graceful_restart: int = 30
    ) -> subprocess.Popen[bytes]:
        argv = [
            sys.executable,
            "-m",
            "speaker",
            "--node",
            name,
            "--manifests",
            str(self.cluster.dir),
            "--membership-key-file",
            str(self.key),
            "--metrics-address",
            "127.0.0.1:7473",
            "--poll-interval",
            "0.05",
            "--bgp-workdir",
            str(self.workdir_of(name)),
            "--bgp-graceful-restart",
            str(graceful_restart),
        ]
        if password_dir is not None:
            argv += ["--bgp-password-dir", str(password_dir)]
        proc = self.lab.spawn(
            name, argv, name=f"speaker-{name}", log_file=self.log_path(name), cwd=Path(__file__).parents[2]
        )
        self.procs[name] = proc
        return proc

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Signal a speaker and reap it (SIGKILL after 10 s)."""
        stop_process(self.procs.pop(name), 10, sig)

    def exabgp_pid(self, name: str) -> int | None:
        """The ExaBGP child of a node's speaker (from /proc)."""
        parent = self.procs[name].pid
        for child in _children(parent):
            if b"exabgp" in _cmdline(child) and b"relay.py" not in _cmdline(child):
                return child
        return None

    def metrics(self, name: str) -> str:
        """The speaker's Prometheus exposition (its metrics server listens on 127.0.0.1:7473 in the node)."""
        code = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:7473/metrics').read().decode())"
        return self.lab.exec(name, [sys.executable, "-c", code]).stdout

    def logs(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        """SIGTERM every speaker at once, then reap them."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name in list(self.procs):
            self.stop(name)


@contextmanager
def speakers_on(lab: Lab, cluster: Cluster, workdir: Path, nodes: Mapping[str, str]) -> Iterator[Speakers]:
    """A real speaker on each of ``nodes``, sessions Established; always stopped, crashes printed."""
    speakers = Speakers(lab, cluster, workdir)
    try:
        for name in nodes:
            speakers.start(name)
        lab.wait_established(nodes.values(), timeout=40)
        yield speakers
    finally:
        speakers.stop_all()
        for name in nodes:
            if "Traceback" in speakers.logs(name):
                print(speakers.logs(name)[-3000:])


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone meanwhile
        return b""


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out += [int(x) for x in text]
    except OSError:
        pass
    return out


def fib_nexthops(lab: Lab, prefix: str, ns_node: str = "router") -> frozenset[str]:
    """Next hops of ``prefix`` in the router's kernel FIB (empty when absent)."""
    family = "-6" if ":" in prefix else "-4"
    out = lab.exec(ns_node, ["ip", family, "-j", "route", "show", "exact", prefix]).stdout
    routes = json.loads(out or "[]")
    hops: set[str] = set()
    for r in routes:
        if "gateway" in r:
            hops.add(r["gateway"])
        for nh in r.get("nexthops", []):
            if "gateway" in nh:
                hops.add(nh["gateway"])
    return frozenset(hops)


def vtysh_json(lab: Lab, command: str) -> Any:
    plan = lab.routers["router"]
    out = lab.exec("router", list(plan.query_argv(command))).stdout
    return json.loads(out or "{}")


def birdc(lab: Lab, command: str) -> str:
    plan = lab.routers["router"]
    return lab.exec("router", list(plan.query_argv(command))).stdout


def copy_topology(name: str, dest: Path) -> Path:
    """A private copy of ``containerlab/<name>`` (to change a router config for one test)."""
    from ironlb.lab.fixture import REPO_CONTAINERLAB

    shutil.copytree(REPO_CONTAINERLAB / name, dest / name)
    return dest / name / f"{name}.clab.yml"
