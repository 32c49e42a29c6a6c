"""Unit tests of the MetalLB CRD → ironlb config mapping: every mapping, every lossy and error case."""

from __future__ import annotations

import ipaddress
import random

import pytest

from ironlb.config import parse_config
from ironlb.config.model import BfdProfile, BgpAdvertisement, Community, LabelSelector, SelectorRequirement
from ironlb.config.render import render_config
from ironlb.metallb import convert, manifests_from_text
from tests.metallb.helpers import (
    address_pool,
    bgp,
    bgp_attrs,
    interfaces,
    l2,
    lines,
    obj,
    peer,
    pool,
    protocols,
    run,
    text,
)


def only(result_lines: list[str], needle: str) -> str:
    hits = [line for line in result_lines if needle in line]
    assert len(hits) == 1, result_lines
    return hits[0]


# --- pools and protocols --------------------------------------------------------------------------


def test_l2_pool_by_name_keeps_every_pool_field() -> None:
    result = run(
        pool("a", "10.0.0.0/24", "10.0.1.5 - 10.0.1.9", autoAssign=False, avoidBuggyIPs=True), l2("ad", "a")
    )
    assert result.findings == ()
    assert result.config is not None
    (p,) = result.config.pools
    assert (p.name, p.auto_assign, p.avoid_buggy_ips) == ("a", False, True)
    assert protocols(result.config) == {"a": "layer2"}
    assert [(str(r.first), str(r.last)) for r in p.ranges] == [
        ("10.0.0.0", "10.0.0.255"),
        ("10.0.1.5", "10.0.1.9"),
    ]
    assert parse_config(render_config(result.config)) == result.config


def test_pool_defaults() -> None:
    result = run(pool("a", "10.0.0.0/24"), l2("ad", "a"))
    assert result.config is not None
    assert (result.config.pools[0].auto_assign, result.config.pools[0].avoid_buggy_ips) == (True, False)


def test_advertisement_without_pools_selects_every_pool() -> None:
    result = run(pool("a", "10.0.0.0/24"), pool("b", "10.0.1.0/24"), l2("all"))
    assert result.config is not None
    assert protocols(result.config) == {"a": "layer2", "b": "layer2"}
    assert result.findings == ()
    assert result.model is not None and result.model.l2_advertisements[0].pools == ()  # every pool


def test_pool_selector_matches_labels() -> None:
    result = run(
        pool("a", "10.0.0.0/24", labels={"tier": "web"}),
        pool("b", "10.0.1.0/24", labels={"tier": "db"}),
        l2("web", ipAddressPoolSelectors=[{"matchLabels": {"tier": "web"}}]),
        bgp(
            "db",
            ipAddressPoolSelectors=[
                {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}
            ],
        ),
    )
    assert result.config is not None
    assert protocols(result.config) == {"a": "layer2", "b": "bgp"}


def test_pools_are_ordered_by_name_like_metallb() -> None:
    result = run(
        pool("zeta", "10.0.2.0/24"), pool("alpha", "10.0.1.0/24"), pool("mid", "10.0.3.0/24"), l2("x")
    )
    assert result.config is not None
    assert [p.name for p in result.config.pools] == ["alpha", "mid", "zeta"]


def test_bgp_advertisements_map_each_field() -> None:
    result = run(
        obj("Community", "c", {"communities": [{"name": "lab", "value": "64512:100"}]}),
        pool("a", "10.0.0.0/24", "fd00::/120"),
        bgp("hosts", "a", localPref=200, communities=["lab", "65000:1", "large:1:2:3"]),
        bgp("agg", "a", aggregationLength=24, aggregationLengthV6=120, localPref=0),
    )
    assert result.findings == ()
    assert result.config is not None
    assert protocols(result.config) == {"a": "bgp"}
    assert bgp_attrs(result.config, "a") == (
        BgpAdvertisement("", (), 24, 120, None, ()),  # "agg" sorts first; localPref 0 means unset in MetalLB
        BgpAdvertisement(
            "", (), 32, 128, 200, (Community("64512:100"), Community("65000:1"), Community("1:2:3"))
        ),
    )
    assert result.model is not None
    assert [(ad.name, ad.pools) for ad in result.model.bgp_advertisements] == [
        ("agg", ("a",)),
        ("hosts", ("a",)),
    ]
    assert result.config.bgp_communities == (("lab", Community("64512:100")),)


