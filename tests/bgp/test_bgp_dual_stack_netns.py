"""IPv6 on the ``dual-stack`` lab, and peer changes applied by ``reload`` without resetting sessions.

The speakers start with IPv4 peers only; adding the IPv6 peers rewrites ExaBGP's
configuration and reloads it: the IPv6 sessions come up while the IPv4 sessions
are not re-established (FRR's ``connectionsEstablished`` stays 1).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bgp_lab import Cluster, fib_nexthops, speakers_on, vtysh_json
from bgp_objects import node, service

from ironlb.lab.fixture import require_netns, running_lab, topology_path
from ironlb.lab.runner import Lab
from tests.objects import endpoint_slice
from tests.waiting import wait_for

pytestmark = pytest.mark.netns

NODES4 = {"node1": "172.30.0.11", "node2": "172.30.0.12", "node3": "172.30.0.13"}
NODES6 = {"node1": "fd00:30::11", "node2": "fd00:30::12", "node3": "fd00:30::13"}

V4_ONLY = """
peers:
- {peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, hold-time: 9s}
address-pools:
- name: pub
  protocol: bgp
  addresses: [198.51.100.0/24, "2001:db8:100::/64"]
cluster-ip-advertisement:
  cidrs: [10.96.0.0/16, "fd00:10:96::/112"]
"""
DUAL = V4_ONLY.replace(
    "peers:\n", 'peers:\n- {peer-address: "fd00:30::1", peer-asn: 64512, my-asn: 64513, hold-time: 9s}\n'
)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Cluster]]:
    require_netns()
    work = tmp_path_factory.mktemp("bgp-ds")
    with running_lab(topology_path("dual-stack")) as lab:
        cluster = Cluster(work / "cluster", V4_ONLY, nodes=NODES4)
        cluster.nodes = [node(n, NODES4[n], v6=NODES6[n]) for n in NODES4]
        cluster.write(
            [service("web", lb_ips=["198.51.100.7", "2001:db8:100::7"]), endpoint_slice("web", ["node1"])]
        )
        with speakers_on(lab, cluster, work, NODES4):
            yield lab, cluster


def established_count(lab: Lab, peer: str) -> int:
    info = vtysh_json(lab, f"show bgp neighbors {peer} json").get(peer, {})
    return int(info.get("connectionsEstablished", 0))


def test_adding_ipv6_peers_reloads_without_resetting_ipv4_sessions(env: tuple[Lab, Cluster]) -> None:
    lab, cluster = env
    all4, all6 = frozenset(NODES4.values()), frozenset(NODES6.values())
    wait_for(lambda: fib_nexthops(lab, "198.51.100.7") == all4, what="v4 ECMP route")
    before = {p: established_count(lab, p) for p in all4}
    assert set(before.values()) == {1}
    assert fib_nexthops(lab, "2001:db8:100::7") == frozenset()

    cluster.write(config_yaml=DUAL)
    lab.wait_established(all6, timeout=40)
    wait_for(lambda: fib_nexthops(lab, "2001:db8:100::7") == all6, what="v6 ECMP route")
    wait_for(lambda: fib_nexthops(lab, "fd00:10:96::/112") == all6, what="v6 ClusterIP CIDR")
    assert {p: established_count(lab, p) for p in all4} == before
    assert fib_nexthops(lab, "198.51.100.7") == all4
    assert fib_nexthops(lab, "10.96.0.0/16") == all4
    # The client reaches the IPv6 Service IP through the router.
    for name in NODES4:
        lab.exec(name, ["ip", "-6", "addr", "replace", "2001:db8:100::7/128", "dev", "lo"])
    try:
        r = lab.exec("client", ["ping", "-6", "-c", "2", "-W", "1", "-i", "0.2", "2001:db8:100::7"])
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        for name in NODES4:
            lab.exec(name, ["ip", "-6", "addr", "del", "2001:db8:100::7/128", "dev", "lo"])
