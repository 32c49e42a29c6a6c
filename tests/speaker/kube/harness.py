"""A real speaker process (``python -m speaker --kubeconfig ... --no-bgp``) on the real API server.

The speaker runs in the root network namespace, so it must not touch real interfaces: the
config's ``l2.interfaces`` names an interface that does not exist (no responder, no frame
sent), membership binds to 127.0.0.1 and the Nodes' addresses are loopback ones. What it
announces is read from its metrics endpoint (``ironlb_speaker_announced``), its Events and
requests from the API server (the audit log tells the speaker's ServiceAccount apart).

Each test has its own namespaces: ``cluster.ns`` for ironlb's ConfigMap, ``cluster.apps`` for
the Services; Nodes are cluster-wide and deleted after the test (no kubelet makes them).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.pytest_plugin import Kube
from tests.support.waiting import wait_while_running

ROOT = Path(__file__).resolve().parents[3]
NO_INTERFACE = "ilbspk-none"  # matches no interface: layer 2 decides but never sends
MERGE = "application/merge-patch+json"

Obj = dict[str, Any]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(cidr: str = "192.0.2.0/28", **extra: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ironlb"},
        "data": {
            "config": yaml.safe_dump(
                {
                    "address-pools": [{"name": "l2", "protocol": "layer2", "addresses": [cidr]}],
                    "l2": {"interfaces": [NO_INTERFACE]},
                    **extra,
                }
            )
        },
    }


def node(name: str, address: str, labels: dict[str, str] | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "status": {
            "addresses": [{"type": "InternalIP", "address": address}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def service(name: str, ip: str, etp: str = "Cluster") -> Obj:
    """A LoadBalancer Service with ``ip`` in its status (written through /status, as the controller does)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": etp,
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": ip}]}},
    }


def endpoint_slice(service_name: str, node_name: str, *, ready: bool = True) -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": f"{service_name}-x7k2p", "labels": {"kubernetes.io/service-name": service_name}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": ready}, "nodeName": node_name}],
        "ports": [{"port": 80, "protocol": "TCP"}],
    }


class Cluster:
    """The test's part of the real cluster, with the kinds the speaker reads."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.ns = kube.ns  # ironlb's ConfigMap
        self.apps = kube.namespace("apps")  # the Services
        self.core = kube.core
        self.discovery = kube.discovery

    # How the speaker's ``announced()`` shows Services web and old.
    @property
    def web(self) -> tuple[str, str, str]:
        return (f"{self.apps}/web", "layer2", "192.0.2.1")

    @property
    def old(self) -> tuple[str, str, str]:
        return (f"{self.apps}/old", "layer2", "192.0.2.4")

    def announcement(self, name: str, ip: str) -> tuple[str, str, str]:
        return (f"{self.apps}/{name}", "layer2", ip)

    def create_service(self, body: Obj) -> None:
        name = body["metadata"]["name"]
        self.core.create_namespaced_service(self.apps, {k: v for k, v in body.items() if k != "status"})
        if body.get("status"):
            self.core.patch_namespaced_service_status(name, self.apps, {"status": body["status"]})

    def seed(self, *, nodes: list[Obj], services: list[Obj], slices: list[Obj], cm: Obj | None) -> None:
        for n in nodes:
            self.kube.create_node(n)
        if cm is not None:
            self.core.create_namespaced_config_map(self.ns, cm)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(self.create_service, services))
        for e in slices:
            self.discovery.create_namespaced_endpoint_slice(self.apps, e)

    def seed_web(self, *, nodes: int = 1, etp: str = "Cluster", with_config: bool = True) -> None:
        """Nodes n1, n2, ... (127.0.0.1, ...), Service web (192.0.2.1) with its endpoint on n1, and the
        default config unless ``with_config`` is false."""
        self.seed(
            nodes=[node(f"n{i}", f"127.0.0.{i}") for i in range(1, nodes + 1)],
            services=[service("web", "192.0.2.1", etp=etp)],
            slices=[endpoint_slice("web", "n1")],
            cm=config() if with_config else None,
        )

    def seed_web_and_old(self) -> None:
        """One node, n1, serving two layer-2 Services: ``web`` and ``old`` as announced."""
        self.seed(
            nodes=[node("n1", "127.0.0.1")],
            services=[service("web", "192.0.2.1"), service("old", "192.0.2.4")],
            slices=[endpoint_slice("web", "n1"), endpoint_slice("old", "n1")],
            cm=config(),
        )

    def events(self, reason: str = "nodeAssigned") -> list[Obj]:
        resp = self.core.list_namespaced_event(self.apps, _preload_content=False)
        return [e for e in json.loads(resp.data)["items"] if e.get("reason") == reason]

    def read(self, name: str) -> Obj:
        out: Obj = json.loads(self.core.read_namespaced_service(name, self.apps, _preload_content=False).data)
        return out


class SpeakerProcess:
    def __init__(
        self, workdir: Path, kubeconfig: Path, namespace: str, node_name: str = "n1", *extra: str
    ) -> None:
        self.workdir = workdir
        self.metrics_port = free_port()
        key = workdir / "memberkey"
        key.write_text("0123456789abcdef0123456789abcdef")
        self.argv = [
            sys.executable, "-m", "speaker", "--node", node_name, "--kubeconfig", str(kubeconfig),
            "--namespace", namespace, "--membership-key-file", str(key), "--membership-bind", "127.0.0.1",
            "--membership-port", str(free_port(socket.SOCK_DGRAM)),
            "--metrics-address", f"127.0.0.1:{self.metrics_port}", "--no-bgp", *extra,
        ]  # fmt: skip
        self.logfile = workdir / f"speaker-{node_name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SpeakerProcess:
        with open(self.logfile, "wb") as out:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(signal.SIGKILL)

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")

    def samples(self, name: str) -> list[tuple[dict[str, str], float]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return []
        return [
            (dict(s.labels), s.value)
            for fam in text_string_to_metric_families(text)
            for s in fam.samples
            if s.name == name
        ]

    def get(self, path: str) -> tuple[int, str] | None:
        """(status, body) of ``GET path`` on the metrics port; None while nothing answers."""
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read().decode()
        except OSError:
            return None

    def announced(self) -> set[tuple[str, str, str]]:
        """(service, protocol, ip) this speaker announces, from ``ironlb_speaker_announced``."""
        return {
            (labels["service"], labels["protocol"], labels["ip"])
            for labels, value in self.samples("ironlb_speaker_announced")
            if value == 1
        }

    def until(self, what: str, cond: Callable[[], Any], timeout: float = 15.0) -> Any:
        try:
            return wait_while_running(what, cond, timeout, self.proc)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- speaker log ---\n{self.log()[-4000:]}") from None
