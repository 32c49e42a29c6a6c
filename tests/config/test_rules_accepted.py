"""Config rules for what is accepted: defaults, rounding, field values, selectors, communities."""

from __future__ import annotations

import ipaddress

from ironlb.config import Community, parse_config
from ironlb.config.model import BgpAdvertisement, L2Advertisement, LabelSelector, SelectorRequirement
from tests.config.rejections import PEER


def test_defaults() -> None:
    config = parse_config(
        f"""
        peers: [{PEER}]
        address-pools:
        - {{name: l2, protocol: layer2, addresses: [10.0.0.0/24]}}
        - {{name: b, protocol: bgp, addresses: [10.0.1.0/24]}}
        bfd-profiles: [{{name: x}}]
        cluster-ip-advertisement: {{cidrs: [10.96.0.0/12]}}
        """
    )
    peer = config.peers[0]
    assert (peer.peer_port, peer.hold_time, peer.keepalive_time) == (179, 90.0, 30.0)
    assert peer.node_selectors == () and peer.router_id is None and peer.password is None
    l2, _ = config.pools
    assert l2.auto_assign and not l2.avoid_buggy_ips and l2.allocation is None
    assert config.l2_advertisements_for("l2") == (L2Advertisement("l2", ("l2",)),)
    assert config.bgp_advertisements_for("l2") == ()
    assert config.l2_advertisements_for("b") == ()
    assert config.bgp_advertisements_for("b") == (BgpAdvertisement("b", ("b",), 32, 128, None, ()),)
    assert peer.name == "peer-172.30.0.1" and peer.graceful_restart is None and peer.password_secret is None
    bfd = config.bfd_profiles[0]
    assert (bfd.receive_interval, bfd.transmit_interval, bfd.detect_multiplier) == (300, 300, 3)
    assert (bfd.echo_interval, bfd.minimum_ttl, bfd.echo_mode, bfd.passive_mode) == (50, 254, False, False)
    (cip,) = config.cluster_ip_advertisements
    assert cip.local_routes is True and cip.external_ips is False and cip.localpref is None
    assert cip.name == "cluster-ip-advertisement" and cip.peers == ()


def test_timers_round_down_and_keepalive_is_a_third() -> None:
    config = parse_config(
        """
        peers:
        - {peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, hold-time: 1m30.9s}
        - {peer-address: 172.30.0.2, peer-asn: 1, my-asn: 2, hold-time: 10s}
        - {peer-address: 172.30.0.3, peer-asn: 1, my-asn: 2, hold-time: '0', keepalive-time: 0s}
        - {peer-address: 172.30.0.4, peer-asn: 1, my-asn: 2, hold-time: 3s, keepalive-time: 1500ms}
        - {peer-address: 172.30.0.5, peer-asn: 1, my-asn: 2, hold-time: 1h}
        """
    )
    got = [(p.hold_time, p.keepalive_time) for p in config.peers]
    assert got == [(90.0, 30.0), (10.0, 3.0), (0.0, 0.0), (3.0, 1.0), (3600.0, 1200.0)]


def test_peer_fields() -> None:
    config = parse_config(
        """
        bfd-profiles: [{name: fast, receive-interval: 10, detect-multiplier: 255, minimum-ttl: 1}]
        peers:
        - peer-address: 'fd00::1'
          peer-asn: 4294967295
          my-asn: 1
          peer-port: 1790
          router-id: 10.0.0.1
          source-address: 'fd00::2'
          password: 12345
          bfd-profile: fast
          ebgp-multihop: true
          node-selectors:
          - match-labels: {rack: 1, kubernetes.io/os: linux}
            match-expressions:
            - {key: zone, operator: NotIn, values: [a, b]}
          - {}
        """
    )
    peer = config.peers[0]
    assert peer.peer_address == ipaddress.ip_address("fd00::1")
    assert (peer.peer_asn, peer.my_asn, peer.peer_port) == (4294967295, 1, 1790)
    assert peer.router_id == ipaddress.IPv4Address("10.0.0.1")
    assert peer.source_address == ipaddress.ip_address("fd00::2")
    assert peer.password == "12345"  # a plain YAML number into a string field keeps its text (yaml.v2)
    assert peer.bfd_profile == "fast" and peer.ebgp_multihop
    assert peer.node_selectors == (
        LabelSelector(
            (("kubernetes.io/os", "linux"), ("rack", "1")),
            (SelectorRequirement("zone", "NotIn", ("a", "b")),),
        ),
        LabelSelector(),
    )
    # The empty selector selects everything, and selectors are OR'ed.
    assert peer.selects({"zone": "a"})
    assert config.bfd_profiles[0].receive_interval == 10


def test_selectors_are_ored_and_anded_within() -> None:
    config = parse_config(
        """
        peers:
        - peer-address: 172.30.0.1
          peer-asn: 1
          my-asn: 2
          node-selectors:
          - match-labels: {rack: a}
            match-expressions: [{key: spine, operator: Exists}]
          - match-expressions: [{key: role, operator: In, values: [edge]}, {key: bad, operator: DoesNotExist}]
        """
    )
    peer = config.peers[0]
    assert peer.selects({"rack": "a", "spine": ""})
    assert not peer.selects({"rack": "a"})
    assert peer.selects({"role": "edge"})
    assert not peer.selects({"role": "edge", "bad": "1"})
    assert not peer.selects({})


