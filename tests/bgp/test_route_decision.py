"""Table tests of the BGP route decision (``ironlb.announce.bgp.decide``): pure, no I/O."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from bgp_objects import node, service

from ironlb.announce.bgp import BgpDecision, BgpRoute, decide
from ironlb.announce.inputs import build_inputs
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config import parse_config
from tests.objects import endpoint_slice

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
    node("n1", "172.30.0.11", labels={"rack": "a"}),
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


def routes(d: BgpDecision, peer: str) -> dict[str, BgpRoute]:
    for pr in d.peers:
        if str(pr.peer.peer_address) == peer:
            return {str(r.prefix): r for r in pr.routes}
    raise KeyError(peer)


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
