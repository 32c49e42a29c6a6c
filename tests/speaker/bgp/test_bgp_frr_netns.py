"""Real speakers (ExaBGP inside) on the ``bgp-ecmp`` lab against a real FRR router.

One lab for the module (bringing it up costs seconds); each test rewrites the
cluster state and checks what the router's kernel FIB and BGP table show.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Iterator

import pytest

from ironlb.lab.fixture import require_netns, running_lab, topology_path
from ironlb.lab.runner import Lab
from tests.support.bgp_lab import NODES, Cluster, Speakers, fib_nexthops, router_peer, speakers_on, vtysh_json
from tests.support.bgp_objects import service
from tests.support.layer2_lab import REPO_ROOT, Ping
from tests.support.objects import endpoint_slice
from tests.support.waiting import wait_for

pytestmark = pytest.mark.netns

CONFIG = f"""
peers:
{router_peer()}
bgp-communities:
  bigpeer: 64512:100
address-pools:
- name: pub
  protocol: bgp
  addresses: [198.51.100.0/25]
  bgp-advertisements:
  - communities: [bigpeer, no-export, "large:64513:1:2"]
- name: agg
  protocol: bgp
  addresses: [198.51.100.128/25]
  bgp-advertisements:
  - aggregation-length: 28
cluster-ip-advertisement:
  cidrs: [10.96.0.0/16]
  local-routes: true
  communities: [no-advertise]
"""

ALL = frozenset(NODES.values())


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Cluster, Speakers]]:
    require_netns()
    work = tmp_path_factory.mktemp("bgp-frr")
    with running_lab(topology_path("bgp-ecmp")) as lab:
        cluster = Cluster(work / "cluster", CONFIG)
        with speakers_on(lab, cluster, work, NODES) as speakers:
            yield lab, cluster, speakers


def nexthops(lab: Lab, prefix: str, expected: frozenset[str], timeout: float = 15.0) -> frozenset[str]:
    """Wait until the router's FIB has exactly ``expected`` next hops for ``prefix``; return them."""
    wait_for(
        lambda: fib_nexthops(lab, prefix) == expected,
        timeout,
        what=f"{prefix} via {sorted(expected)} (now {sorted(fib_nexthops(lab, prefix))})",
    )
    return fib_nexthops(lab, prefix)


def test_lb_ip_and_cluster_cidr_are_one_multipath_route_per_node(env: tuple[Lab, Cluster, Speakers]) -> None:
    lab, cluster, _ = env
    cluster.write([service("web", lb_ips=["198.51.100.7"]), endpoint_slice("web", ["node2"])])
    assert nexthops(lab, "198.51.100.7", ALL) == ALL
    assert nexthops(lab, "10.96.0.0/16", ALL) == ALL
    # One route with a next hop per node (not three routes).
    out = lab.exec("router", ["ip", "-4", "route", "show", "exact", "198.51.100.7"]).stdout
    assert out.count("nexthop via") == 3 and out.count("198.51.100.7") == 1


def test_metrics_show_sessions_and_prefixes(env: tuple[Lab, Cluster, Speakers]) -> None:
    lab, cluster, speakers = env
    cluster.write([service("web", lb_ips=["198.51.100.7"]), endpoint_slice("web", ["node2"])])
    nexthops(lab, "198.51.100.7", ALL)

    def sample(text: str, name: str) -> float | None:
        m = re.search(rf'^{name}{{peer="172.30.0.1"}} (\S+)$', text, re.M)
        return float(m.group(1)) if m else None

    def settled() -> str | None:
        text = speakers.metrics("node3")
        return text if sample(text, "ironlb_bgp_announced_prefixes_total") == 2.0 else None

    text = wait_for(settled, what="announced prefixes metric")  # the /32 and the ClusterIP CIDR
    assert sample(text, "ironlb_bgp_session_up") == 1.0
    assert (sample(text, "ironlb_bgp_updates_total") or 0) >= 2