def test_communities_aliases_well_known_and_large() -> None:
    config = parse_config(
        """
        bgp-communities: {vpn: 64512:10, edge: '0:65535', big: 'large:1:2:3'}
        address-pools:
        - name: a
          protocol: bgp
          addresses: [10.0.0.0/24]
          bgp-advertisements:
          - communities: [vpn, edge, big, no-export, no-advertise, local-as, no-export-subconfed, no-peer,
                          '4294967295:0:1', 'large:7:8:9', vpn]
        """
    )
    assert dict(config.bgp_communities) == {
        "vpn": Community("64512:10"),  # 64512:10 is base 60 to YAML 1.1; MetalLB reads a string
        "edge": Community("0:65535"),
        "big": Community("1:2:3"),
    }
    values = [c.value for c in config.bgp_advertisements[0].communities]
    assert values == [
        "64512:10",
        "0:65535",
        "1:2:3",
        "65535:65281",
        "65535:65282",
        "65535:65283",  # local-as and no-export-subconfed are one community: kept once
        "65535:65284",
        "4294967295:0:1",
        "7:8:9",
    ]
    assert Community("1:2:3").is_large and not Community("1:2").is_large


def test_alias_shadows_well_known_name() -> None:
    config = parse_config(
        """
        bgp-communities: {no-export: '1:1'}
        address-pools:
        - {name: a, protocol: bgp, addresses: [10.0.0.0/24], bgp-advertisements: [{communities: [no-export]}]}
        """
    )
    assert config.bgp_advertisements[0].communities == (Community("1:1"),)


def test_aggregation_lengths_allowed_at_or_below_pool_prefix() -> None:
    config = parse_config(
        """
        address-pools:
        - name: a
          protocol: bgp
          addresses: [10.0.0.0/24, 3.3.3.2-3.3.3.254, 'fc00::/64']
          bgp-advertisements:
          - {aggregation-length: 26, aggregation-length-v6: 64}
          - {aggregation-length: 32, localpref: 100}
        """
    )
    ads = config.bgp_advertisements_for("a")
    assert [a.name for a in ads] == ["a", "a-1"]
    assert [(a.aggregation_length, a.aggregation_length_v6, a.localpref) for a in ads] == [
        (26, 64, None),
        (32, 128, 100),
    ]


def test_addresses_cidr_range_spaces_ipv6_and_host_bits() -> None:
    config = parse_config(
        """
        address-pools:
        - name: a
          protocol: layer2
          addresses: ['10.0.0.0/30', '10.0.1.1 -  10.0.1.3', '10.0.2.7/24', 'fc00::1-fc00::1', 'fd00::/127']
        """
    )
    ranges = [(str(r.first), str(r.last), r.text) for r in config.pools[0].ranges]
    assert ranges == [
        ("10.0.0.0", "10.0.0.3", "10.0.0.0/30"),
        ("10.0.1.1", "10.0.1.3", "10.0.1.1 -  10.0.1.3"),
        ("10.0.2.0", "10.0.2.255", "10.0.2.7/24"),  # host bits masked, as MetalLB's net.ParseCIDR does
        ("fc00::1", "fc00::1", "fc00::1-fc00::1"),
        ("fd00::", "fd00::1", "fd00::/127"),
    ]
    assert config.pools[0].families == frozenset({4, 6})


def test_host_bits_produce_a_warning() -> None:
    from ironlb.config.parse import parse_config_report

    result = parse_config_report("address-pools: [{name: a, protocol: layer2, addresses: [10.0.2.7/24]}]")
    assert result.warnings == (
        "address-pools[0].addresses[0]: '10.0.2.7/24' has host bits set; using 10.0.2.0/24 (as MetalLB does)",
    )


def test_pools_touching_do_not_overlap() -> None:
    config = parse_config(
        """
        address-pools:
        - {name: a, protocol: layer2, addresses: [10.0.0.0/25, '10.0.1.0-10.0.1.9']}
        - {name: b, protocol: bgp, addresses: [10.0.0.128/25, '10.0.1.10-10.0.1.20', '::ffff:0:0/96']}
        """
    )
    assert [p.name for p in config.pools] == ["a", "b"]


def test_layer2_pool_may_have_empty_advertisement_list_and_null_fields() -> None:
    config = parse_config(
        """
        address-pools:
        - {name: a, protocol: layer2, addresses: [10.0.0.0/24], bgp-advertisements: [], auto-assign: ~}
        """
    )
    assert config.pools[0].auto_assign is True


def test_peers_differing_in_node_selectors_are_not_duplicates() -> None:
    config = parse_config(
        """
        peers:
        - {peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, node-selectors: [{match-labels: {rack: a}}]}
        - {peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, node-selectors: [{match-labels: {rack: b}}]}
        - {peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, peer-port: 1179}
        """
    )
    assert len(config.peers) == 3
