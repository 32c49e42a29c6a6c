"""MetalLB → ironlb mapping of pools and advertisements: every field, lossy case and error."""

from __future__ import annotations

import pytest

from ironlb.config import parse_config
from ironlb.config.model import BgpAdvertisement, Community
from ironlb.config.render import render_config
from tests.metallb.helpers import bgp, bgp_attrs, interfaces, l2, lines, obj, only, peer, pool, protocols, run

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