def test_identical_bgp_advertisements_are_merged() -> None:
    result = run(pool("a", "10.0.0.0/24"), bgp("one", "a", localPref=5), bgp("two", "a", localPref=5))
    assert result.config is not None
    assert bgp_attrs(result.config, "a") == (BgpAdvertisement(localpref=5),)
    assert result.model is not None and len(result.model.bgp_advertisements) == 2  # both kept in the model


def test_unknown_community_is_an_error() -> None:
    result = run(pool("a", "10.0.0.0/24"), bgp("ad", "a", communities=["nosuch"]))
    assert result.config is None
    assert "BGPAdvertisement/ad: spec.communities[0]: unknown community alias 'nosuch'" in only(
        lines(result, "error"), "nosuch"
    ) or "invalid community 'nosuch'" in only(lines(result, "error"), "nosuch")


def test_both_protocols_is_an_error_without_prefer() -> None:
    objs = (pool("a", "10.0.0.0/24"), l2("l", "a"), bgp("b", "a"))
    result = run(*objs)
    assert result.config is None
    err = only(lines(result, "error"), "IPAddressPool/a")
    assert "L2Advertisement/l" in err and "BGPAdvertisement/b" in err and "--prefer" in err


@pytest.mark.parametrize("prefer", ["bgp", "layer2"])
def test_prefer_resolves_both_protocols_with_a_warning(prefer: str) -> None:
    result = run(pool("a", "10.0.0.0/24"), l2("l", "a"), bgp("b", "a", localPref=7), prefer=prefer)  # type: ignore[arg-type]
    assert result.config is not None
    assert protocols(result.config) == {"a": prefer}
    assert bgp_attrs(result.config, "a") == ((BgpAdvertisement(localpref=7),) if prefer == "bgp" else ())
    dropped = "L2Advertisement l" if prefer == "bgp" else "BGPAdvertisement b"
    assert dropped in only(lines(result, "warning"), "IPAddressPool/a")
    assert lines(result, "lossy") == []


def test_pool_without_advertisement_becomes_layer2_with_a_warning() -> None:
    result = run(pool("lonely", "10.0.0.0/24"))
    assert result.config is not None
    assert protocols(result.config) == {"lonely": "layer2"}
    assert result.model is not None and result.model.unannounced_pools() == result.model.pools
    warning = only(lines(result, "warning"), "IPAddressPool/lonely")
    assert "announces nothing" in warning and "layer2" in warning and "--prefer" in warning


def test_pool_without_advertisement_follows_prefer() -> None:
    result = run(pool("lonely", "10.0.0.0/24"), prefer="bgp")
    assert result.config is not None
    assert protocols(result.config) == {"lonely": "bgp"}
    assert "uses bgp" in only(lines(result, "warning"), "lonely")


def test_service_allocation_is_lossy_field_by_field() -> None:
    sa = {"priority": 10, "namespaces": ["x"], "namespaceSelectors": [{}], "serviceSelectors": [{}]}
    result = run(pool("a", "10.0.0.0/24", serviceAllocation=sa), l2("l"))
    assert result.config is not None
    lossy = lines(result, "lossy")
    assert len(lossy) == 4
    for name in sa:
        assert f"IPAddressPool/a: spec.serviceAllocation.{name}:" in only(lossy, f".{name}:")
    assert "ironlb.io/address-pool" in only(lossy, "serviceSelectors")


def test_host_bits_are_masked_with_a_warning() -> None:
    result = run(pool("a", "10.0.0.7/24"), l2("l"))
    assert result.config is not None
    assert str(result.config.pools[0].ranges[0].first) == "10.0.0.0"
    assert "spec.addresses[0]" in only(lines(result, "warning"), "host bits")


@pytest.mark.parametrize(
    ("addresses", "needle"),
    [
        (["10.0.0.0/33"], "spec.addresses[0]"),
        ([], "spec.addresses: a pool needs"),
        (["10.0.0.9-10.0.0.1"], "after"),
    ],
)
def test_bad_addresses_are_errors(addresses: list[str], needle: str) -> None:
    result = run(pool("a", *addresses), l2("l"))
    assert result.config is None
    assert only(lines(result, "error"), "IPAddressPool/a")
    assert needle in only(lines(result, "error"), "IPAddressPool/a")


def test_overlapping_pools_are_reported_on_the_crd() -> None:
    result = run(pool("a", "10.0.0.0/24"), pool("b", "10.0.0.128/25"), l2("l"))
    assert result.config is None
    err = only(lines(result, "error"), "overlaps")
    assert err.startswith("in.yaml:doc#2 IPAddressPool/b: spec.addresses[0]:")
    assert "IPAddressPool/a" in err and "address-pools[" not in err


