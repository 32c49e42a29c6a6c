"""The whole system on the ``dual-stack`` lab: IPv4 and IPv6 BGP, a dual-stack Service end to end.

The controller gives the demo Service one IP per family; every node announces each
over the session of its family; the router has one multipath route per family with
a next hop per node; the client's connections over IPv4 and IPv6, to the
LoadBalancer IPs and to the IPv6 ClusterIP, are answered by every node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ironlb.lab.runner import Lab
from ironlb.lab.system import IronlbSystem
from tests.e2e.helpers import answers, ironlb_system, lb_ips, wait_for, wait_served
from tests.support.bgp_lab import fib_nexthops

pytestmark = pytest.mark.netns

NODES = ("node1", "node2", "node3")
HOPS4 = frozenset({"172.30.0.11", "172.30.0.12", "172.30.0.13"})
HOPS6 = frozenset({"fd00:30::11", "fd00:30::12", "fd00:30::13"})


def routed(lab: Lab, prefix: str, hops: frozenset[str]) -> Callable[[], bool]:
    return lambda: fib_nexthops(lab, prefix) == hops


@pytest.fixture(scope="module")
def system() -> Iterator[IronlbSystem]:
    with ironlb_system("dual-stack") as system:
        yield system


def test_dual_stack_service_is_routed_and_answered_over_both_families(system: IronlbSystem) -> None:
    lab = system.lab
    v4, v6 = wait_for(lambda: lb_ips(system, "web"), what="web's LoadBalancer IPs")
    assert (v4, v6) == ("198.51.100.1", "2001:db8:100::1")
    for prefix, hops in ((v4, HOPS4), (v6, HOPS6), ("10.96.0.0/12", HOPS4), ("fd00:10:96::/112", HOPS6)):
        wait_for(routed(lab, prefix, hops), what=f"{prefix} via every node")
    for target in (v4, v6, "fd00:10:96::10"):
        wait_served(system, target, NODES)
        got = answers(lab, target)
        assert set(got) == set(NODES), (target, got)