def test_client_reaches_ip_on_every_node(env: tuple[Lab, Cluster, Speakers]) -> None:
    lab, cluster, _ = env
    cluster.write([service("web", lb_ips=["198.51.100.7"]), endpoint_slice("web", ["node2"])])
    nexthops(lab, "198.51.100.7", ALL)
    for name in NODES:
        lab.exec(name, ["ip", "addr", "replace", "198.51.100.7/32", "dev", "lo"])
    try:
        result = lab.exec("client", ["ping", "-c", "2", "-W", "1", "-i", "0.2", "198.51.100.7"])
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        for name in NODES:
            lab.exec(name, ["ip", "addr", "del", "198.51.100.7/32", "dev", "lo"])


def test_etp_local_only_nodes_with_endpoints_and_withdraw_from_one(
    env: tuple[Lab, Cluster, Speakers],
) -> None:
    lab, cluster, _ = env
    svc = service("local", lb_ips=["198.51.100.20"], etp="Local")
    cluster.write([svc, endpoint_slice("local", ["node1", "node3"])])
    assert nexthops(lab, "198.51.100.20", frozenset({NODES["node1"], NODES["node3"]}))
    cluster.write([svc, endpoint_slice("local", ["node3"])])
    assert nexthops(lab, "198.51.100.20", frozenset({NODES["node3"]}))
    cluster.write([svc])
    assert nexthops(lab, "198.51.100.20", frozenset()) == frozenset()


def test_exclusion_label_withdraws_the_nodes_lb_routes_at_once(env: tuple[Lab, Cluster, Speakers]) -> None:
    """The way out of service for a node (README): label it, its speaker withdraws while still running."""
    lab, cluster, _ = env
    objs = [service("web", lb_ips=["198.51.100.7"]), endpoint_slice("web", ["node2"])]
    cluster.write(objs)
    nexthops(lab, "198.51.100.7", ALL)
    node3 = next(n for n in cluster.nodes if n["metadata"]["name"] == "node3")
    label = "node.kubernetes.io/exclude-from-external-load-balancers"
    node3["metadata"]["labels"][label] = "true"
    try:
        cluster.write(objs)
        assert nexthops(lab, "198.51.100.7", ALL - {NODES["node3"]}) == ALL - {NODES["node3"]}
        assert fib_nexthops(lab, "10.96.0.0/16") == ALL  # the ClusterIP range is the node selectors' business
    finally:
        del node3["metadata"]["labels"][label]
        cluster.write(objs)
    assert nexthops(lab, "198.51.100.7", ALL) == ALL


def test_itp_local_cluster_ip_route(env: tuple[Lab, Cluster, Speakers]) -> None:
    lab, cluster, _ = env
    dns = service("dns", svc_type="ClusterIP", cluster_ip="10.96.0.10", itp="Local")
    cluster.write([dns, endpoint_slice("dns", ["node1", "node2"])])
    assert nexthops(lab, "10.96.0.10/32", frozenset({NODES["node1"], NODES["node2"]}))
    cluster.write([dns, endpoint_slice("dns", ["node2"])])
    assert nexthops(lab, "10.96.0.10/32", frozenset({NODES["node2"]}))
    assert fib_nexthops(lab, "10.96.0.0/16") == ALL


def test_communities_and_aggregation_as_frr_sees_them(env: tuple[Lab, Cluster, Speakers]) -> None:
    lab, cluster, _ = env
    cluster.write(
        [
            service("web", lb_ips=["198.51.100.7"], annotations={"ironlb.io/bgp-communities": "65000:7"}),
            endpoint_slice("web", ["node1"]),
            service("agg", lb_ips=["198.51.100.130"]),
            endpoint_slice("agg", ["node1"]),
        ]
    )
    nexthops(lab, "198.51.100.7", ALL)
    assert nexthops(lab, "198.51.100.128/28", ALL)
    assert fib_nexthops(lab, "198.51.100.130") == frozenset()  # only the aggregate
    table = vtysh_json(lab, "show bgp ipv4 unicast 198.51.100.7/32 json")
    paths = table["paths"]
    assert len(paths) == 3
    for p in paths:
        assert set(p["community"]["list"]) == {"64512:100", "65000:7", "noExport"}
        assert p["largeCommunity"]["list"] == ["64513:1:2"]