def test_short_aggregation_length_is_reported_on_the_advertisement() -> None:
    result = run(pool("a", "10.0.0.0/24"), bgp("agg", "a", aggregationLength=16))
    assert result.config is None
    err = only(lines(result, "error"), "aggregation")
    assert err.startswith("in.yaml:doc#2 BGPAdvertisement/agg: spec.aggregationLength:")


# --- the deprecated AddressPool kind --------------------------------------------------------------


def test_layer2_address_pool_converts_one_to_one_with_a_deprecation_warning() -> None:
    result = run(
        address_pool(
            "old", "layer2", "10.0.0.0/24", "10.0.1.5 - 10.0.1.9", autoAssign=False, avoidBuggyIPs=True
        )
    )
    assert result.config is not None
    (p,) = result.config.pools
    assert (p.name, p.auto_assign, p.avoid_buggy_ips) == ("old", False, True)
    assert protocols(result.config) == {"old": "layer2"} and result.config.bgp_advertisements == ()
    assert [(str(r.first), str(r.last)) for r in p.ranges] == [
        ("10.0.0.0", "10.0.0.255"),
        ("10.0.1.5", "10.0.1.9"),
    ]
    (warning,) = lines(result)  # nothing lossy, no note: only that the kind is deprecated
    assert warning.startswith("in.yaml:doc#1 AddressPool/old: AddressPool is deprecated in MetalLB")
    assert [f.severity for f in result.findings] == ["warning"]
    assert parse_config(render_config(result.config)) == result.config


def test_bgp_address_pool_keeps_its_advertisements_and_resolves_community_aliases() -> None:
    result = run(
        obj("Community", "c", {"communities": [{"name": "lab", "value": "64512:100"}]}),
        address_pool(
            "old",
            "bgp",
            "10.0.0.0/24",
            "fd00::/120",
            bgpAdvertisements=[
                {"aggregationLength": 24, "aggregationLengthV6": 120, "localPref": 0},
                {"localPref": 200, "communities": ["lab", "65000:1", "large:1:2:3", "no-export"]},
                {"aggregationLength": 24, "aggregationLengthV6": 120},  # same as the first: merged
            ],
        ),
        address_pool("plain", "bgp", "10.0.1.0/24"),
    )
    assert [f.severity for f in result.findings] == ["warning", "warning"]
    assert result.config is not None
    old, _ = result.config.pools
    assert (old.name, old.auto_assign, old.avoid_buggy_ips) == ("old", True, False)
    assert protocols(result.config) == {"old": "bgp", "plain": "bgp"}
    assert bgp_attrs(result.config, "old") == (
        BgpAdvertisement("", (), 24, 120, None, ()),  # localPref 0 means unset, as for a BGPAdvertisement
        BgpAdvertisement(
            "",
            (),
            32,
            128,
            200,
            (Community("64512:100"), Community("65000:1"), Community("1:2:3"), Community("65535:65281")),
        ),
    )
    assert [ad.name for ad in result.config.bgp_advertisements_for("old")] == ["old", "old-1"]
    # No bgpAdvertisements: MetalLB announces each address as is; so does ironlb's one default.
    assert bgp_attrs(result.config, "plain") == (BgpAdvertisement(),)
    assert parse_config(render_config(result.config)) == result.config


def test_address_pools_sit_among_ip_address_pools_in_name_order() -> None:
    result = run(
        pool("b", "10.0.1.0/24"),
        address_pool("a", "bgp", "10.0.0.0/24"),
        address_pool("c", "layer2", "10.0.2.0/24"),
        bgp("all"),
    )
    assert result.config is not None
    assert list(protocols(result.config).items()) == [("a", "bgp"), ("b", "bgp"), ("c", "layer2")]


def test_advertisements_do_not_select_address_pools() -> None:
    """As in MetalLB: an advertisement without pools selects all *IPAddressPools*; an AddressPool keeps its
    own protocol, so a BGPAdvertisement for everything does not make a layer2 AddressPool dual-protocol."""
    result = run(
        address_pool("old", "layer2", "10.0.0.0/24"),
        pool("new", "10.0.1.0/24"),
        bgp("everything", localPref=5),
        l2("named", "new", "old"),
        prefer=None,
    )
    assert result.config is None  # "new" is selected by both; "old" is not part of that
    assert only(lines(result, "error"), "selected by both").startswith("in.yaml:doc#2 IPAddressPool/new")
    assert "'old' is an AddressPool" in only(lines(result, "warning"), "L2Advertisement/named")
    result = run(address_pool("old", "layer2", "10.0.0.0/24"), pool("new", "10.0.1.0/24"), bgp("all"))
    assert result.config is not None
    assert protocols(result.config) == {"new": "bgp", "old": "layer2"}
    assert bgp_attrs(result.config, "new") == (BgpAdvertisement(),)


