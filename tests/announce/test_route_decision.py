"""Table tests of the BGP route decision (``ironlb.announce.bgp.decide``): pure, no I/O."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from ironlb.announce.bgp import BgpDecision, BgpRoute, PeerRoutes, decide
from ironlb.announce.bgp_sessions import keepalive_warnings
from ironlb.announce.inputs import build_inputs
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config import parse_config
from tests.support.bgp_objects import node, service
from tests.support.objects import endpoint_slice

BASE = """
peers:
- {peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513}
- {peer-address: 172.30.0.2, peer-asn: 64513, my-asn: 64513}
- {peer-address: "fd00:30::1", peer-asn: 64512, my-asn: 64513}
- peer-address: 172.30.0.3
  peer-asn: 64512
  my-asn: 64513
  node-selectors: [{match-labels: {rack: a}}]
bgp-communities:
  bigpeer: 64512:100
address-pools:
- name: pub
  protocol: bgp
  addresses: [198.51.100.0/24, "2001:db8:5::/64"]
  bgp-advertisements:
  - aggregation-length: 32
    aggregation-length-v6: 128
    localpref: 150
    communities: [bigpeer, no-export, "large:1:2:3"]
  - aggregation-length: 24
    aggregation-length-v6: 64
- name: l2
  protocol: layer2
  addresses: [192.0.2.0/24]
cluster-ip-advertisement:
  cidrs: [10.96.0.0/16]
  local-routes: true
  external-ips: true
  communities: [no-advertise]
  localpref: 90
