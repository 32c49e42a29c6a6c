"""The lab's node agent in a network namespace of its own: a listener it cannot open yet is retried."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ironlb.lab.fixture import require_netns
from tests.e2e.helpers import service

pytestmark = pytest.mark.netns

REPO = Path(__file__).resolve().parents[2]

# Runs inside the namespace: port 80 on the Service IP is taken, so the agent cannot listen;
# once it is free again the agent listens at its next step although the manifests did not change.
SCRIPT = r"""
import socket, sys
from pathlib import Path
from ironlb.cluster.manifests import ManifestSource
from ironlb.lab.nodeagent import NodeAgent

agent = NodeAgent("node2", ManifestSource([Path(sys.argv[1])]))
blocker = socket.socket()
agent.ipr.addr("add", index=agent.lo, address="10.96.0.10", prefixlen=32)
blocker.bind(("10.96.0.10", 80))
blocker.listen()
agent.step()
print("blocked", sorted(str(ip) for ip, _ in agent.failed), sorted(str(ip) for ip, _ in agent.servers))
blocker.close()
agent.step()
print("freed", sorted(str(ip) for ip, _ in agent.failed), sorted(str(ip) for ip, _ in agent.servers))
with socket.create_connection(("10.96.0.10", 80), timeout=5) as s:
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = b""
    while chunk := s.recv(4096):  # to the end: headers and body may come in separate segments
        data += chunk
    print("answer", data.split(b"\r\n\r\n", 1)[1].decode().strip())
agent.close()
"""


def test_a_listener_that_failed_is_retried_without_a_change(tmp_path: Path) -> None:
    require_netns()
    cluster = tmp_path / "cluster"
    cluster.mkdir()
    (cluster / "web.yaml").write_text(yaml.safe_dump_all(service("web", "10.96.0.10", ["node2"])))
    ns = f"ilb-agent-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", SCRIPT, str(cluster)],
            capture_output=True, text=True, timeout=60, cwd=REPO, check=False,
        )  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "blocked ['10.96.0.10'] []",
        "freed [] ['10.96.0.10']",
        "answer node2",
    ], out.stderr


# Runs inside the namespace: each IPv6 Service address the agent puts on lo is bound at once,
# as the agent's listener does right after adding it. Without NODAD the kernel keeps a new
# address tentative for a moment even on lo, and about 1 bind in 30 failed with EADDRNOTAVAIL.
BIND_AT_ONCE = r"""
import ipaddress, socket
from pathlib import Path
from ironlb.cluster.manifests import ManifestSource
from ironlb.lab.nodeagent import NodeAgent

agent = NodeAgent("node1", ManifestSource([Path("/nonexistent")]))
failed = []
for i in range(1, 201):
    ip = ipaddress.ip_address(f"fd00:96::{i:x}")
    agent.address("add", ip)
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        try:
            s.bind((str(ip), 8080))
        except OSError as exc:
            failed.append(f"{ip}: {exc}")
    agent.address("del", ip)
agent.close()
print("failed binds:", len(failed), failed[:3])
"""


def test_an_ipv6_service_address_can_be_bound_as_soon_as_it_is_added() -> None:
    require_netns()
    ns = f"ilb-agent6-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", BIND_AT_ONCE],
            capture_output=True, text=True, timeout=60, cwd=REPO, check=False,
        )  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "failed binds: 0 []", out.stderr