def test_same_name_as_an_ip_address_pool_is_an_error_naming_both() -> None:
    result = run(pool("x", "10.0.0.0/24"), l2("l"), address_pool("x", "layer2", "10.0.1.0/24"))
    assert result.config is None
    err = only(lines(result, "error"), "pool name")
    assert err.startswith("in.yaml:doc#3 AddressPool/x: metadata.name: pool name 'x' is also used by ")
    assert "in.yaml:doc#1 IPAddressPool/x" in err
    result = run(address_pool("x", "bgp", "10.0.0.0/24"), address_pool("x", "bgp", "10.0.1.0/24"))
    assert "duplicate AddressPool 'x' (first at in.yaml:doc#1)" in only(lines(result, "error"), "duplicate")


def test_overlap_with_an_ip_address_pool_is_an_error_on_the_crd() -> None:
    result = run(pool("a", "10.0.0.0/24"), l2("l"), address_pool("b", "bgp", "10.0.0.128/25"))
    assert result.config is None
    err = only(lines(result, "error"), "overlaps")
    assert err.startswith("in.yaml:doc#3 AddressPool/b: spec.addresses[0]:")
    assert "IPAddressPool/a" in err and "address-pools[" not in err


def test_address_pool_advertisement_errors_point_into_the_address_pool() -> None:
    result = run(
        address_pool(
            "old",
            "bgp",
            "10.0.0.0/24",
            bgpAdvertisements=[{"localPref": 1}, {"localPref": 1}, {"aggregationLength": 16}],
        )
    )
    assert result.config is None
    err = only(lines(result, "error"), "AddressPool/old")
    # The merged duplicate does not shift the index: the error names the item as written.
    assert err.startswith("in.yaml:doc#1 AddressPool/old: spec.bgpAdvertisements[2].aggregationLength:")


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"protocol": None}, "spec.protocol: required field is missing (layer2 or bgp)"),
        ({"protocol": "ospf"}, "spec.protocol: unknown protocol 'ospf'"),
        ({"addresses": []}, "spec.addresses: a pool needs at least one CIDR or range"),
        ({"addresses": ["10.0.0.0/33"]}, "spec.addresses[0]: '10.0.0.0/33' is not a valid"),
        (
            {"protocol": "layer2", "bgpAdvertisements": [{"localPref": 1}]},
            "spec.bgpAdvertisements: not allowed in a layer2 AddressPool",
        ),
        (
            {"bgpAdvertisements": [{}, {"communities": ["nosuch"]}]},
            "spec.bgpAdvertisements[1].communities[0]:",
        ),
        ({"bgpAdvertisements": [{"localPref": "high"}]}, "spec.bgpAdvertisements[0].localPref: expected"),
    ],
)
def test_address_pool_errors(spec: dict[str, object], needle: str) -> None:
    ap = address_pool("old", "bgp", "10.0.0.0/24")
    ap["spec"] = {k: val for k, val in {**ap["spec"], **spec}.items() if val is not None}
    result = run(ap, l2("l", "old"))
    assert result.config is None
    assert needle in only(lines(result, "error"), "AddressPool/old")
    # Even a broken AddressPool is not "missing" for the advertisement that names it.
    assert "'old' is an AddressPool" in only(lines(result, "warning"), "L2Advertisement/l")


def test_address_pool_versions() -> None:
    alpha = address_pool("a", "layer2", "10.0.0.0/24")
    alpha["apiVersion"] = "metallb.io/v1alpha1"
    result = run(alpha)
    assert result.config is not None and result.config.pools[0].name == "a"
    beta2 = address_pool("b", "layer2", "10.0.0.0/24")
    beta2["apiVersion"] = "metallb.io/v1beta2"
    result = run(beta2)
    assert "use metallb.io/v1alpha1, metallb.io/v1beta1" in only(lines(result, "error"), "apiVersion")