"""

NODES = [
    node("n1", "172.30.0.11", labels={"rack": "a"}, v6="fd00:30::11"),
    node("n2", "172.30.0.12"),
    node("n3", "172.30.0.13", labels={"node.kubernetes.io/exclude-from-external-load-balancers": ""}),
]


def run(objs: list[dict[str, Any]], this: str = "n1", config: str = BASE) -> BgpDecision:
    snap = ClusterSnapshot(
        services=tuple(o for o in objs if o["kind"] == "Service"),  # type: ignore[misc]
        endpoint_slices=tuple(o for o in objs if o["kind"] == "EndpointSlice"),  # type: ignore[misc]
        nodes=tuple(NODES),  # type: ignore[arg-type]
    )
    return decide(build_inputs(this, parse_config(config), snap, []))


def session(d: BgpDecision, peer: str) -> PeerRoutes:
    for pr in d.peers:
        if str(pr.peer.peer_address) == peer:
            return pr
    raise KeyError(peer)


def routes(d: BgpDecision, peer: str) -> dict[str, BgpRoute]:
    return {str(r.prefix): r for r in session(d, peer).routes}


NO_CIA = BASE.split("cluster-ip-advertisement")[0]


@pytest.mark.parametrize(
    ("name", "objs", "this", "expected"),
    [
        (
            "etp cluster, endpoint elsewhere",
            [service("a", lb_ips=["198.51.100.7"]), endpoint_slice("a", ["n2"])],
            "n1",
            {"198.51.100.7/32", "198.51.100.0/24"},
        ),
        ("etp cluster, no endpoint at all", [service("a", lb_ips=["198.51.100.7"])], "n1", set()),
        (
            "etp cluster, endpoint not ready",
            [service("a", lb_ips=["198.51.100.7"]), endpoint_slice("a", ["n1"], ready=False)],
            "n1",
            set(),
        ),
        (
            "etp local, endpoint here",
            [service("a", lb_ips=["198.51.100.7"], etp="Local"), endpoint_slice("a", ["n1"])],
            "n1",
            {"198.51.100.7/32", "198.51.100.0/24"},
        ),
        (
            "etp local, endpoint elsewhere",
            [service("a", lb_ips=["198.51.100.7"], etp="Local"), endpoint_slice("a", ["n2"])],
            "n1",
            set(),
        ),
        ("excluded node", [service("a", lb_ips=["198.51.100.7"]), endpoint_slice("a", ["n1"])], "n3", set()),
        ("layer2 pool ip", [service("a", lb_ips=["192.0.2.5"]), endpoint_slice("a", ["n1"])], "n1", set()),
        ("ip in no pool", [service("a", lb_ips=["203.0.113.5"]), endpoint_slice("a", ["n1"])], "n1", set()),
        (
            "not a LoadBalancer",
            [service("a", lb_ips=["198.51.100.7"], svc_type="ClusterIP"), endpoint_slice("a", ["n1"])],
            "n1",
            set(),
        ),
    ],
)
def test_load_balancer_ips(name: str, objs: list[dict[str, Any]], this: str, expected: set[str]) -> None:
    d = run(objs, this, NO_CIA)
    assert set(routes(d, "172.30.0.1")) == expected, name


def test_attributes_merge_and_localpref_only_on_ibgp() -> None:
    objs = [
        service(
            "a", lb_ips=["198.51.100.7"], annotations={"ironlb.io/bgp-communities": "65000:7, large:9:9:9"}
        ),
        endpoint_slice("a", ["n1"]),
    ]
    d = run(objs, "n1", NO_CIA)
    ebgp = routes(d, "172.30.0.1")["198.51.100.7/32"]
    assert ebgp.communities == ("64512:100", "65000:7", "65535:65281")
    assert ebgp.large_communities == ("1:2:3", "9:9:9")
    assert ebgp.localpref is None
    ibgp = routes(d, "172.30.0.2")
    assert ibgp["198.51.100.7/32"].localpref == 150
    # The /24 advertisement has no communities of its own, only the Service's.
    assert ibgp["198.51.100.0/24"].communities == ("65000:7",)
    assert ibgp["198.51.100.0/24"].localpref is None


def test_service_localpref_annotation_wins_and_metallb_fallback() -> None:
    objs = [
        service("a", lb_ips=["198.51.100.7"], annotations={"metallb.universe.tf/bgp-localpref": "300"}),
        endpoint_slice("a", ["n1"]),
    ]
    r = routes(run(objs, "n1", NO_CIA), "172.30.0.2")
    assert r["198.51.100.7/32"].localpref == 300
    assert r["198.51.100.0/24"].localpref == 300


def test_bad_annotation_is_reported_and_ignored() -> None:
    objs = [
        service(
            "a",
            lb_ips=["198.51.100.7"],
            annotations={"ironlb.io/bgp-communities": "nosuchalias,65000:1", "ironlb.io/bgp-localpref": "x"},
        ),
        endpoint_slice("a", ["n1"]),
    ]
    d = run(objs, "n1", NO_CIA)
    assert routes(d, "172.30.0.2")["198.51.100.7/32"].communities == ("64512:100", "65000:1", "65535:65281")
    assert routes(d, "172.30.0.2")["198.51.100.7/32"].localpref == 150
    assert len(d.problems) == 2 and all("default/a" in p for p in d.problems)


def test_shared_ip_is_one_route_with_united_attributes() -> None:
    objs = [
        service("a", lb_ips=["198.51.100.7"], annotations={"ironlb.io/bgp-communities": "65000:1"}),
        service("b", lb_ips=["198.51.100.7"], annotations={"ironlb.io/bgp-communities": "65000:2"}),
        endpoint_slice("a", ["n2"]),
        endpoint_slice("b", ["n2"]),
    ]
    r = routes(run(objs, "n1", NO_CIA), "172.30.0.1")["198.51.100.7/32"]
    assert {"65000:1", "65000:2"} <= set(r.communities)
    assert r.sources == ("service default/a", "service default/b")


def test_families_follow_the_session() -> None:
    objs = [service("a", lb_ips=["198.51.100.7", "2001:db8:5::7"]), endpoint_slice("a", ["n1"])]
    d = run(objs, "n1", NO_CIA)
    assert set(routes(d, "172.30.0.1")) == {"198.51.100.7/32", "198.51.100.0/24"}
    assert set(routes(d, "fd00:30::1")) == {"2001:db8:5::7/128", "2001:db8:5::/64"}


def test_peer_node_selectors() -> None:
    objs = [service("a", lb_ips=["198.51.100.7"]), endpoint_slice("a", ["n1"])]
    peers_n1 = {str(p.peer.peer_address) for p in run(objs, "n1").peers}
    peers_n2 = {str(p.peer.peer_address) for p in run(objs, "n2").peers}
    assert "172.30.0.3" in peers_n1
    assert "172.30.0.3" not in peers_n2


def test_cluster_ip_cidr_from_every_node_and_local_routes() -> None:
    objs = [
        service("dns", cluster_ip="10.96.0.10", svc_type="ClusterIP", itp="Local"),
        endpoint_slice("dns", ["n2"]),
        service("web", cluster_ip="10.96.0.20", svc_type="ClusterIP"),
        endpoint_slice("web", ["n1"]),
        service("outside", cluster_ip="10.200.0.1", svc_type="ClusterIP", itp="Local"),
        endpoint_slice("outside", ["n1"]),
    ]
    n1 = routes(run(objs, "n1"), "172.30.0.1")
    n2 = routes(run(objs, "n2"), "172.30.0.1")
    n3 = routes(run(objs, "n3"), "172.30.0.1")
    assert set(n1) == {"10.96.0.0/16"}  # iTP Cluster gets no /32; a ClusterIP outside the CIDRs neither
    assert set(n2) == {"10.96.0.0/16", "10.96.0.10/32"}
    assert n2["10.96.0.10/32"].communities == ("65535:65282",)
    assert "10.96.0.0/16" in n3  # the CIDR does not depend on the exclusion label
    ibgp = routes(run(objs, "n2"), "172.30.0.2")
    assert ibgp["10.96.0.0/16"].localpref == 90


def test_cluster_ip_selectors_and_external_ips() -> None:
    cfg = BASE.replace(
        "  localpref: 90\n", "  localpref: 90\n  node-selectors: [{match-labels: {rack: a}}]\n"
    )
    objs = [
        service("ext", external_ips=["203.0.113.9"], svc_type="ClusterIP", cluster_ip="10.96.1.1"),
        endpoint_slice("ext", ["n2"]),
        service("extlocal", external_ips=["203.0.113.10"], svc_type="ClusterIP", cluster_ip="10.96.1.2"),
        endpoint_slice("extlocal", ["n2"]),
    ]
    objs[2]["spec"]["externalTrafficPolicy"] = "Local"
    n1 = routes(run(objs, "n1", cfg), "172.30.0.1")
    assert set(n1) == {"10.96.0.0/16", "203.0.113.9/32"}
    assert routes(run(objs, "n2", cfg), "172.30.0.1") == {}


def test_announcements_name_service_ips() -> None:
    objs = [service("a", lb_ips=["198.51.100.7"]), endpoint_slice("a", ["n1"])]
    d = run(objs, "n1", NO_CIA)
    assert [(a.service, a.protocol, a.node, a.ip) for a in d.announcements] == [
        ("default/a", "bgp", "n1", ipaddress.ip_address("198.51.100.7"))
    ]


def test_unknown_node_announces_nothing() -> None:
    objs = [service("a", lb_ips=["198.51.100.7"]), endpoint_slice("a", ["n1"])]
    d = run(objs, "ghost")
    assert d.peers == () and d.announcements == ()


def test_same_peer_address_selected_twice_uses_the_first() -> None:
    cfg = NO_CIA.replace(
        "- {peer-address: 172.30.0.2, peer-asn: 64513, my-asn: 64513}\n",
        "- {peer-address: 172.30.0.2, peer-asn: 64513, my-asn: 64513}\n"
        "- {peer-address: 172.30.0.2, peer-asn: 64600, my-asn: 64513,\n"
        "   node-selectors: [{match-labels: {rack: a}}]}\n",
    )
    d = run([service("a", lb_ips=["198.51.100.7"]), endpoint_slice("a", ["n1"])], "n1", cfg)
    same = [p.peer for p in d.peers if str(p.peer.peer_address) == "172.30.0.2"]
    assert [p.peer_asn for p in same] == [64513]
    assert any("selected twice" in p for p in d.problems)


V4_PEER_ONLY = """
peers:
- {peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513}
address-pools:
- {name: pub, protocol: bgp, addresses: [198.51.100.0/24, "2001:db8:5::/64"]}
cluster-ip-advertisement:
  cidrs: [10.96.0.0/16, "fd00:10:96::/112"]
