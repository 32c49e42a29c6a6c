"""MetalLB → ironlb mapping of the deprecated AddressPool kind: conversion, conflicts, errors."""

from __future__ import annotations

import pytest

from ironlb.config import parse_config
from ironlb.config.model import BgpAdvertisement, Community
from ironlb.config.render import render_config
from tests.metallb.helpers import (
    address_pool,
    bgp,
    bgp_attrs,
    interfaces,
    l2,
    lines,
    obj,
    only,
    pool,
    protocols,
    run,
)

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