def test_a_layer2_address_pool_answers_on_every_interface() -> None:
    """MetalLB answers for an AddressPool on every interface; ironlb has one interface list for all layer2
    pools, so it stays empty and an L2Advertisement limited to some interfaces is lossy."""
    result = run(
        address_pool("old", "layer2", "10.0.0.0/24"), pool("new", "10.0.1.0/24"), l2("l", interfaces=["eth1"])
    )
    assert result.config is not None
    assert interfaces(result.config) == ()
    assert "every interface, not only on eth1" in only(lines(result, "lossy"), "L2Advertisement/l")
    bgp_only = run(
        address_pool("old", "bgp", "10.0.0.0/24"), pool("new", "10.0.1.0/24"), l2("l", interfaces=["eth1"])
    )
    assert bgp_only.config is not None and interfaces(bgp_only.config) == ("eth1",)
    assert lines(bgp_only, "lossy") == []


def test_unknown_address_pool_fields_are_lossy() -> None:
    result = run(
        address_pool("old", "bgp", "10.0.0.0/24", bgpAdvertisements=[{"peers": ["p"]}], nodeSelectors=[])
    )
    lossy = lines(result, "lossy")
    assert "unknown AddressPool field" in only(lossy, "AddressPool/old: spec.bgpAdvertisements[0].peers")
    assert only(lossy, "AddressPool/old: spec.nodeSelectors")


# --- advertisement fields that ironlb cannot express ----------------------------------------------


def test_l2_node_selectors_are_lossy() -> None:
    result = run(pool("a", "10.0.0.0/24"), l2("l", "a", nodeSelectors=[{"matchLabels": {"zone": "a"}}]))
    assert result.config is not None
    assert "exclude-from-external-load-balancers" in only(
        lines(result, "lossy"), "L2Advertisement/l: spec.nodeSelectors"
    )


def test_bgp_node_selectors_and_peers_are_lossy() -> None:
    result = run(
        pool("a", "10.0.0.0/24"),
        peer("p"),
        peer("q", peerAddress="192.0.2.2"),
        bgp("b", "a", nodeSelectors=[{"matchLabels": {"zone": "a"}}], peers=["p"]),
    )
    assert result.config is not None
    lossy = lines(result, "lossy")
    assert "BGPPeers' nodeSelectors" in only(lossy, "BGPAdvertisement/b: spec.nodeSelectors")
    assert "every peer" in only(lossy, "BGPAdvertisement/b: spec.peers")


def test_same_interfaces_everywhere_are_lossless() -> None:
    result = run(
        pool("a", "10.0.0.0/24"),
        pool("b", "10.0.1.0/24"),
        l2("x", "a", interfaces=["eth1", "eth0"]),
        l2("y", "b", interfaces=["eth0", "eth1"]),
    )
    assert result.findings == ()
    assert result.config is not None
    assert interfaces(result.config) == ("eth1", "eth0")


def test_different_interfaces_become_the_union_and_are_lossy() -> None:
    result = run(
        pool("a", "10.0.0.0/24"),
        pool("b", "10.0.1.0/24"),
        l2("x", "a", interfaces=["eth1"]),
        l2("y", "b", interfaces=["eth2"]),
    )
    assert result.config is not None
    assert interfaces(result.config) == ("eth1", "eth2")
    lossy = lines(result, "lossy")
    assert len(lossy) == 2 and "answers on eth1, eth2, not only on eth1" in only(lossy, "L2Advertisement/x")


def test_an_advertisement_without_interfaces_means_every_interface() -> None:
    result = run(
        pool("a", "10.0.0.0/24"), pool("b", "10.0.1.0/24"), l2("x", "a", interfaces=["eth1"]), l2("y", "b")
    )
    assert result.config is not None
    assert interfaces(result.config) == ()
    assert "every interface" in only(lines(result, "lossy"), "L2Advertisement/x: spec.interfaces")


def test_unused_advertisement_is_a_note_and_its_fields_do_not_matter() -> None:
    result = run(
        pool("a", "10.0.0.0/24", labels={"k": "v"}),
        l2("l", "a"),
        bgp("none", ipAddressPoolSelectors=[{"matchLabels": {"k": "other"}}], peers=["p"]),
    )
    assert result.config is not None
    assert lines(result, "lossy") == []
    assert "selects no IPAddressPool" in only(lines(result, "note"), "BGPAdvertisement/none")


def test_dangling_pool_name_is_a_warning() -> None:
    result = run(pool("a", "10.0.0.0/24"), l2("l", "a", "ghost"))
    assert result.config is not None
    assert "spec.ipAddressPools[1]: no IPAddressPool 'ghost'" in only(lines(result, "warning"), "ghost")


def test_bad_pool_selector_is_an_error() -> None:
    sel = [{"matchExpressions": [{"key": "k", "operator": "Gt", "values": ["1"]}]}]
    result = run(pool("a", "10.0.0.0/24"), l2("l", ipAddressPoolSelectors=sel))
    assert result.config is None
    assert "spec.ipAddressPoolSelectors[0].matchExpressions[0].operator" in only(lines(result, "error"), "Gt")