def test_exabgp_sigkill_is_restarted_and_routes_restored(env: tuple[Lab, Cluster, Speakers]) -> None:
    lab, cluster, speakers = env
    cluster.write([service("web", lb_ips=["198.51.100.7"]), endpoint_slice("web", ["node1"])])
    nexthops(lab, "198.51.100.7", ALL)
    old = wait_for(lambda: speakers.exabgp_pid("node1"), what="exabgp pid")
    os.kill(old, signal.SIGKILL)
    # Graceful restart keeps the route on the router meanwhile; the session comes back with a new ExaBGP.
    new = wait_for(
        lambda: (p := speakers.exabgp_pid("node1")) and p != old and p, timeout=20, what="new exabgp"
    )
    assert new != old
    lab.wait_established([NODES["node1"]], timeout=30)

    # Once the restarted session has sent its End-of-RIB, the routes are fresh again (not stale).
    def fresh() -> bool:
        paths = vtysh_json(lab, "show bgp ipv4 unicast 198.51.100.7/32 json").get("paths", [])
        mine = [p for p in paths if p.get("peer", {}).get("peerId") == NODES["node1"]]
        return bool(mine) and not any(p.get("stale") for p in mine)

    wait_for(fresh, timeout=20, what="fresh path from node1")
    assert fib_nexthops(lab, "198.51.100.7") == ALL
    assert fib_nexthops(lab, "10.96.0.0/16") == ALL


def test_speaker_restart_with_graceful_restart_keeps_forwarding(env: tuple[Lab, Cluster, Speakers]) -> None:
    """Only node1 announces the IP (eTP Local); its speaker restarts while the client pings throughout.

    The client's probe (``tests.support.layer2_icmpprobe``) counts each request and waits for the
    replies in flight when stopped: ``ping`` counted its last request, sent as SIGINT came and
    answered after it, as lost (``received == sent`` failed with no packet lost)."""
    lab, cluster, speakers = env
    cluster.write([service("gr", lb_ips=["198.51.100.50"], etp="Local"), endpoint_slice("gr", ["node1"])])
    nexthops(lab, "198.51.100.50", frozenset({NODES["node1"]}))
    lab.exec("node1", ["ip", "addr", "replace", "198.51.100.50/32", "dev", "lo"])
    log = cluster.dir.parent / "gr-ping.log"
    argv = [sys.executable, "-m", "tests.support.layer2_icmpprobe", "198.51.100.50", "0.05"]
    ping = Ping(lab.spawn("client", argv, name="gr-ping", log_file=log, cwd=REPO_ROOT), log)
    try:
        assert ping.wait_ready(), log.read_text(errors="replace")
        time.sleep(1.0)
        speakers.stop("node1", signal.SIGTERM)
        time.sleep(2.0)  # the speaker is gone: only graceful restart keeps the route
        assert fib_nexthops(lab, "198.51.100.50") == frozenset({NODES["node1"]})
        speakers.start("node1")
        lab.wait_established([NODES["node1"]], timeout=30)

        def fresh() -> bool:
            table = vtysh_json(lab, "show bgp ipv4 unicast 198.51.100.50/32 json")
            paths = table.get("paths", [])
            return len(paths) == 1 and not paths[0].get("stale")

        wait_for(fresh, timeout=20, what="fresh path after the restart")
        time.sleep(1.0)
    finally:
        result = ping.stop()
        lab.exec("node1", ["ip", "addr", "del", "198.51.100.50/32", "dev", "lo"])
    print(
        f"\nGR restart: {result.sent} requests, {result.received} replies, longest gap "
        f"{result.longest_gap * 1000:.0f} ms, largest round trip {result.max_rtt * 1000:.0f} ms"
    )
    assert result.sent > 50 and result.lost == [] and result.send_errors == 0, result.text[-1000:]


def test_source_removed_withdraws_nothing(env: tuple[Lab, Cluster, Speakers]) -> None:
    lab, cluster, _ = env
    cluster.write([service("web", lb_ips=["198.51.100.7"]), endpoint_slice("web", ["node1"])])
    nexthops(lab, "198.51.100.7", ALL)
    moved = cluster.dir.with_name("cluster-away")
    cluster.dir.rename(moved)
    try:
        time.sleep(2.0)  # many poll intervals with the source gone
        assert fib_nexthops(lab, "198.51.100.7") == ALL
        assert fib_nexthops(lab, "10.96.0.0/16") == ALL
    finally:
        moved.rename(cluster.dir)
