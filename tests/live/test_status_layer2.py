"""``ironlb status`` names the layer-2 owner the client's neighbour table shows, before and after a failover.

The real parts: the session's kube-apiserver, the controller, three speakers (``python -m speaker
--kubeconfig``), each in its own node namespace with ``eth1`` on a bridge (containerlab/layer2),
and a client namespace on the same bridge whose kernel resolves the Service IP (``ping``, then
``ip neigh``). The API server listens on the root namespace's loopback: a loopback relay
(``tests.support.netns_relay``) makes it answer on each namespace's loopback too, so nothing but
the lab's own bridge and loopback carries traffic. ``ironlb status`` runs in the client's
namespace, where it also reaches each speaker's metrics at its Node's address, as in a cluster.
After the owner's SIGKILL, the node that takes over deletes the dead owner's ``ServiceL2Status``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.live.conftest import REPO, Live
from tests.support.layer2_lab import L2Lab, ns_run
from tests.support.netns_relay import LoopbackRelay
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.netns, pytest.mark.usefixtures("subreaper")]

LAYER2 = REPO / "containerlab" / "layer2" / "layer2.clab.yml"
VIP = "172.30.0.200"


@pytest.fixture
def lab(live: Live) -> Iterator[L2Lab]:
    """containerlab/layer2 (3 nodes, a client, one bridge) whose namespaces reach the API server."""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    for tool in ("ping", "ip"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    l2 = L2Lab(LAYER2, prefix=f"sts{os.getpid() % 100000}")
    try:
        l2.up()
        inside = [l2.ns(n) for n in (*l2.node_names, "client")]
        with LoopbackRelay(live.kube.cp.port, inside):
            try:
                yield l2
            finally:
                for node in list(l2.speakers):
                    l2.stop_speaker(node, signal.SIGKILL, timeout=5)
    finally:
        l2.close()


def _start_speaker(lab: L2Lab, live: Live, node: str, name: str, kubeconfig: Path) -> None:
    argv = [
        sys.executable, "-m", "speaker", "--node", name, "--kubeconfig", str(kubeconfig),
        "--namespace", live.ns, "--lb-class", live.lb_class,
        "--membership-key-file", str(lab.key_file), "--no-bgp",
    ]  # fmt: skip
    lab.speakers[node] = lab.lab.spawn(node, argv, name="speaker", log_file=lab.dir / f"{node}.log")


def _client_sees(lab: L2Lab) -> str | None:
    """The lab node whose eth1 MAC the client's neighbour entry for the VIP holds, after a ping."""
    ns_run(lab.client, "ping", "-c", "1", "-W", "1", VIP, check=False)
    mac = lab.neigh(VIP)
    return lab.owner_by_mac(mac) if mac else None


def _status(live: Live, lab: L2Lab) -> dict[str, Any]:
    run = live.ironlb("status", f"{live.ns}/web", "-o", "json", netns=lab.client)
    assert run.code == 0, run.stderr
    doc: dict[str, Any] = json.loads(run.stdout)
    return doc


def _agree(live: Live, lab: L2Lab, names: dict[str, str], last: list[Any]) -> dict[str, Any] | None:
    """Status and the client's neighbour table name the same single owner (None: not yet)."""
    seen = _client_sees(lab)
    doc = _status(live, lab)
    (svc,) = doc["services"]
    last[:] = [seen, svc["announced_by"], svc["source"]]
    shown = [(a["node"], a["protocol"], a["interfaces"]) for a in svc["announced_by"]]
    if seen is None or shown != [(names[seen], "layer2", ["eth1"])]:
        return None
    return doc


def _until_agree(live: Live, lab: L2Lab, names: dict[str, str], timeout: float) -> dict[str, Any]:
    last: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = _agree(live, lab, names, last)
        if doc is not None:
            return doc
        time.sleep(0.2)
    logs = "\n".join(f"--- {n}\n{lab.log(n)[-1500:]}" for n in lab.node_names)
    raise AssertionError(f"status and the client never agreed; last (client, status, source): {last}\n{logs}")


def test_status_names_the_owner_the_clients_neighbour_table_shows(live: Live, lab: L2Lab) -> None:
    nodes = live.add_nodes(3, prefix="172.30.0.1")  # InternalIPs 172.30.0.11-13: the lab's eth1 addresses
    names = dict(zip(lab.node_names, nodes, strict=True))
    pool = {"name": "l2", "protocol": "layer2", "addresses": [f"{VIP}/32"]}
    live.set_config({"address-pools": [pool], "l2": {"interfaces": ["eth1"]}})
    lab.hold_vips(VIP)  # every node accepts the VIP; ARP for it is left to the speaker
    live.service("web")
    ctl = live.controller()
    live.settled(ctl, lambda ips: ips.get("web") == (VIP,))
    kubeconfig = live.kube.kubeconfig("speaker")
    for node, name in names.items():
        _start_speaker(lab, live, node, name, kubeconfig)

    doc = _until_agree(live, lab, names, timeout=30)
    (svc,) = doc["services"]
    owner = next(n for n, k in names.items() if k == svc["announced_by"][0]["node"])
    assert svc["ips"] == [VIP] and svc["pool"] == "l2"
    assert svc["announced_by"][0]["interfaces_source"] == "status object"
    assert svc["source"].startswith("status objects (")
    assert {n["node"]: (n["speaker"], n["membership_members"]) for n in doc["nodes"]} == {
        n: ("ready", 3) for n in nodes
    }

    # The owner's speaker dies without a word: its ServiceL2Status stays behind, another node takes over.
    lab.stop_speaker(owner, signal.SIGKILL)
    after = _until_agree(live, lab, names, timeout=20)
    (svc,) = after["services"]
    new_owner = next(n for n, k in names.items() if k == svc["announced_by"][0]["node"])
    assert new_owner != owner
    dead = {n["node"]: n for n in after["nodes"]}[names[owner]]
    assert dead["metrics_error"] and dead["speaker"] != "ready"
    # The dead speaker cannot delete its ServiceL2Status: the new owner does (its former owner is not
    # live), so kubectl, too, lists one node for the IP within a bounded time.
    custom = client.CustomObjectsApi(live.kube.api)

    def l2_nodes() -> list[str]:
        objects = custom.list_namespaced_custom_object("ironlb.io", "v1beta1", live.ns, "servicel2statuses")
        return sorted(o.get("status", {}).get("node", "") for o in objects["items"])

    wait_for(lambda: l2_nodes() == [names[new_owner]], 10, "only the new owner's ServiceL2Status")
    (svc,) = _status(live, lab)["services"]
    assert [(a["node"], a["ips"]) for a in svc["announced_by"]] == [(names[new_owner], [VIP])]
    assert svc["set_aside"] == []
    assert "deleted ServiceL2Status" in lab.log(new_owner)