# --- peers ----------------------------------------------------------------------------------------


def test_peer_maps_every_field() -> None:
    sel = [
        {"matchLabels": {"rack": "1", "zone": "a"}, "matchExpressions": [{"key": "x", "operator": "Exists"}]}
    ]
    result = run(
        obj(
            "BFDProfile",
            "fast",
            {
                "receiveInterval": 100,
                "transmitInterval": 120,
                "detectMultiplier": 4,
                "echoInterval": 60,
                "echoMode": True,
                "passiveMode": True,
                "minimumTtl": 250,
            },
        ),
        peer(
            "p",
            peerPort=1179,
            holdTime="1m30s",
            keepaliveTime="10s",
            routerID="10.1.1.1",
            sourceAddress="192.0.2.10",
            password="s3cret",
            bfdProfile="fast",
            ebgpMultiHop=True,
            nodeSelectors=sel,
        ),
    )
    assert result.findings == ()
    assert result.config is not None
    (p,) = result.config.peers
    assert (p.my_asn, p.peer_asn, str(p.peer_address), p.peer_port) == (64513, 64512, "192.0.2.1", 1179)
    assert (p.hold_time, p.keepalive_time, str(p.router_id), str(p.source_address)) == (
        90.0,
        10.0,
        "10.1.1.1",
        "192.0.2.10",
    )
    assert (p.password, p.bfd_profile, p.ebgp_multihop) == ("s3cret", "fast", True)
    assert p.node_selectors == (
        LabelSelector((("rack", "1"), ("zone", "a")), (SelectorRequirement("x", "Exists"),)),
    )
    assert result.config.bfd_profiles == (BfdProfile("fast", 100, 120, 4, 60, True, True, 250),)


def test_peer_defaults_and_v1beta1() -> None:
    p1 = peer("old", peerPort=0)
    p1["apiVersion"] = "metallb.io/v1beta1"
    result = run(p1)
    assert result.config is not None
    (p,) = result.config.peers
    assert (p.peer_port, p.hold_time, p.keepalive_time, p.password, p.bfd_profile) == (
        179,
        90.0,
        30.0,
        None,
        None,
    )


def test_bfd_profile_defaults_and_ranges() -> None:
    result = run(obj("BFDProfile", "d", {}), obj("BFDProfile", "bad", {"detectMultiplier": 1}))
    assert result.config is None
    assert "BFDProfile/bad: spec.detectMultiplier: 1 is out of range (2..255)" in only(
        lines(result, "error"), "bad"
    )
    ok = run(obj("BFDProfile", "d"))
    assert ok.config is not None and ok.config.bfd_profiles == (BfdProfile("d"),)


def test_password_secret_is_lossy_and_says_where_passwords_go() -> None:
    result = run(
        peer(
            "p",
            peerAddress="2001:db8::1",
            passwordSecret={"name": "bgp-secret", "namespace": "metallb-system"},
        )
    )
    assert result.config is not None
    msg = only(lines(result, "lossy"), "BGPPeer/p: spec.passwordSecret")
    assert "ironlb-bgp-passwords" in msg and "--bgp-password-dir" in msg and "2001_db8__1=" in msg
    assert result.config.peers[0].password is None


@pytest.mark.parametrize(
    ("spec", "field", "dropped"),
    [
        ({"vrf": "red"}, "spec.vrf", False),
        ({"connectTime": "5s"}, "spec.connectTime", False),
        ({"dualStackAddressFamily": True}, "spec.dualStackAddressFamily", False),
        ({"peerASN": None, "dynamicASN": "external"}, "spec.dynamicASN", True),
        ({"peerAddress": None, "interface": "eth0"}, "spec.interface", True),
    ],
)
def test_peer_fields_ironlb_cannot_express_are_lossy(
    spec: dict[str, object], field: str, dropped: bool
) -> None:
    p = peer("p", **spec)
    p["spec"] = {k: val for k, val in p["spec"].items() if val is not None}
    result = run(p)
    assert result.config is not None
    assert only(lines(result, "lossy"), f"BGPPeer/p: {field}:")
    assert len(result.config.peers) == (0 if dropped else 1)


