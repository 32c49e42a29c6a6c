"""The layer-2 speaker's lab: the shared namespace runner (``ironlb.lab``) plus speaker helpers.

Topologies: ``tests/support/two-segments.clab.yml`` (containerlab/layer2 plus a
second segment, ``eth2`` on ``br-b``, that the config does not allow) for the
tests, ``tests/support/four-nodes.clab.yml`` (a fourth node) for the partitions
that need one, ``containerlab/layer2`` for the benchmark. Speakers run as real processes
(``python -m speaker``) spawned by the lab inside the node namespaces, fed by a
manifest directory. ``close()`` tears everything down, even after failures.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ironlb.lab.runner import Lab
from ironlb.lab.system import NODE_SYSCTLS
from ironlb.lab.topology import load_topology
from speaker.failover import LEGACY_TIMING, Timing
from speaker.options import TIMING_FLAGS
from tests.support.daemons import stop_process
from tests.support.objects import endpoint_slice as endpoint_slice  # re-exported for the layer-2 tests

REPO_ROOT = Path(__file__).resolve().parents[2]
TWO_SEGMENTS = Path(__file__).with_name("two-segments.clab.yml")
FOUR_NODES = Path(__file__).with_name("four-nodes.clab.yml")
KEY = "ironlb-test-membership-key-0123456789"


TIMINGS = {"before": LEGACY_TIMING, "now": Timing()}
"""What the benchmarks compare: the membership timing before issue 11, and today's defaults."""


def timing_flags(t: Timing) -> list[str]:
    """The speaker flags that select membership timing ``t``."""
    out: list[str] = []
    for flag in TIMING_FLAGS:
        group, name = flag.key.split("__")
        if group == "membership":
            out += [flag.name, str(getattr(t, name))]
    return out


def sh(*cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)


def ns_run(ns: str, *cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, *cmd, check=check, timeout=timeout)


