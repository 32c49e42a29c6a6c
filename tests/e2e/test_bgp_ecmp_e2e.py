"""The whole system on the ``bgp-ecmp`` labs: controller, speakers, FRR or BIRD router, backends, client.

One lab for the module (``ironlb.lab.system`` starts the real standalone controller,
a real speaker per node and the node agents, as ``ironlb lab up --with-ironlb``
does). A Service applied to the lab's cluster directory gets an IP (status
overlay), the router installs one multipath route with a next hop per node, and
the client's HTTP connections to the LoadBalancer IP and to the ClusterIP are
answered by every node; deleting the Service removes status, route and answers.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator

import pytest

from ironlb.cluster.statusdir import StatusDir
from ironlb.lab.system import IronlbSystem
from tests.e2e.helpers import answers, ironlb_system, lb_ips, service, wait_for, wait_served
from tests.support.bgp_lab import fib_nexthops

pytestmark = pytest.mark.netns

NODES = {"node1": "172.30.0.11", "node2": "172.30.0.12", "node3": "172.30.0.13"}
ALL_HOPS = frozenset(NODES.values())


@pytest.fixture(scope="module", params=["bgp-ecmp", "bgp-ecmp-bird"])
def system(request: pytest.FixtureRequest) -> Iterator[IronlbSystem]:
    with ironlb_system(request.param) as system:
        yield system


def test_demo_service_answers_on_lb_ip_and_cluster_ip_from_every_node(system: IronlbSystem) -> None:
    lab = system.lab
    (ip,) = wait_for(lambda: lb_ips(system, "web"), what="web's LoadBalancer IP")
    assert ip == "198.51.100.1"  # the pool's first usable address (avoid-buggy-ips)
    wait_for(lambda: fib_nexthops(lab, ip) == ALL_HOPS, what=f"{ip} via every node")
    wait_for(lambda: fib_nexthops(lab, "10.96.0.0/12") == ALL_HOPS, what="the ClusterIP range via every node")
    out = lab.exec("router", ["ip", "-4", "route", "show", "exact", ip]).stdout
    assert out.count("nexthop via") == 3, out  # one route, one next hop per node
    for target in (ip, "10.96.0.10"):
        wait_served(system, target, NODES)
        got = answers(lab, target)
        assert set(got) == set(NODES), got  # every answer is a node's name, and every node answers


def test_applied_service_gets_ip_route_and_answers_then_all_is_gone_on_delete(system: IronlbSystem) -> None:
    lab = system.lab
    system.apply(
        "shop", service("shop", "10.96.0.20", ["node2", "node3"], spec={"externalTrafficPolicy": "Local"})
    )
    try:
        (ip,) = wait_for(lambda: lb_ips(system, "shop"), what="shop's LoadBalancer IP")
        assert ip != "198.51.100.1" and ip.startswith("198.51.100.")
        assert "default/shop" in StatusDir.of(system.cluster_dir).read_all()
        # externalTrafficPolicy Local: only the nodes with an endpoint announce it and answer
        local = frozenset({NODES["node2"], NODES["node3"]})
        wait_for(lambda: fib_nexthops(lab, ip) == local, what=f"{ip} via node2 and node3")
        wait_served(system, ip, ["node2", "node3"])
        got = answers(lab, ip)
        assert set(got) == {"node2", "node3"}, got
        # its ClusterIP (internalTrafficPolicy Cluster) is reached through the range from every node
        wait_served(system, "10.96.0.20", NODES)
        assert set(answers(lab, "10.96.0.20", 10)) <= set(NODES)
    finally:
        system.delete("shop")
    wait_for(lambda: not lb_ips(system, "shop"), what="shop gone from the cluster")
    wait_for(lambda: "default/shop" not in StatusDir.of(system.cluster_dir).read_all(), what="status removed")
    wait_for(lambda: not fib_nexthops(lab, ip), what=f"{ip} withdrawn from the router")
    gone = answers(lab, ip, 3)
    assert all(a.startswith("error") for a in gone), gone
    # the demo Service is untouched
    assert fib_nexthops(lab, "198.51.100.1") == ALL_HOPS
    assert set(answers(lab, "198.51.100.1", 10)) <= set(NODES)


def test_speakers_leave_one_after_another_on_sigterm(system: IronlbSystem) -> None:
    """A rolling stop: each speaker, the last one too, exits promptly on SIGTERM (runs last: stops them)."""
    for node in NODES:
        proc = system.procs[node, "ironlb-speaker"]
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the speaker on {node} did not exit within 5 s of SIGTERM")
        assert proc.returncode == 0, node