def test_graceful_restart_and_disable_mp_are_only_notes() -> None:
    result = run(peer("p", enableGracefulRestart=True, disableMP=True))
    assert result.config is not None and lines(result, "lossy") == []
    assert "--bgp-graceful-restart" in only(lines(result, "note"), "spec.enableGracefulRestart")
    assert "only over a session of that family" in only(lines(result, "note"), "spec.disableMP")


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"bfdProfile": "nosuch"}, "spec.bfdProfile: no BFDProfile 'nosuch' in the input"),
        ({"peerAddress": "192.0.2.300"}, "spec.peerAddress: '192.0.2.300' is not a valid IP address"),
        (
            {"holdTime": "9s", "keepaliveTime": "10s"},
            "spec.keepaliveTime: keepalive time 10s must not exceed",
        ),
        ({"holdTime": "2s"}, "spec.holdTime: invalid hold time"),
        ({"routerID": "2001:db8::1"}, "spec.routerID: router ID '2001:db8::1' must be an IPv4 address"),
        ({"myASN": 0}, "spec.myASN: local ASN must not be 0"),  # the message a ConfigMap gets
        ({"myASN": 2**32}, "spec.myASN: 4294967296 is out of range (1..4294967295)"),
        ({"peerASN": None}, "spec.peerASN: required field is missing"),
        ({"peerAddress": None}, "spec.peerAddress: required field is missing"),
        ({"peerPort": "179"}, "spec.peerPort: expected an integer, got string '179'"),
        ({"dynamicASN": "internal"}, "mutually exclusive"),
        ({"interface": "eth0"}, "mutually exclusive"),
        (
            {"peerASN": 64513, "ebgpMultiHop": True},
            "BGPPeer/p: spec.ebgpMultiHop: ebgpMultiHop is only for eBGP peers (myASN equals peerASN)",
        ),
    ],
)
def test_peer_errors(spec: dict[str, object], needle: str) -> None:
    p = peer("p", **spec)
    p["spec"] = {k: val for k, val in p["spec"].items() if val is not None}
    result = run(p)
    assert result.config is None
    assert needle in only(lines(result, "error"), "BGPPeer/p")


def test_duplicate_peers_are_reported_on_the_crd() -> None:
    result = run(peer("a"), peer("b"))
    assert result.config is None
    assert only(lines(result, "error"), "duplicate peer").startswith("in.yaml:doc#2 BGPPeer/b")


# --- communities ----------------------------------------------------------------------------------


def test_community_aliases_across_objects() -> None:
    result = run(
        obj(
            "Community",
            "one",
            {"communities": [{"name": "x", "value": "1:1"}, {"name": "y", "value": "large:1:2:3"}]},
        ),
        obj("Community", "two", {"communities": [{"name": "x", "value": "1:1"}]}),
    )
    assert result.config is not None
    assert result.config.bgp_communities == (("x", Community("1:1")), ("y", Community("1:2:3")))


@pytest.mark.parametrize(
    ("aliases", "needle"),
    [
        ([{"name": "x", "value": "1:1"}, {"name": "x", "value": "2:2"}], "also defined with another value"),
        ([{"name": "x", "value": "70000:1"}], "spec.communities[0].value: invalid community"),
        ([{"value": "1:1"}], "spec.communities[0].name: required field is missing"),
    ],
)
def test_community_errors(aliases: list[dict[str, str]], needle: str) -> None:
    result = run(obj("Community", "c", {"communities": aliases}))
    assert result.config is None
    assert needle in only(lines(result, "error"), "Community/c")


# --- input handling -------------------------------------------------------------------------------


def test_other_kinds_are_ignored_with_one_note() -> None:
    result = run(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "metallb-system"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "c"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}},
        pool("a", "10.0.0.0/24"),
        l2("l"),
    )
    assert result.config is not None
    assert "ignored 3 object(s) that are not MetalLB configuration: Deployment x2, Namespace" in only(
        lines(result, "note"), "ignored"
    )


def test_other_metallb_kinds() -> None:
    result = run(obj("ServiceL2Status", "s"), pool("a", "10.0.0.0/24"), l2("l"))
    assert result.config is not None
    assert "ServiceL2Status is not MetalLB configuration" in only(lines(result, "note"), "ServiceL2Status")


def test_unknown_fields_are_lossy_not_dropped() -> None:
    result = run(
        pool("a", "10.0.0.0/24", futureKnob=True),
        l2("l", nodeSelectors=[{"matchLabels": {}, "matchFields": 1}]),
    )
    lossy = lines(result, "lossy")
    assert "unknown IPAddressPool field" in only(lossy, "IPAddressPool/a: spec.futureKnob")
    assert only(lossy, "spec.nodeSelectors[0].matchFields")