class L2Lab:
    def __init__(self, topology: Path = TWO_SEGMENTS, prefix: str | None = None) -> None:
        self.topology = load_topology(topology)
        self.prefix = prefix or f"l2t{os.getpid() % 100000}"
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        self.lab = Lab(self.topology, instance=self.prefix, state_root_dir=self.dir / "state")
        self.node_names = sorted(n.name for n in self.topology.nodes if n.name.startswith("node"))
        self.client = self.lab.namespace("client")
        self.sw = self.lab.namespace("br-l2")
        self.manifests = self.dir / "manifests"
        self.manifests.mkdir()
        self.key_file = self.dir / "key"
        self.key_file.write_text(KEY)
        self.speakers: dict[str, subprocess.Popen[bytes]] = {}
        self.speaker_args: list[str] = []
        """Extra flags of every speaker started from now on (benchmarks compare timings with them)."""
        self.macs: dict[str, str] = {}
        self.node_addresses: dict[str, list[str]] = {}
        self.client_mac = ""

    def ns(self, node: str) -> str:
        return self.lab.namespace(node)

    def up(self) -> None:
        self.lab.up()
        self.client_mac = self.mac(self.client, "eth1")
        for n in self.node_names:
            self.macs[n] = self.mac(self.ns(n), "eth1")
            self.node_addresses[n] = [str(i.ip) for i in self.lab.addresses(n).get("eth1", [])]

    def mac(self, ns: str, dev: str) -> str:
        out = sh("ip", "-n", ns, "-o", "link", "show", dev).stdout
        return out.split("link/ether ")[1].split()[0]

    # ---- manifests ------------------------------------------------------------------

    def write_manifests(
        self,
        services: Sequence[dict[str, Any]],
        slices: Sequence[dict[str, Any]],
        *,
        config: str | None = None,
        nodes: Sequence[str] | None = None,
        resources: Sequence[dict[str, Any]] | None = None,
        node_labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """The cluster the speakers read: the ConfigMap (``config``, else the default one), or
        instead, ``resources`` (ironlb.io objects, no ConfigMap); Nodes with ``node_labels``."""
        config = config or (
            "address-pools:\n- name: l2\n  protocol: layer2\n"
            "  addresses: [172.30.0.200-172.30.0.220, 'fd00:30::200-fd00:30::220']\n"
            "l2:\n  interfaces: [eth1]\n"
        )
        docs: list[dict[str, Any]] = [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "ironlb", "namespace": "ironlb-system"},
                "data": {"config": config},
            }
        ]
        if resources is not None:
            docs = list(resources)
        for n in self.node_names:
            if nodes is not None and n not in nodes:
                continue
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": n, "labels": dict((node_labels or {}).get(n, {}))},
                    "status": {
                        "addresses": [{"type": "InternalIP", "address": a} for a in self.node_addresses[n]]
                    },
                }
            )
        docs += list(services) + list(slices)
        tmp = self.manifests / "cluster.yaml.tmp"
        tmp.write_text(yaml.safe_dump_all(docs))
        tmp.rename(self.manifests / "cluster.yaml")

    # ---- speakers -------------------------------------------------------------------

    def start_speaker(self, node: str, *extra: str) -> subprocess.Popen[bytes]:
        argv = [
            sys.executable, "-m", "speaker", "--node", node, "--manifests", str(self.manifests),
            "--membership-key-file", str(self.key_file), "--poll-interval", "0.2", "--no-bgp",
            *self.speaker_args, *extra,
        ]  # fmt: skip
        proc = self.lab.spawn(node, argv, name="speaker", log_file=self.dir / f"{node}.log")
        self.speakers[node] = proc
        return proc

    def stop_speaker(self, node: str, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        proc = self.speakers.pop(node, None)
        if proc is not None:
            stop_process(proc, timeout, sig)

    def start_all_speakers(self, flags: Sequence[str], vip: str) -> None:
        """Start every node's speaker with ``flags``; return once all count each other live and ``vip``
        answers ARP (RuntimeError if that takes over 30 s)."""
        self.speaker_args = list(flags)
        for n in self.node_names:
            self.start_speaker(n)
        if not wait_for(lambda: self.all_live() and self.arping(vip, count=1, timeout=1), timeout=30):
            raise RuntimeError("speakers did not come up")

    def stop_all_speakers(self) -> None:
        for n in list(self.speakers):
            self.stop_speaker(n, signal.SIGTERM)

    def all_live(self) -> bool:
        """Every speaker counts every node as a live member (read from its metrics)."""
        members = f"ironlb_membership_members {float(len(self.node_names))}"
        return all(members in self.metrics(n) for n in self.node_names)

    def log(self, node: str) -> str:
        p = self.dir / f"{node}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    # ---- client probes ---------------------------------------------------------------

    def arping(self, ip: str, dev: str = "eth1", count: int = 2, timeout: float = 3) -> list[str]:
        """MACs of the ARP replies the client got (one entry per reply)."""
        r = ns_run(self.client, "arping", "-c", str(count), "-w", str(timeout), "-I", dev, ip, check=False)
        macs = []
        for line in r.stdout.splitlines():
            if line.startswith("Unicast reply"):
                macs.append(line.split("[")[1].split("]")[0].lower())
        return macs

    def ndisc(self, ip: str, dev: str = "eth1") -> list[str]:
        r = ns_run(self.client, "ndisc6", "-1", "-r", "1", "-w", "1000", ip, dev, check=False)
        return [
            line.split(":", 1)[1].strip().lower()
            for line in r.stdout.splitlines()
            if "Target link-layer" in line
        ]

    def solicit(self, ip: str, dev: str = "eth1", wait: float = 1.0) -> list[str]:
        """Target MACs of every solicited NA the client got on ``dev`` within ``wait`` s (``ndprobe``)."""
        argv = [sys.executable, "-m", "tests.support.layer2_ndprobe", ip, dev, f"{wait:g}"]
        r = subprocess.run(
            ["ip", "netns", "exec", self.client, *argv],
            capture_output=True, text=True, timeout=wait + 30, cwd=REPO_ROOT, check=True,
        )  # fmt: skip
        return r.stdout.split()

    def neigh(self, ip: str) -> str | None:
        out = ns_run(self.client, "ip", "neigh", "show", ip).stdout.split()
        return out[out.index("lladdr") + 1].lower() if "lladdr" in out else None

    def owner_by_mac(self, mac: str) -> str | None:
        for n, m in self.macs.items():
            if m == mac:
                return n
        return None

    def set_link(self, node: str, up: bool) -> None:
        """Cut a node off the allowed segment (or reconnect it) at its switch port."""
        sh("ip", "-n", self.sw, "link", "set", f"l2-{node}", "up" if up else "down")

    def partition(self, nodes: Sequence[str]) -> None:
        """Split the allowed segment in two, links up: ``nodes`` reach each other, not the others nor
        the client."""
        self.block(nodes, [p for p in self._ports() if p not in nodes])

    def _ports(self) -> dict[str, str]:
        """Every switch port's host (``l2-<host>``) and its MAC, in a fixed order (its filters' prefs)."""
        return {n: self.macs[n] for n in self.node_names} | {"client": self.client_mac}

    def block(self, a: Sequence[str], b: Sequence[str]) -> None:
        """Hosts (nodes, ``client``) in ``a`` and in ``b`` stop hearing each other, links up; the rest flows.

        Each switch port drops on its way out the frames from the other side's MACs (a u32 match on
        the source MAC, redirected to a veth that leads nowhere: what this lab's kernel supports), one
        filter per source, whose pref :meth:`unblock` deletes.
        """
        ports = self._ports()
        if "l2-void" not in sh("ip", "-n", self.sw, "-o", "link", "show").stdout:
            sh("ip", "-n", self.sw, "link", "add", "l2-void", "type", "veth", "peer", "name", "l2-void-end")
            sh("ip", "-n", self.sw, "link", "set", "l2-void", "up")
            sh("ip", "-n", self.sw, "link", "set", "l2-void-end", "up")
        for port, other in [(p, q) for p in a for q in b] + [(q, p) for p in a for q in b]:
            dev = f"l2-{port}"
            if "clsact" not in sh("tc", "-n", self.sw, "qdisc", "show", "dev", dev).stdout:
                sh("tc", "-n", self.sw, "qdisc", "add", "dev", dev, "clsact")
            hexmac = ports[other].replace(":", "")
            sh(
                "tc", "-n", self.sw, "filter", "add", "dev", dev, "egress", "pref", self._pref(other),
                "protocol", "all", "u32",
                "match", "u32", f"0x{hexmac[:8]}", "0xffffffff", "at", "-8",
                "match", "u16", f"0x{hexmac[8:]}", "0xffff", "at", "-4",
                "action", "mirred", "egress", "redirect", "dev", "l2-void",
            )  # fmt: skip

    def unblock(self, a: Sequence[str], b: Sequence[str]) -> None:
        """Undo :meth:`block` between ``a`` and ``b`` only: every other cut stays."""
        for port, other in [(p, q) for p in a for q in b] + [(q, p) for p in a for q in b]:
            sh("tc", "-n", self.sw, "filter", "del", "dev", f"l2-{port}", "egress", "pref", self._pref(other))

    def _pref(self, host: str) -> str:
        return str(10 + list(self._ports()).index(host))

    def heal(self) -> None:
        """Undo :meth:`partition` and :meth:`block`: every port forwards everything again."""
        for port in [*self.node_names, "client"]:
            sh("tc", "-n", self.sw, "qdisc", "del", "dev", f"l2-{port}", "clsact", check=False)

    def hold_vips(self, *ips: str) -> None:
        """Every node accepts traffic for ``ips`` but leaves ARP/NDP to the speaker (kube-proxy IPVS).

        Same approach as ``ironlb.lab.nodeagent`` with ``ironlb.lab.system``: the
        IPs go on ``lo``, and ``arp_ignore=1``/``arp_announce=2`` keep the node's
        kernel from answering ARP for them (LAB.md's trap).
        """
        for n in self.node_names:
            ns_run(self.ns(n), "sysctl", "-qw", *NODE_SYSCTLS)
            for ip in ips:
                plen = 128 if ":" in ip else 32
                ns_run(self.ns(n), "ip", "addr", "replace", f"{ip}/{plen}", "dev", "lo")

    def start_ping(self, ip: str, interval: float, name: str) -> Ping:
        """Ping ``ip`` from the client every ``interval`` s until :meth:`Ping.stop` (the lab reaps it)."""
        log = self.dir / f"{name}.log"
        log.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "tests.support.layer2_icmpprobe", ip, f"{interval:g}"]
        ping = Ping(self.lab.spawn("client", argv, name=name, log_file=log, cwd=REPO_ROOT), log)
        if not ping.wait_ready():
            ping.stop()
            raise RuntimeError(f"the ICMP probe did not start:\n{log.read_text(errors='replace')}")
        return ping

    def watch_neigh(self, ip: str, name: str) -> NeighWatch:
        """Record every change of the client's neighbour entry for ``ip`` (``ip monitor neigh``)."""
        log = self.dir / f"{name}.log"
        log.unlink(missing_ok=True)
        proc = self.lab.spawn("client", ["ip", "monitor", "neigh"], name=name, log_file=log)
        # ip monitor prints nothing until a change: give it a moment to subscribe before the trial
        time.sleep(0.1)
        return NeighWatch(proc, log, ip)

    def record_neighbours(self, ips: Sequence[str], name: str) -> NeighbourLog:
        """Record the client's neighbour entries for ``ips`` with timestamps.

        (``tests.support.layer2_neighwatch``, run in the client's namespace.)"""
        log = self.dir / f"{name}.log"
        log.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "tests.support.layer2_neighwatch", "eth1", *ips]
        rec = NeighbourLog(self.lab.spawn("client", argv, name=name, log_file=log, cwd=REPO_ROOT), log)
        if not wait_for(lambda: "ready" in log.read_text(errors="replace"), 10, 0.02):
            rec.stop()
            raise RuntimeError(f"the neighbour watcher did not start:\n{log.read_text(errors='replace')}")
        return rec

    def gratuitous_sent(self, node: str, ip: str) -> float:
        """``ironlb_layer2_gratuitous_sent_total`` of ``ip`` on ``node`` (0 when it never announced it)."""
        prefix = f'ironlb_layer2_gratuitous_sent_total{{ip="{ip}"}} '
        lines = [line for line in self.metrics(node).splitlines() if line.startswith(prefix)]
        return float(lines[0].split()[1]) if lines else 0.0

    def wait_quiet(self, node: str, ip: str, quiet: float, timeout: float = 15) -> bool:
        """Until ``node`` sent no gratuitous frame for ``ip`` for ``quiet`` seconds (its bursts are over)."""
        deadline = time.monotonic() + timeout
        last, changed = self.gratuitous_sent(node, ip), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.gratuitous_sent(node, ip)
            if now != last:
                last, changed = now, time.monotonic()
            elif time.monotonic() - changed > quiet:
                return True
        return False

    def metrics(self, node: str) -> str:
        code = (
            "import urllib.request as u\n"
            "try: print(u.urlopen('http://127.0.0.1:7473/metrics', timeout=2).read().decode())\n"
            "except OSError: pass"
        )
        return ns_run(self.ns(node), sys.executable, "-c", code, check=False).stdout

    def close(self) -> None:
        try:
            for node in list(self.speakers):
                self.stop_speaker(node, signal.SIGKILL, timeout=5)
        finally:
            self.lab.down()
            shutil.rmtree(self.dir, ignore_errors=True)


