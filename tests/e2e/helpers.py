"""What the end-to-end tests share: waiting, the client probe, reading the lab cluster, Service builders."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from ironlb.lab.fixture import require_netns, running_lab, topology_path
from ironlb.lab.runner import Lab
from ironlb.lab.system import IronlbSystem
from tests.support.waiting import wait_for as wait_for  # re-exported for the e2e tests

T = TypeVar("T")

# Runs inside the client namespace: N connections (each from a new source port), one GET each;
# prints the answers (the node names the test backends send) or the error of each connection.
CLIENT = r"""
import json, socket, sys
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
answers = []
for _ in range(n):
    try:
        with socket.create_connection((ip, port), timeout=1.0) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        answers.append(data.split(b"\r\n\r\n", 1)[1].decode().strip())
    except OSError as exc:
        answers.append("error: " + type(exc).__name__)
print(json.dumps(answers))
"""


def answers(lab: Lab, ip: str, n: int = 60, node: str = "client") -> Counter[str]:
    """What ``n`` fresh HTTP connections from ``node`` to ``ip``:80 got back."""
    result = lab.exec(node, [sys.executable, "-c", CLIENT, ip, "80", str(n)], timeout=120)
    assert result.returncode == 0, result.stderr
    return Counter(json.loads(result.stdout))


def wait_served(system: IronlbSystem, ip: str, nodes: Iterable[str], port: int = 80) -> None:
    """Wait until the lab's node agent listens on ``ip``:``port`` on each of ``nodes``.

    The agent (the lab's kube-proxy stand-in) reads the cluster on its own schedule,
    so a route can reach the router before the backend is there; a real cluster has
    the same race between the speaker and kube-proxy. Tests about routing wait for both.
    """
    want = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"

    def listening(node: str) -> bool:
        lines = lab.exec(node, ["ss", "-Hltn"]).stdout.splitlines()
        return any(len(f) > 3 and f[3] == want for f in (line.split() for line in lines))

    lab = system.lab
    for node in nodes:
        try:
            wait_for(lambda: listening(node), what=f"{node}'s backend on {want}")  # noqa: B023
        except AssertionError as exc:
            agent = system.log_path(node, "ironlb-nodeagent")
            tail = agent.read_text(errors="replace")[-3000:] if agent.exists() else "(no log)"
            alive = system.procs[node, "ironlb-nodeagent"].poll() is None
            note = f"node agent on {node} running={alive}; its log ends:\n{tail}"
            raise AssertionError(f"{exc}\n{note}") from None


def lb_ips(system: IronlbSystem, name: str) -> tuple[str, ...]:
    """The Service's LoadBalancer IPs as the speakers read them (manifest + controller status)."""
    for s in system.source().snapshot().services:
        if s["metadata"]["name"] == name:
            ingress = ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            return tuple(e["ip"] for e in ingress)
    return ()


def service(
    name: str, cluster_ip: str, nodes: Sequence[str], *, spec: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """A LoadBalancer Service on port 80 and its EndpointSlice with one ready endpoint per node."""
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
         "spec": {"type": "LoadBalancer", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                  "ports": [{"port": 80, "protocol": "TCP"}], **(spec or {})}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": f"{name}-1", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": name}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": [f"10.244.{i}.20"], "conditions": {"ready": True}, "nodeName": n}
                       for i, n in enumerate(nodes)]},
    ]  # fmt: skip


def print_failures(system: IronlbSystem) -> None:
    for node, name in system.procs:
        path = system.log_path(node, name)
        text = path.read_text(errors="replace") if path.exists() else ""
        if "Traceback" in text:
            print(f"--- {name} on {node}\n{text[-3000:]}")


@contextmanager
def ironlb_system(topology: str) -> Iterator[IronlbSystem]:
    """A lab of ``topology`` with ironlb running on it, ready; always torn down, failures printed."""
    require_netns()
    with running_lab(topology_path(topology)) as lab:
        system = IronlbSystem(lab).start()
        try:
            system.wait_ready(timeout=60)
            yield system
        finally:
            print_failures(system)