def test_unsupported_version_duplicate_and_nameless_objects_are_errors() -> None:
    old = pool("a", "10.0.0.0/24")
    old["apiVersion"] = "metallb.io/v1alpha1"
    nameless = pool("", "10.0.1.0/24")
    result = run(old, pool("b", "10.0.2.0/24"), pool("b", "10.0.3.0/24"), nameless, l2("l"))
    errors = lines(result, "error")
    assert "apiVersion: 'metallb.io/v1alpha1' is not supported for IPAddressPool" in only(errors, "v1alpha1")
    assert "duplicate IPAddressPool 'b' (first at in.yaml:doc#2)" in only(errors, "duplicate")
    assert "metadata.name: required field is missing" in only(errors, "metadata.name: required")
    assert result.config is None


def test_type_errors_name_their_path() -> None:
    result = run(pool("a", "10.0.0.0/24", autoAssign="yes please", addresses=[{"a": 1}]), l2("l"))
    errors = lines(result, "error")
    assert "spec.autoAssign: expected true or false, got string 'yes please'" in only(errors, "autoAssign")
    assert only(errors, "spec.addresses[0]: expected a string")


def test_empty_input_is_an_error() -> None:
    result = convert([])
    assert result.config is None
    assert "no MetalLB configuration found" in only(lines(result, "error"), "no MetalLB")


def test_objects_in_several_namespaces_warn() -> None:
    b = pool("b", "10.0.1.0/24")
    b["metadata"]["namespace"] = "other"
    result = run(pool("a", "10.0.0.0/24"), b, l2("l"))
    assert "several namespaces (metallb-system, other)" in only(lines(result, "warning"), "namespaces")


def test_list_items_and_documents_are_numbered() -> None:
    doc = text(
        {"apiVersion": "v1", "kind": "List", "items": [pool("a", "10.0.0.0/24"), pool("b", "10.0.0.0/25")]},
        l2("l"),
    )
    manifests, _ = manifests_from_text(doc, "dir/x.yaml")
    assert [str(m.origin) for m in manifests] == [
        "dir/x.yaml:doc#1.items[0]",
        "dir/x.yaml:doc#1.items[1]",
        "dir/x.yaml:doc#2",
    ]
    result = convert(manifests)
    assert only(lines(result, "error"), "overlaps").startswith("dir/x.yaml:doc#1.items[1] IPAddressPool/b")


def test_output_does_not_depend_on_input_order() -> None:
    objs = [
        pool("a", "10.0.0.0/24"),
        pool("b", "10.0.1.0/24", labels={"t": "x"}),
        pool("c", "fd00::/120"),
        l2("l2", "a", interfaces=["eth1"]),
        bgp("b1", ipAddressPoolSelectors=[{"matchLabels": {"t": "x"}}]),
        bgp("b2", "c", localPref=9),
        bgp("b3", "b", "c", communities=["x"]),
        obj(
            "Community", "cm", {"communities": [{"name": "x", "value": "1:2"}, {"name": "a", "value": "3:4"}]}
        ),
        peer("p2", peerAddress="192.0.2.2"),
        peer("p1"),
        obj("BFDProfile", "z"),
        obj("BFDProfile", "y"),
    ]
    first = run(*objs)
    assert first.config is not None and first.findings == ()
    rendered = render_config(first.config)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = objs[:]
        rng.shuffle(shuffled)
        again = run(*shuffled)
        assert again.config is not None
        assert render_config(again.config) == rendered
    assert ipaddress.ip_address("10.0.1.1") in first.config.pools[1].ranges[0]


def test_a_broken_pool_does_not_add_a_dangling_name_warning() -> None:
    result = run(pool("a", "10.0.0.0/33"), l2("l", "a"))
    assert result.config is None
    assert lines(result, "warning") == []
    assert len(lines(result, "error")) == 1


def test_yaml_is_read_like_kubectl_reads_it() -> None:
    """Unquoted ``64512:100`` stays a community (not a base-60 number); ``password: 1234`` stays text."""
    doc = """
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c}
spec:
  communities:
  - {name: lab, value: 64512:100}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: p}
spec: {myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, password: 1234}
"""
    manifests, findings = manifests_from_text(doc, "q.yaml")
    result = convert(manifests)
    assert findings == [] and result.config is not None
    assert result.config.bgp_communities == (("lab", Community("64512:100")),)
    assert result.config.peers[0].password == "1234"


def test_each_finding_is_one_printable_line() -> None:
    result = run(pool("evil\nerror: fake", "10.0.0.0/24"))
    (warning,) = lines(result, "warning")
    assert "\n" not in warning and "IPAddressPool/evil\\nerror: fake" in warning
