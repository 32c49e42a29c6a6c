"""BGP per advertisement (issue 15): from which nodes, to which peers, with which attributes.

Domain configs are built in Python: the ConfigMap cannot express node selectors or
peers per advertisement, nor several ClusterIP advertisements.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import pytest

from ironlb.announce.bgp import BgpDecision, decide
from ironlb.announce.inputs import build_inputs
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
from speaker.bgp.backend import peer_graceful_restart
from speaker.bgp.exabgp_config import DEFAULT_GRACEFUL_RESTART
from tests.support.bgp_objects import node, service
from tests.support.objects import endpoint_slice

IP = ipaddress.ip_address
POOL = AddressPool("pub", (AddressRange(IP("198.51.100.0"), IP("198.51.100.255")),))
R1 = Peer(64513, 64513, IP("172.30.0.1"), name="r1")  # iBGP: localpref is sent
R2 = Peer(64513, 64512, IP("172.30.0.2"), name="r2")
ZONE_X = (LabelSelector((("zone", "x"),)),)
NODES = [node("n1", "172.30.0.11", labels={"zone": "x"}), node("n2", "172.30.0.12", labels={"zone": "y"})]


def run(config: Config, this: str, objs: Sequence[dict[str, Any]] | None = None) -> BgpDecision:
    objs = (
        objs
        if objs is not None
        else [service("a", lb_ips=["198.51.100.7"]), endpoint_slice("a", ["n1", "n2"])]
    )
    snap = ClusterSnapshot(
        services=tuple(o for o in objs if o["kind"] == "Service"),  # type: ignore[misc]
        endpoint_slices=tuple(o for o in objs if o["kind"] == "EndpointSlice"),  # type: ignore[misc]
        nodes=tuple(NODES),  # type: ignore[arg-type]
    )
    return decide(build_inputs(this, config, snap, []))


def table(d: BgpDecision) -> dict[str, list[tuple[str, int | None, tuple[str, ...]]]]:
    """Per peer name: (prefix, localpref, advertisements) of each route."""
    return {
        pr.peer.name: [(str(r.prefix), r.localpref, r.advertisements) for r in pr.routes] for pr in d.peers
    }


def config(*ads: BgpAdvertisement, peers: tuple[Peer, ...] = (R1, R2), **kw: Any) -> Config:
    return Config(pools=(POOL,), peers=peers, bgp_advertisements=ads, **kw)


def test_each_advertisement_goes_from_the_nodes_it_selects_to_the_peers_it_names() -> None:
    cfg = config(
        BgpAdvertisement("hosts-x", ("pub",), localpref=200, node_selectors=ZONE_X, peers=("r1",)),
        BgpAdvertisement("agg", ("pub",), aggregation_length=24, localpref=100, peers=("r2",)),
    )
    assert table(run(cfg, "n1")) == {
        "r1": [("198.51.100.7/32", 200, ("hosts-x",))],
        "r2": [("198.51.100.0/24", None, ("agg",))],  # eBGP: no localpref
    }
    assert table(run(cfg, "n2")) == {"r1": [], "r2": [("198.51.100.0/24", None, ("agg",))]}
    assert [str(a.ip) for a in run(cfg, "n2").announcements] == ["198.51.100.7"]


def test_no_peers_named_means_every_peer_and_routes_to_one_peer_merge() -> None:
    cfg = config(
        BgpAdvertisement("all", ("pub",), localpref=100, communities=(Community("1:1"),)),
        BgpAdvertisement("r1-too", ("pub",), localpref=300, communities=(Community("2:2"),), peers=("r1",)),
    )
    d = run(cfg, "n1")
    (r1,) = next(pr for pr in d.peers if pr.peer.name == "r1").routes
    (r2,) = next(pr for pr in d.peers if pr.peer.name == "r2").routes
    assert (r1.communities, r1.localpref, r1.advertisements) == (("1:1", "2:2"), 300, ("all", "r1-too"))
    assert (r2.communities, r2.localpref, r2.advertisements) == (("1:1",), None, ("all",))


def test_a_pool_without_bgp_advertisement_is_not_announced() -> None:
    d = run(config(BgpAdvertisement("other", ("elsewhere",))), "n1")
    assert table(d) == {"r1": [], "r2": []} and d.announcements == ()


def test_an_ip_whose_named_peers_have_no_session_here_is_not_announced_and_says_why() -> None:
    r3 = Peer(64513, 64512, IP("172.30.0.3"), name="r3", node_selectors=(LabelSelector((("zone", "y"),)),))
    cfg = config(BgpAdvertisement("to-r3", ("pub",), peers=("r3",)), peers=(R1, R2, r3))
    d = run(cfg, "n1")
    assert table(d) == {"r1": [], "r2": []} and d.announcements == ()
    assert d.problems == (
        "service default/a: none of the peers its advertisements name (r3) has a usable IPv4 BGP session for "
        "198.51.100.7 on node n1, so it is not announced from there",
    )
    assert table(run(cfg, "n2"))["r3"] == [("198.51.100.7/32", None, ("to-r3",))]


def test_a_peer_left_out_for_the_same_address_gets_its_routes_on_the_session_kept() -> None:
    twin = Peer(64513, 64513, IP("172.30.0.1"), name="r1-twin", hold_time=30.0)
    cfg = config(BgpAdvertisement("to-twin", ("pub",), peers=("r1-twin",)), peers=(R1, twin))
    d = run(cfg, "n1")
    assert table(d) == {"r1": [("198.51.100.7/32", None, ("to-twin",))]}
    assert len(d.announcements) == 1


def test_cluster_ip_advertisements_each_with_their_nodes_and_peers() -> None:
    cfg = config(
        BgpAdvertisement("lb", ("pub",)),
        cluster_ip_advertisements=(
            ClusterIPAdvertisement(
                (ipaddress.ip_network("10.96.0.0/16"),), name="x-to-r1", node_selectors=ZONE_X, peers=("r1",)
            ),
            ClusterIPAdvertisement(
                (ipaddress.ip_network("10.97.0.0/16"),),
                localpref=50,
                name="all-to-r2",
                peers=("r2",),
                local_routes=True,
            ),
        ),
    )
    objs = [
        service("c", cluster_ip="10.97.0.5", itp="Local", svc_type="ClusterIP"),
        endpoint_slice("c", ["n1"]),
    ]
    assert table(run(cfg, "n1", objs)) == {
        "r1": [("10.96.0.0/16", None, ("x-to-r1",))],
        "r2": [("10.97.0.0/16", None, ("all-to-r2",)), ("10.97.0.5/32", None, ("all-to-r2",))],
    }
    assert table(run(cfg, "n2", objs)) == {"r1": [], "r2": [("10.97.0.0/16", None, ("all-to-r2",))]}


@pytest.mark.parametrize(
    ("setting", "flag", "expected"),
    [
        (None, 120, 120),
        (None, 0, None),  # --bgp-graceful-restart 0: off
        (False, 120, None),  # this peer: never
        (True, 0, DEFAULT_GRACEFUL_RESTART),  # this peer: on, although the flag is off
        (True, 30, 30),
    ],
)
def test_a_peers_graceful_restart_setting_overrides_the_flag(
    setting: bool | None, flag: int, expected: int | None
) -> None:
    peer = Peer(1, 2, IP("192.0.2.1"), graceful_restart=setting)
    assert peer_graceful_restart(peer, flag) == expected


def test_each_announcement_names_the_peers_its_routes_go_to() -> None:
    """What ServiceBGPStatus shows: per node, the peers that carry the Service's prefixes."""
    to_r1_from_x = BgpAdvertisement("x", ("pub",), node_selectors=ZONE_X, peers=("r1",))
    assert [a.via for a in run(config(to_r1_from_x), "n1").announcements] == [("r1",)]
    assert run(config(to_r1_from_x), "n2").announcements == ()
    everywhere = BgpAdvertisement("all", ("pub",))
    assert [a.via for a in run(config(everywhere), "n2").announcements] == [("r1", "r2")]
    both = config(to_r1_from_x, BgpAdvertisement("r2", ("pub",), aggregation_length=24, peers=("r2",)))
    assert [a.via for a in run(both, "n1").announcements] == [("r1", "r2")]
    # A peer that shares its address with another (one session) is named as the advertisement names it.
    twin = Peer(64513, 64513, IP("172.30.0.1"), name="r1-twin")
    cfg = config(BgpAdvertisement("t", ("pub",), peers=("r1-twin",)), peers=(R1, twin, R2))
    assert [a.via for a in run(cfg, "n1").announcements] == [("r1-twin",)]