@dataclass(frozen=True)
class PingResult:
    """What one :mod:`tests.support.layer2_icmpprobe` run saw."""

    sent: int
    received: int
    lost: list[int]
    """Sequence numbers without a reply (0 is the first request)."""
    lost_at: list[float]
    """When each lost request was sent, seconds after the first one."""
    duplicates: int
    send_errors: int
    interval: float
    duration: float
    longest_gap: float
    """Longest time between two consecutive replies, seconds."""
    max_rtt: float
    text: str


class Ping:
    """A running :mod:`tests.support.layer2_icmpprobe` in the client namespace."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log = log

    def wait_ready(self, timeout: float = 10) -> bool:
        return bool(wait_for(lambda: "ready" in self.log.read_text(errors="replace"), timeout, 0.02))

    def stop(self) -> PingResult:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        text = self.log.read_text(errors="replace")
        lines = [line for line in text.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"the ICMP probe printed no result:\n{text[-2000:]}")
        fields = json.loads(lines[-1])
        return PingResult(text=text, **fields)


class NeighWatch:
    """A running ``ip monitor neigh`` in the client namespace, filtered to one IP."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path, ip: str) -> None:
        self.proc = proc
        self.log = log
        self.ip = ip

    def macs(self) -> list[str]:
        """The MACs the entry took, in order, each change once (FAILED/INCOMPLETE ones left out)."""
        out: list[str] = []
        for line in self.log.read_text(errors="replace").splitlines():
            words = line.split()
            if not words or words[0] != self.ip or "lladdr" not in words:
                continue
            mac = words[words.index("lladdr") + 1].lower()
            if not out or out[-1] != mac:
                out.append(mac)
        return out

    def stop(self) -> list[str]:
        stop_process(self.proc, 5)
        return self.macs()