"""


def announced_ips(d: BgpDecision) -> set[str]:
    return {str(a.ip) for a in d.announcements}


def test_dual_stack_service_announces_both_ips_when_both_families_have_a_session() -> None:
    objs = [service("a", lb_ips=["198.51.100.7", "2001:db8:5::7"]), endpoint_slice("a", ["n1"])]
    d = run(objs, "n1", NO_CIA)
    assert announced_ips(d) == {"198.51.100.7", "2001:db8:5::7"}
    assert d.problems == ()


def test_ip_of_a_family_without_a_peer_is_a_problem_not_an_announcement() -> None:
    objs = [service("a", lb_ips=["198.51.100.7", "2001:db8:5::9"]), endpoint_slice("a", ["n1"])]
    d = run(objs, "n1", V4_PEER_ONLY)
    assert announced_ips(d) == {"198.51.100.7"}
    assert set(routes(d, "172.30.0.1")) == {"198.51.100.7/32", "10.96.0.0/16"}
    assert any(
        p.startswith("service default/a: no IPv6 BGP peer for 2001:db8:5::9 on node n1")
        and "add an IPv6 peer" in p
        for p in d.problems
    ), d.problems
    assert any(
        p.startswith("cluster-ip-advertisement: no IPv6 BGP peer for fd00:10:96::/112 on node n1")
        for p in d.problems
    ), d.problems


def test_unusable_peer_carries_nothing_and_its_ips_are_problems() -> None:
    """n2 has no IPv6 address: the IPv6 session cannot open, so the IPv6 IP is not announced there."""
    objs = [service("a", lb_ips=["198.51.100.7", "2001:db8:5::7"]), endpoint_slice("a", ["n2"])]
    d = run(objs, "n2", NO_CIA)
    v6 = session(d, "fd00:30::1")
    assert v6.routes == () and v6.next_hop is None
    assert v6.unusable is not None and "node n2 has no IPv6 address" in v6.unusable
    assert announced_ips(d) == {"198.51.100.7"}
    assert any(p.startswith("peer fd00:30::1: cannot peer from node n2") for p in d.problems)
    assert any(
        "no usable IPv6 BGP session for 2001:db8:5::7 on node n2" in p and "peer fd00:30::1:" in p
        for p in d.problems
    ), d.problems
    # The same Service on n1 (which has an IPv6 address) is announced over both families.
    assert announced_ips(run(objs, "n1", NO_CIA)) == {"198.51.100.7", "2001:db8:5::7"}


def test_next_hop_is_the_session_local_address() -> None:
    cfg = NO_CIA.replace(
        "- {peer-address: 172.30.0.2, peer-asn: 64513, my-asn: 64513}\n",
        "- {peer-address: 172.30.0.2, peer-asn: 64513, my-asn: 64513, source-address: 172.30.0.99}\n",
    )
    d = run([], "n1", cfg)
    assert str(session(d, "172.30.0.1").next_hop) == "172.30.0.11"
    assert str(session(d, "172.30.0.2").next_hop) == "172.30.0.99"
    assert str(session(d, "fd00:30::1").next_hop) == "fd00:30::11"
    assert all(pr.unusable is None for pr in d.peers)


def test_node_without_ipv4_needs_a_router_id() -> None:
    cfg = 'peers:\n- {peer-address: "fd00:30::1", peer-asn: 64512, my-asn: 64513}\n'
    snap = ClusterSnapshot(nodes=(node("v6only", "fd00:30::21"),))  # type: ignore[arg-type]
    d = decide(build_inputs("v6only", parse_config(cfg), snap, []))
    assert d.peers[0].unusable is not None and "router-id" in d.peers[0].unusable
    with_id = cfg.replace("my-asn: 64513}", "my-asn: 64513, router-id: 10.0.0.21}")
    d = decide(build_inputs("v6only", parse_config(with_id), snap, []))
    assert d.peers[0].unusable is None and str(d.peers[0].next_hop) == "fd00:30::21"


def test_each_session_carries_its_router_id_and_bfd_profile() -> None:
    """What the backends render (ExaBGP's router-id, bfdd's profile) comes with the decision."""
    cfg = (
        NO_CIA.replace(
            "- {peer-address: 172.30.0.2, peer-asn: 64513, my-asn: 64513}\n",
            "- {peer-address: 172.30.0.2, peer-asn: 64513, my-asn: 64513, router-id: 10.0.0.2,"
            " bfd-profile: fast}\n",
        )
        + "bfd-profiles:\n- {name: fast, receive-interval: 100}\n"
    )
    d = run([], "n1", cfg)
    assert str(session(d, "172.30.0.1").session.router_id) == "172.30.0.11"  # the node's IPv4 address
    assert str(session(d, "fd00:30::1").session.router_id) == "172.30.0.11"  # also for an IPv6 session
    with_bfd = session(d, "172.30.0.2").session
    assert str(with_bfd.router_id) == "10.0.0.2"
    assert with_bfd.bfd_profile is not None and with_bfd.bfd_profile.receive_interval == 100
    assert session(d, "172.30.0.1").session.bfd_profile is None


def test_node_selected_by_no_peer_announces_nothing_and_reports_nothing() -> None:
    cfg = V4_PEER_ONLY.replace(
        "my-asn: 64513}", "my-asn: 64513, node-selectors: [{match-labels: {rack: b}}]}"
    )
    objs = [service("a", lb_ips=["198.51.100.7", "2001:db8:5::7"]), endpoint_slice("a", ["n1"])]
    d = run(objs, "n1", cfg)
    assert d.peers == () and d.announcements == () and d.problems == ()


@pytest.mark.parametrize(
    ("hold", "keepalive", "warned"),
    [
        ("90s", "30s", False),
        ("90s", None, False),
        ("9s", "3s", False),
        ("0s", "0s", False),
        ("90s", "10s", True),
        ("10s", "5s", True),
    ],
)
def test_keepalive_time_other_than_a_third_of_hold_is_warned(
    hold: str, keepalive: str | None, warned: bool
) -> None:
    ka = f", keepalive-time: {keepalive}" if keepalive else ""
    cfg = f"peers:\n- {{peer-address: 10.0.0.1, peer-asn: 1, my-asn: 2, hold-time: {hold}{ka}}}\n"
    warnings = keepalive_warnings(parse_config(cfg))
    assert bool(warnings) == warned
    if warned:
        assert warnings[0].startswith("peers[0].keepalive-time: ") and "ExaBGP" in warnings[0]
