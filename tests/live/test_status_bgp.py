"""``ServiceBGPStatus`` tells the truth: peers whose session is up, and no object for a dead node.

The real parts: the session's kube-apiserver, the controller, three speakers (``python -m speaker
--kubeconfig``, BGP on) in the ``bgp-ecmp`` lab's node namespaces, and its FRR router. The API
server listens on the root namespace's loopback; a loopback relay makes it answer on each node
namespace's loopback too (``tests.support.netns_relay``), so nothing but the lab's own links and
loopback carry traffic. Every node announces the Service (externalTrafficPolicy Cluster):

- the router shuts node1's session down: node1's object lists no peer (its routes go nowhere),
  and the peer again once the session is back up;
- node3's speaker is SIGKILLed: the membership's majority declares it dead and one live speaker
  deletes node3's object; the others stay.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from ironlb.lab.fixture import require_netns, running_lab, topology_path
from ironlb.lab.runner import Lab
from tests.live.conftest import REPO, Live
from tests.support.daemons import stop_process
from tests.support.netns_relay import LoopbackRelay
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.netns, pytest.mark.usefixtures("subreaper")]

ROUTER = "172.30.0.1"
PEER = f"peer-{ROUTER}"
LAB_NODES = ("node1", "node2", "node3")
CONFIG = {
    "peers": [{"peer-address": ROUTER, "peer-asn": 64512, "my-asn": 64513, "hold-time": "9s"}],
    "address-pools": [{"name": "pub", "protocol": "bgp", "addresses": ["198.51.100.0/28"]}],
}


@pytest.fixture
def lab(live: Live) -> Iterator[Lab]:
    """The bgp-ecmp lab (FRR router, three nodes) whose node namespaces reach the API server."""
    require_netns()
    instance = f"stsbgp-{os.getpid() % 100000}"
    with (
        running_lab(topology_path("bgp-ecmp"), instance=instance) as bgp,
        LoopbackRelay(live.kube.cp.port, [bgp.namespace(n) for n in LAB_NODES]),
    ):
        yield bgp


def _start_speaker(
    lab: Lab, live: Live, node: str, name: str, kubeconfig: Path, key: Path
) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable, "-m", "speaker", "--node", name, "--kubeconfig", str(kubeconfig),
        "--namespace", live.ns, "--lb-class", live.lb_class, "--membership-key-file", str(key),
        "--bgp-workdir", str(live.tmp / f"bgp-{node}"), "--bgp-graceful-restart", "0",
    ]  # fmt: skip
    return lab.spawn(node, argv, name="speaker", log_file=live.tmp / f"speaker-{node}.log", cwd=REPO)


def _peers_by_node(live: Live) -> dict[str, list[str]]:
    custom = client.CustomObjectsApi(live.kube.api)
    found = custom.list_namespaced_custom_object("ironlb.io", "v1beta1", live.ns, "servicebgpstatuses")
    return {o["status"]["node"]: o["status"]["peers"] for o in found["items"] if o.get("status")}


def _neighbor(lab: Lab, address: str, shutdown: bool) -> None:
    line = f"{'' if shutdown else 'no '}neighbor {address} shutdown"
    vty = ["vtysh", "--vty_socket", str(lab.routers["router"].directory)]
    done = lab.exec("router", [*vty, "-c", "configure terminal", "-c", "router bgp 64512", "-c", line])
    assert done.returncode == 0, done.stderr


def test_peers_follow_the_session_and_a_dead_nodes_object_goes(live: Live, lab: Lab) -> None:
    nodes = live.add_nodes(3, prefix="172.30.0.1")  # InternalIPs 172.30.0.11-13: the lab's eth1 addresses
    names = dict(zip(LAB_NODES, nodes, strict=True))
    live.set_config(CONFIG)
    live.service("web")
    ctl = live.controller()
    live.settled(ctl, lambda ips: len(ips.get("web", ())) == 1)
    kubeconfig = live.kube.kubeconfig("speaker")
    key = live.tmp / "memberkey"
    key.write_text("0123456789abcdef0123456789abcdef")
    procs = {node: _start_speaker(lab, live, node, name, kubeconfig, key) for node, name in names.items()}
    every = {name: [PEER] for name in nodes}
    try:
        wait_for(lambda: _peers_by_node(live) == every, 40, "every node's ServiceBGPStatus names the router")

        _neighbor(lab, "172.30.0.11", shutdown=True)
        down = every | {names["node1"]: []}
        wait_for(lambda: _peers_by_node(live) == down, 20, "node1's object without the peer it lost")
        _neighbor(lab, "172.30.0.11", shutdown=False)
        wait_for(lambda: _peers_by_node(live) == every, 30, "node1's object with its peer back")

        stop_process(procs["node3"], 5, signal.SIGKILL)
        alive = {names["node1"]: [PEER], names["node2"]: [PEER]}
        wait_for(lambda: _peers_by_node(live) == alive, 20, "node3's ServiceBGPStatus gone with its speaker")
    except AssertionError:
        for node in LAB_NODES:
            log = live.tmp / f"speaker-{node}.log"
            print(f"--- {node}\n{log.read_text(errors='replace')[-2000:] if log.exists() else ''}")
        raise
