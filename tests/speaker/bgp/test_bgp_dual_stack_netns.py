"""IPv6 on the ``dual-stack`` lab, and peer changes applied by ``reload`` without resetting sessions.

The speakers start with IPv4 peers only: the Service's IPv6 address cannot be
announced, and each speaker says so once (a problem in its log) instead of
counting it as announced. Adding the IPv6 peers rewrites ExaBGP's configuration
and reloads it: the IPv6 sessions come up while the IPv4 sessions are not
re-established (FRR's ``connectionsEstablished`` stays 1).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial

import pytest

from ironlb.lab.fixture import require_netns, running_lab, topology_path
from ironlb.lab.runner import Lab
from tests.support.bgp_lab import Cluster, Speakers, fib_nexthops, router_peer, speakers_on, vtysh_json
from tests.support.bgp_objects import node, service
from tests.support.objects import endpoint_slice
from tests.support.waiting import wait_for

pytestmark = pytest.mark.netns

NODES4 = {"node1": "172.30.0.11", "node2": "172.30.0.12", "node3": "172.30.0.13"}
NODES6 = {"node1": "fd00:30::11", "node2": "fd00:30::12", "node3": "fd00:30::13"}

V4_ONLY = f"""
peers:
{router_peer()}
address-pools:
- name: pub
  protocol: bgp
  addresses: [198.51.100.0/24, "2001:db8:100::/64"]
cluster-ip-advertisement:
  cidrs: [10.96.0.0/16, "fd00:10:96::/112"]
"""
DUAL = V4_ONLY.replace("peers:\n", f"peers:\n{router_peer('fd00:30::1')}\n")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Cluster, Speakers]]:
    require_netns()
    work = tmp_path_factory.mktemp("bgp-ds")
    with running_lab(topology_path("dual-stack")) as lab:
        cluster = Cluster(work / "cluster", V4_ONLY, nodes=NODES4)
        cluster.nodes = [node(n, NODES4[n], v6=NODES6[n]) for n in NODES4]
        cluster.write(
            [service("web", lb_ips=["198.51.100.7", "2001:db8:100::7"]), endpoint_slice("web", ["node1"])]
        )
        with speakers_on(lab, cluster, work, NODES4) as speakers:
            yield lab, cluster, speakers


def established_count(lab: Lab, peer: str) -> int:
    info = vtysh_json(lab, f"show bgp neighbors {peer} json").get(peer, {})
    return int(info.get("connectionsEstablished", 0))


def announced_sample(speakers: Speakers, node: str, ip: str) -> str | None:
    """The node's ``ironlb_speaker_announced`` line for ``ip`` (None when there is no such series)."""
    return next(
        (
            line
            for line in speakers.metrics(node).splitlines()
            if line.startswith("ironlb_speaker_announced{") and f'ip="{ip}"' in line
        ),
        None,
    )


def logged_all(speakers: Speakers, node: str, lines: tuple[str, ...]) -> bool:
    log = speakers.logs(node)
    return all(line in log for line in lines)


def test_adding_ipv6_peers_reloads_without_resetting_ipv4_sessions(
    env: tuple[Lab, Cluster, Speakers],
) -> None:
    lab, cluster, speakers = env
    all4, all6 = frozenset(NODES4.values()), frozenset(NODES6.values())
    wait_for(lambda: fib_nexthops(lab, "198.51.100.7") == all4, what="v4 ECMP route")
    before = {p: established_count(lab, p) for p in all4}
    assert set(before.values()) == {1}
    # IPv4 peers only: the IPv6 LoadBalancer IP reaches no router, and is not reported as announced
    # but as a problem, logged once by each speaker (which re-decides many times per second here).
    assert fib_nexthops(lab, "2001:db8:100::7") == frozenset()
    for name in NODES4:
        assert announced_sample(speakers, name, "198.51.100.7") is not None
        assert announced_sample(speakers, name, "2001:db8:100::7") is None
        problems = (
            f"service default/web: no IPv6 BGP peer for 2001:db8:100::7 on node {name}",
            f"cluster-ip-advertisement: no IPv6 BGP peer for fd00:10:96::/112 on node {name}",
        )
        wait_for(partial(logged_all, speakers, name, problems), what=f"{name} logs the problems")
        time.sleep(0.5)  # ~10 more decisions at the test's 0.05 s poll interval
        assert [speakers.logs(name).count(p) for p in problems] == [1, 1]
        metrics = speakers.metrics(name)
        assert 'ironlb_bgp_session_up{peer="172.30.0.1"} 1.0' in metrics

    cluster.write(config_yaml=DUAL)
    lab.wait_established(all6, timeout=40)
    wait_for(lambda: fib_nexthops(lab, "2001:db8:100::7") == all6, what="v6 ECMP route")
    wait_for(lambda: fib_nexthops(lab, "fd00:10:96::/112") == all6, what="v6 ClusterIP CIDR")
    for name in NODES4:
        wait_for(
            partial(announced_sample, speakers, name, "2001:db8:100::7"),
            what=f"{name} counts the IPv6 IP as announced",
        )
        assert 'ironlb_bgp_session_up{peer="fd00:30::1"} 1.0' in speakers.metrics(name)
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
