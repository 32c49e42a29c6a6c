"""The whole system on the ``layer2`` lab: controller, speakers answering ARP/NDP, test backends, client.

A Service applied to the lab's cluster directory gets an IP from the layer-2 pool;
exactly one node (the owner) answers the client's ARP (and NDP for IPv6) with its
MAC, and the client's HTTP connections all land on that node; deleting the Service
removes status and answers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ironlb.cluster.statusdir import StatusDir
from ironlb.lab.runner import Lab
from ironlb.lab.system import IronlbSystem
from tests.e2e.helpers import answers, ironlb_system, lb_ips, service, wait_for, wait_served

pytestmark = pytest.mark.netns

NODES = ("node1", "node2", "node3")


def mac(lab: Lab, node: str) -> str:
    return lab.exec(node, ["cat", "/sys/class/net/eth1/address"]).stdout.strip().lower()


def arping(lab: Lab, ip: str) -> list[str]:
    """MACs of the ARP replies the client got to 2 requests."""
    out = lab.exec("client", ["arping", "-c", "2", "-w", "3", "-I", "eth1", ip]).stdout
    return [
        line.split("[")[1].split("]")[0].lower() for line in out.splitlines() if line.startswith("Unicast")
    ]


def ndisc(lab: Lab, ip: str) -> list[str]:
    out = lab.exec("client", ["ndisc6", "-1", "-r", "1", "-w", "1000", ip, "eth1"]).stdout
    return [line.split(":", 1)[1].strip().lower() for line in out.splitlines() if "Target link-layer" in line]


@pytest.fixture(scope="module")
def system() -> Iterator[IronlbSystem]:
    with ironlb_system("layer2") as system:
        yield system


def test_owner_answers_arp_and_takes_every_connection(system: IronlbSystem) -> None:
    lab = system.lab
    macs = {mac(lab, n): n for n in NODES}
    (ip,) = wait_for(lambda: lb_ips(system, "web"), what="web's LoadBalancer IP")
    assert ip == "172.30.0.200"
    replies = wait_for(lambda: arping(lab, ip), what=f"an ARP reply for {ip}")
    assert len(set(replies)) == 1 and replies[0] in macs, replies  # one owner, a node's MAC
    owner = macs[replies[0]]
    wait_served(system, ip, [owner])
    got = answers(lab, ip, 20)
    assert set(got) == {owner}, got  # every connection reaches the owner


def test_applied_dual_stack_service_answers_then_is_gone(system: IronlbSystem) -> None:
    lab = system.lab
    macs = {mac(lab, n): n for n in NODES}
    system.apply(
        "shop",
        service("shop", "10.96.0.20", ["node1"], spec={"ipFamilyPolicy": "RequireDualStack",
                                                     "ipFamilies": ["IPv4", "IPv6"]}),
    )  # fmt: skip
    try:
        v4, v6 = wait_for(lambda: lb_ips(system, "shop"), what="shop's LoadBalancer IPs")
        assert v4.startswith("172.30.0.20") and v6.startswith("fd00:30::20")
        assert "default/shop" in StatusDir.of(system.cluster_dir).read_all()
        owners = {macs.get(m) for m in wait_for(lambda: arping(lab, v4), what=f"ARP for {v4}")}
        assert len(owners) == 1 and None not in owners
        wait_served(system, v4, [n for n in owners if n])
        assert set(answers(lab, v4, 10)) == owners
        v6_owners = {macs.get(m) for m in wait_for(lambda: ndisc(lab, v6), what=f"NDP for {v6}")}
        assert len(v6_owners) == 1 and None not in v6_owners
        wait_served(system, v6, [n for n in v6_owners if n])
        assert set(answers(lab, v6, 5)) == v6_owners
    finally:
        system.delete("shop")
    wait_for(lambda: not lb_ips(system, "shop"), what="shop gone")
    wait_for(lambda: "default/shop" not in StatusDir.of(system.cluster_dir).read_all(), what="status removed")
    wait_for(lambda: not arping(lab, v4), what=f"no ARP answer for {v4}")
    lab.exec("client", ["ip", "neigh", "flush", "dev", "eth1"])
    assert all(a.startswith("error") for a in answers(lab, v4, 2))
    assert ndisc(lab, v6) == []
