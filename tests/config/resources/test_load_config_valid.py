"""load_config on valid inputs: resources alone, the ConfigMap alone, both, selection, sources."""

from __future__ import annotations

import ipaddress

from ironlb.config import (
    AddressRange,
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Community,
    L2Advertisement,
    LabelSelector,
    SecretRef,
    ServiceAllocation,
    load_config,
    parse_config,
)
from tests.config.resources.builders import CONFIGMAP, NS, obj, peer, pool, problems

# ---- valid inputs --------------------------------------------------------------------------------


def test_resources_alone_make_the_domain_config() -> None:
    result = load_config(
        None,
        [
            pool(
                "public",
                "192.168.10.0/24",
                "192.168.9.1 - 192.168.9.5",
                meta={"labels": {"tier": "public"}},
                serviceAllocation={"priority": 5, "namespaces": ["shop"]},
            ),
            pool("private", "10.0.0.0/28", autoAssign=False, avoidBuggyIPs=True),
            obj(
                "L2Advertisement",
                "l2",
                {
                    "ipAddressPoolSelectors": [{"matchLabels": {"tier": "public"}}],
                    "interfaces": ["eth0", "bond*"],
                    "nodeSelectors": [{"matchLabels": {"zone": "a"}}],
                },
            ),
            obj(
                "BGPAdvertisement",
                "bgp",
                {
                    "ipAddressPools": ["private"],
                    "aggregationLength": 28,
                    "communities": ["lab", "no-export"],
                    "localPref": 50,
                    "peers": ["router"],
                },
            ),
            peer(
                "router",
                holdTime="9s",
                bfdProfile="fast",
                enableGracefulRestart=False,
                passwordSecret={"name": "bgp-secret"},
            ),
            obj("BFDProfile", "fast", {"transmitInterval": 100, "receiveInterval": 100}),
            obj("Community", "communities", {"communities": [{"name": "lab", "value": "64512:100"}]}),
            obj("ClusterIPAdvertisement", "cluster", {"cidrs": ["10.96.0.0/12"], "peers": ["router"]}),
        ],
    )
    assert result.errors == () and result.warnings == ()
    config = result.config
    assert config is not None
    assert [p.name for p in config.pools] == ["private", "public"]  # by name
    public = config.pool("public")
    assert public is not None and public.allocation == ServiceAllocation(priority=5, namespaces=("shop",))
    assert public.ranges[1] == AddressRange(
        ipaddress.ip_address("192.168.9.1"), ipaddress.ip_address("192.168.9.5")
    )
    private = config.pool("private")
    assert private is not None and not private.auto_assign and private.avoid_buggy_ips
    assert config.l2_advertisements == (
        L2Advertisement("l2", ("public",), (LabelSelector((("zone", "a"),)),), ("eth0", "bond*")),
    )
    assert config.bgp_advertisements == (
        BgpAdvertisement(
            "bgp",
            ("private",),
            28,
            128,
            50,
            (Community("64512:100"), Community("65535:65281")),
            (),
            ("router",),
        ),
    )
    (router,) = config.peers
    assert (router.name, router.hold_time, router.keepalive_time) == ("router", 9.0, 3.0)
    assert (router.bfd_profile, router.graceful_restart) == ("fast", False)
    assert router.password_secret == SecretRef("bgp-secret")
    assert config.bfd_profiles[0].transmit_interval == 100
    assert config.bgp_communities == (("lab", Community("64512:100")),)
    assert config.cluster_ip_advertisements == (
        ClusterIPAdvertisement(
            cidrs=(ipaddress.ip_network("10.96.0.0/12"),), peers=("router",), name="cluster"
        ),
    )


def test_the_configmap_alone_is_what_parse_config_makes() -> None:
    result = load_config(CONFIGMAP, [])
    assert result.errors == ()
    assert result.config == parse_config(CONFIGMAP)
    assert [str(s.ref) for s in result.sources] == ["ConfigMap"]


def test_no_input_is_an_empty_valid_config() -> None:
    result = load_config(None, [])
    assert result.config is not None and result.config.pools == () and result.sources == ()


def test_both_inputs_merge_the_configmap_first_and_resources_may_refer_to_it() -> None:
    result = load_config(
        CONFIGMAP,
        [
            pool("new", "203.0.113.0/24"),
            obj(
                "BGPAdvertisement",
                "both",
                {"ipAddressPools": ["legacy", "new"], "communities": ["lab"], "peers": ["peer-172.30.0.1"]},
            ),
            peer("other", "172.30.0.2", bfdProfile="fast"),
        ],
    )
    assert result.errors == ()
    config = result.config
    assert config is not None
    assert [p.name for p in config.pools] == ["legacy", "new"]
    assert [p.name for p in config.peers] == ["peer-172.30.0.1", "other"]
    assert [a.name for a in config.bgp_advertisements] == ["legacy", "both"]
    assert config.bgp_advertisements[1].communities == (Community("64512:100"),)


def test_an_advertisement_without_selection_selects_every_pool() -> None:
    result = load_config(CONFIGMAP, [pool("new", "203.0.113.0/24"), obj("L2Advertisement", "all")])
    assert result.config is not None
    assert result.config.l2_advertisements == (L2Advertisement("all"),)
    assert {p.name for p in result.config.pools if result.config.l2_advertisements_for(p.name)} == {
        "legacy",
        "new",
    }


def test_an_advertisement_whose_selection_matches_no_pool_is_dropped_not_made_every_pool() -> None:
    result = load_config(
        None,
        [
            pool("a", "10.0.0.0/24", meta={"labels": {"tier": "a"}}),
            obj("L2Advertisement", "none", {"ipAddressPoolSelectors": [{"matchLabels": {"tier": "b"}}]}),
        ],
    )
    assert result.config is not None and result.config.l2_advertisements == ()
    assert problems(result, "warning") == [
        (
            f"L2Advertisement {NS}/none",
            "spec",
            "selects no pool (by ipAddressPools or ipAddressPoolSelectors): it announces nothing",
        ),
    ]


def test_names_and_selectors_both_select() -> None:
    result = load_config(
        None,
        [
            pool("a", "10.0.0.0/24", meta={"labels": {"tier": "x"}}),
            pool("b", "10.0.1.0/24"),
            pool("c", "10.0.2.0/24"),
            obj(
                "BGPAdvertisement",
                "ad",
                {
                    "ipAddressPools": ["b"],
                    "ipAddressPoolSelectors": [{"matchExpressions": [{"key": "tier", "operator": "Exists"}]}],
                },
            ),
        ],
    )
    assert result.config is not None and result.config.bgp_advertisements[0].pools == ("a", "b")


def test_sources_name_every_object_with_its_generation() -> None:
    cm = {"metadata": {"name": "ironlb", "namespace": NS, "resourceVersion": "7"}, "data": {"config": ""}}
    result = load_config(
        None, [pool("a", "10.0.0.0/24", meta={"generation": 3, "resourceVersion": "41"})], configmap=cm
    )
    assert result.errors == ()
    assert [(str(s.ref), s.generation, s.resource_version) for s in result.sources] == [
        (f"ConfigMap {NS}/ironlb", None, "7"),
        (f"IPAddressPool {NS}/a", 3, "41"),
    ]


def test_status_kinds_are_not_config_and_are_skipped() -> None:
    status = {
        "apiVersion": "ironlb.io/v1beta1",
        "kind": "ServiceL2Status",
        "metadata": {"name": "s"},
        "status": {},
    }
    result = load_config(None, [status])
    assert result.errors == () and result.sources == ()
