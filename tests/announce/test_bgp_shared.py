"""``planned_bgp`` shares work between nodes (the routes of a node selection, of sessions alike, which
IPs they carry); every node's decision must still be exactly ``decide`` for that node alone
(hypothesis over generated configs, nodes, Services and endpoints)."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironlb.announce.bgp import decide, planned_bgp
from ironlb.announce.inputs import EXCLUDE_LABEL, AnnounceInputs, build_inputs
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config.model import (
    AddressPool,
    AddressRange,
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Community,
    Config,
    LabelSelector,
    Peer,
)
from tests.support.bgp_objects import node, service
from tests.support.objects import endpoint_slice

RACKS = ("a", "b")
NODES = tuple(f"n{i}" for i in range(5))
POOL_V4 = AddressRange(ipaddress.ip_address("10.0.0.0"), ipaddress.ip_address("10.0.0.15"))
POOL_V6 = AddressRange(ipaddress.ip_address("2001:db8::"), ipaddress.ip_address("2001:db8::f"))
CLUSTER_CIDR = ipaddress.ip_network("10.96.0.0/24")


def _selectors(draw: st.DrawFn) -> tuple[LabelSelector, ...]:
    rack = draw(st.sampled_from((None, *RACKS)))
    return () if rack is None else (LabelSelector(match_labels=(("rack", rack),)),)


@st.composite
def configs(draw: st.DrawFn) -> Config:
    peers = tuple(
        Peer(
            my_asn=64512,
            peer_asn=draw(st.sampled_from((64512, 64600))),  # iBGP or eBGP
            peer_address=ipaddress.ip_address(address),
            node_selectors=_selectors(draw),
            name=f"peer{i}",
        )
        for i, address in enumerate(draw(st.lists(st.sampled_from(("172.30.0.1", "172.30.0.2", "fd00::1")))))
    )
    pool = AddressPool("p", (POOL_V4, POOL_V6))
    communities = st.lists(st.sampled_from((Community("65000:1"), Community("1:2:3"))), max_size=2)
    ads = tuple(
        BgpAdvertisement(
            name=f"ad{i}",
            pools=("p",),
            aggregation_length=draw(st.sampled_from((32, 30, 28))),
            aggregation_length_v6=draw(st.sampled_from((128, 124))),
            localpref=draw(st.sampled_from((None, 100, 200))),
            communities=tuple(draw(communities)),
            node_selectors=_selectors(draw),
            peers=tuple(
                draw(st.lists(st.sampled_from(("peer0", "peer1", "peer2")), max_size=2, unique=True))
            ),
        )
        for i in range(draw(st.integers(0, 3)))
    )
    cias = tuple(
        ClusterIPAdvertisement(
            cidrs=(CLUSTER_CIDR,),
            local_routes=draw(st.booleans()),
            external_ips=draw(st.booleans()),
            communities=tuple(draw(communities)),
            node_selectors=_selectors(draw),
            peers=tuple(draw(st.lists(st.sampled_from(("peer0", "peer1")), max_size=1))),
            name=f"cia{i}",
        )
        for i in range(draw(st.integers(0, 2)))
    )
    return Config(pools=(pool,), peers=peers, bgp_advertisements=ads, cluster_ip_advertisements=cias)


@st.composite
def nodes(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i, name in enumerate(NODES[: draw(st.integers(1, len(NODES)))]):
        labels = {"rack": draw(st.sampled_from(RACKS))}
        if draw(st.integers(0, 5)) == 0:
            labels[EXCLUDE_LABEL] = ""
        obj = node(
            name, f"172.30.0.{11 + i}", labels=labels, v6=f"fd00::{11 + i}" if draw(st.booleans()) else None
        )
        if draw(st.integers(0, 5)) == 0:
            obj["status"]["conditions"].append({"type": "NetworkUnavailable", "status": "True"})
        out.append(obj)
    return out


ANNOTATIONS = st.dictionaries(
    st.sampled_from(("ironlb.io/bgp-communities", "ironlb.io/bgp-localpref")),
    st.sampled_from(("65000:9", "300", "not-valid")),
    max_size=2,
)


@st.composite
def services(draw: st.DrawFn, node_names: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    v4 = [f"10.0.0.{i}" for i in range(16)]
    v6 = [f"2001:db8::{i:x}" for i in range(16)]
    objs, slices = [], []
    for i in range(draw(st.integers(0, 8))):
        name = f"s{i}"
        ips = draw(st.lists(st.sampled_from(v4 + v6), max_size=2, unique=True))
        objs.append(
            service(
                name,
                lb_ips=ips,
                cluster_ip=f"10.96.0.{i + 1}" if draw(st.booleans()) else f"10.97.0.{i + 1}",
                external_ips=draw(st.lists(st.sampled_from(("192.0.2.1", "192.0.2.2")), max_size=1)),
                etp=draw(st.sampled_from(("Cluster", "Local"))),
                itp=draw(st.sampled_from(("Cluster", "Local"))),
                annotations=draw(ANNOTATIONS),
            )
        )
        on = draw(st.lists(st.sampled_from(node_names), max_size=len(node_names), unique=True))
        empty = draw(st.booleans())  # a slice without endpoints
        if on or empty:
            slices.append(endpoint_slice(name, on, ready=draw(st.integers(0, 4)) > 0))
    return objs, slices


@st.composite
def cases(draw: st.DrawFn) -> AnnounceInputs:
    config = draw(configs())
    node_objs = draw(nodes())
    svc_objs, slices = draw(services([n["metadata"]["name"] for n in node_objs]))
    snapshot = ClusterSnapshot(
        services=tuple(svc_objs),  # type: ignore[arg-type]
        endpoint_slices=tuple(slices),  # type: ignore[arg-type]
        nodes=tuple(node_objs),  # type: ignore[arg-type]
    )
    return build_inputs("", config, snapshot, ())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.booleans())
def test_every_nodes_shared_decision_is_its_own(inputs: AnnounceInputs, assign: bool) -> None:
    assigned = {s.key: s.ips[:1] for s in inputs.services} if assign else None
    planned = {n.node: n.decision for n in planned_bgp(inputs, assigned)}
    alone_inputs = inputs
    if assigned is not None:
        alone_inputs = replace(
            inputs, services=tuple(replace(s, ips=assigned[s.key]) for s in inputs.services)
        )
    alone = {name: decide(replace(alone_inputs, node=name)) for name in sorted(inputs.nodes)}
    assert planned == {name: d for name, d in alone.items() if d.peers}
    for name, d in planned.items():  # the fields equality leaves out
        assert [(r.sources, r.advertisements) for p in d.peers for r in p.routes] == [
            (r.sources, r.advertisements) for p in alone[name].peers for r in p.routes
        ]
        assert [a.via for a in d.announcements] == [a.via for a in alone[name].announcements]