@dataclass(frozen=True)
class NeighbourChange:
    t: float
    """CLOCK_MONOTONIC seconds (``time.monotonic()`` in any process on the host)."""
    ip: str
    mac: str | None
    state: str


class NeighbourLog:
    """A running :mod:`tests.support.layer2_neighwatch` in the client namespace."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log = log

    def stop(self) -> list[NeighbourChange]:
        stop_process(self.proc, 5)
        return [
            NeighbourChange(**json.loads(line))
            for line in self.log.read_text(errors="replace").splitlines()
            if line.startswith("{")
        ]


def pointing_elsewhere(
    changes: Sequence[NeighbourChange], ip: str, mac: str, end: float
) -> list[tuple[float, float, str]]:
    """(start, duration, MAC) of each stretch until ``end`` when the entry for ``ip`` held a MAC but ``mac``.

    An entry without a MAC (INCOMPLETE, FAILED, deleted) points nowhere and is not counted.
    """
    out: list[tuple[float, float, str]] = []
    since: tuple[float, str] | None = None
    for c in (c for c in changes if c.ip == ip):
        wrong = c.mac is not None and c.mac != mac
        if since is not None and (not wrong or c.mac != since[1]):
            out.append((since[0], c.t - since[0], since[1]))
            since = None
        if wrong and since is None:
            assert c.mac is not None
            since = (c.t, c.mac)
    if since is not None:
        out.append((since[0], end - since[0], since[1]))
    return out


def wait_for(pred: Callable[[], Any], timeout: float = 10, interval: float = 0.1) -> Any:
    """Poll ``pred`` until it returns something truthy (returned) or time runs out (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def service(
    name: str, ips: Sequence[str], *, etp: str = "Cluster", namespace: str = "default"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": etp, "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]}},
    }
