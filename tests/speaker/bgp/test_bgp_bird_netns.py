"""Real speakers on the ``bgp-ecmp-bird`` lab: the same routes as BIRD 2 sees them.

BIRD merges equal paths into one kernel route (``merge paths on``); communities
and large communities are read from ``birdc show route all``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ironlb.lab.fixture import require_netns, running_lab, topology_path
from ironlb.lab.runner import Lab
from tests.support.bgp_lab import NODES, Cluster, birdc, fib_nexthops, router_peer, speakers_on
from tests.support.bgp_objects import service
from tests.support.objects import endpoint_slice
from tests.support.waiting import wait_for

pytestmark = pytest.mark.netns

CONFIG = f"""
peers:
{router_peer()}
address-pools:
- name: pub
  protocol: bgp
  addresses: [198.51.100.0/24]
  bgp-advertisements:
  - communities: [no-export, "64512:300", "large:64513:7:8"]
cluster-ip-advertisement:
  cidrs: [10.96.0.0/16]
  local-routes: true
"""

ALL = frozenset(NODES.values())


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Cluster]]:
    require_netns()
    work = tmp_path_factory.mktemp("bgp-bird")
    with running_lab(topology_path("bgp-ecmp-bird")) as lab:
        cluster = Cluster(work / "cluster", CONFIG)
        with speakers_on(lab, cluster, work, NODES):
            yield lab, cluster


def wait_fib(lab: Lab, prefix: str, expected: frozenset[str]) -> None:
    wait_for(lambda: fib_nexthops(lab, prefix) == expected, 15, what=f"{prefix} via {sorted(expected)}")


def test_ecmp_route_per_node_and_etp_local(env: tuple[Lab, Cluster]) -> None:
    lab, cluster = env
    svc = service("web", lb_ips=["198.51.100.7"], etp="Local")
    cluster.write([svc, endpoint_slice("web", ["node1", "node2", "node3"])])
    wait_fib(lab, "198.51.100.7", ALL)
    wait_fib(lab, "10.96.0.0/16", ALL)
    cluster.write([svc, endpoint_slice("web", ["node1", "node3"])])
    wait_fib(lab, "198.51.100.7", frozenset({NODES["node1"], NODES["node3"]}))
    assert fib_nexthops(lab, "10.96.0.0/16") == ALL


def test_itp_local_cluster_ip(env: tuple[Lab, Cluster]) -> None:
    lab, cluster = env
    dns = service("dns", svc_type="ClusterIP", cluster_ip="10.96.0.10", itp="Local")
    cluster.write([dns, endpoint_slice("dns", ["node2"])])
    wait_fib(lab, "10.96.0.10/32", frozenset({NODES["node2"]}))
    cluster.write([dns])
    wait_fib(lab, "10.96.0.10/32", frozenset())


def test_communities_as_bird_sees_them(env: tuple[Lab, Cluster]) -> None:
    lab, cluster = env
    cluster.write([service("web", lb_ips=["198.51.100.9"]), endpoint_slice("web", ["node3"])])
    wait_fib(lab, "198.51.100.9", ALL)
    out = birdc(lab, "show route 198.51.100.9/32 all")
    assert out.count("BGP.community: (64512,300) (65535,65281)") == 3, out
    assert out.count("BGP.large_community: (64513, 7, 8)") == 3, out
