"""Table tests: every rule of the config format, each rejection with its path, and the defaults."""

from __future__ import annotations

import ipaddress
import textwrap

import pytest

from ironlb.config import Community, ConfigError, parse_config
from ironlb.config.model import BgpAdvertisement, L2Advertisement, LabelSelector, SelectorRequirement

PEER = "{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513}"


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(textwrap.dedent(text))
    assert str(info.value) == "\n".join(info.value.errors)
    return list(info.value.errors)


# (id, config, [(path, substring of message)]) -- the errors must be exactly these, in any order.
REJECTIONS: list[tuple[str, str, list[tuple[str, str]]]] = [
    # ---- address pools
    (
        "pool-name-missing",
        "address-pools: [{protocol: layer2, addresses: [10.0.0.0/24]}]",
        [("address-pools[0].name", "required")],
    ),
    (
        "pool-name-duplicate",
        """
        address-pools:
        - {name: a, protocol: layer2, addresses: [10.0.0.0/24]}
        - {name: a, protocol: layer2, addresses: [10.0.1.0/24]}
        """,
        [("address-pools[1].name", "duplicate name 'a' (first defined at address-pools[0])")],
    ),
    (
        "protocol-missing",
        "address-pools: [{name: a, addresses: [10.0.0.0/24]}]",
        [("address-pools[0].protocol", "required")],
    ),
    (
        "protocol-unknown",
        "address-pools: [{name: a, protocol: ospf, addresses: [10.0.0.0/24]}]",
        [("address-pools[0].protocol", "unknown protocol 'ospf'")],
    ),
    (
        "addresses-empty",
        "address-pools: [{name: a, protocol: layer2, addresses: []}]",
        [("address-pools[0].addresses", "at least one")],
    ),
    (
        "addresses-missing",
        "address-pools: [{name: a, protocol: layer2}]",
        [("address-pools[0].addresses", "at least one")],
    ),
    (
        "cidr-33",
        "address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/24, 10.0.0.0/33]}]",
        [("address-pools[0].addresses[1]", "'10.0.0.0/33' is not a valid CIDR")],
    ),
    (
        "ipv6-cidr-129",
        "address-pools: [{name: a, protocol: layer2, addresses: ['fc00::/129']}]",
        [("address-pools[0].addresses[0]", "'fc00::/129' is not a valid CIDR")],
    ),
    (
        "bare-ip-is-not-cidr",
        "address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.1]}]",
        [("address-pools[0].addresses[0]", "not a valid CIDR")],
    ),
    (
        "netmask-form-refused",
        "address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/255.255.255.0]}]",
        [("address-pools[0].addresses[0]", "not a valid CIDR")],
    ),
    (
        "bad-ip-in-cidr",
        "address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.256/32]}]",
        [("address-pools[0].addresses[0]", "not a valid CIDR")],
    ),
    (
        "range-reversed",
        "address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.9-10.0.0.1]}]",
        [("address-pools[0].addresses[0]", "start 10.0.0.9 is after end 10.0.0.1")],
    ),
    (
        "range-mixed-family",
        "address-pools: [{name: a, protocol: layer2, addresses: ['10.0.0.1-fc00::9']}]",
        [("address-pools[0].addresses[0]", "mixes IPv4 and IPv6")],
    ),
    (
        "range-bad-end",
        "address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.1-10.0.0]}]",
        [("address-pools[0].addresses[0]", "end '10.0.0' is not an IP address")],
    ),
    (
        "range-zone-id-refused",
        "address-pools: [{name: a, protocol: layer2, addresses: ['fe80::1%eth0-fe80::9']}]",
        [("address-pools[0].addresses[0]", "start 'fe80::1%eth0' is not an IP address")],
    ),
    (
        "pools-overlap-across-pools",
        """
        address-pools:
        - {name: a, protocol: layer2, addresses: [10.0.0.0/24]}
        - {name: b, protocol: bgp, addresses: [10.0.0.128-10.0.1.5]}
        """,
        [
            (
                "address-pools[1].addresses[0]",
                "overlaps '10.0.0.0/24' of pool 'a' (address-pools[0].addresses[0])",
            )
        ],
    ),
    (
        "pools-overlap-within-pool",
        "address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/24, 10.0.0.7/32]}]",
        [("address-pools[0].addresses[1]", "overlaps '10.0.0.0/24'")],
    ),
    (
        "pools-overlap-ipv6",
        """
        address-pools:
        - {name: a, protocol: layer2, addresses: ['fc00::/64']}
        - {name: b, protocol: layer2, addresses: ['fc00::ff-fc00::1:0']}
        """,
        [("address-pools[1].addresses[0]", "overlaps 'fc00::/64' of pool 'a'")],
    ),
    (
        "pools-overlap-later-entry-named",
        """
        address-pools:
        - {name: a, protocol: layer2, addresses: [10.0.0.100/32]}
        - {name: b, protocol: layer2, addresses: [10.0.0.0/24]}
        """,
        [("address-pools[1].addresses[0]", "'10.0.0.0/24' overlaps '10.0.0.100/32' of pool 'a'")],
    ),
    (
        "advertisement-in-layer2-pool",
        "address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/24], bgp-advertisements: [{}]}]",
        [("address-pools[0].bgp-advertisements", "not allowed in a layer2 pool")],
    ),
    (
        "aggregation-length-over-32",
        "address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], "
        "bgp-advertisements: [{aggregation-length: 33}]}]",
        [("address-pools[0].bgp-advertisements[0].aggregation-length", "33 is out of range (0..32)")],
    ),
    (
        "aggregation-length-v6-over-128",
        "address-pools: [{name: a, protocol: bgp, addresses: ['fc00::/64'], "
        "bgp-advertisements: [{aggregation-length-v6: 129}]}]",
        [("address-pools[0].bgp-advertisements[0].aggregation-length-v6", "129 is out of range (0..128)")],
    ),
    (
        "aggregation-shorter-than-pool-prefix",
        "address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], "
        "bgp-advertisements: [{aggregation-length: 16}]}]",
        [("address-pools[0].bgp-advertisements[0].aggregation-length", "16 is shorter than prefix /24")],
    ),
    (
        "aggregation-shorter-than-widest-block-of-range",
        # MetalLB's example: 3.3.3.2-3.3.3.254 summarizes to blocks no wider than /26 (26 is accepted).
        "address-pools: [{name: a, protocol: bgp, addresses: [3.3.3.2-3.3.3.254], "
        "bgp-advertisements: [{aggregation-length: 24}]}]",
        [("address-pools[0].bgp-advertisements[0].aggregation-length", "24 is shorter than prefix /26")],
    ),
    (
        "aggregation-v6-shorter-than-pool-prefix",
        "address-pools: [{name: a, protocol: bgp, addresses: ['fc00::/120'], "
        "bgp-advertisements: [{aggregation-length-v6: 64}]}]",
        [("address-pools[0].bgp-advertisements[0].aggregation-length-v6", "64 is shorter than prefix /120")],
    ),
    (
        "duplicate-advertisements",
        "address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], bgp-advertisements: "
        "[{communities: ['1:1', '2:2']}, {localpref: 5}, {communities: ['2:2', '1:1']}]}]",
        [("address-pools[0].bgp-advertisements[2]", "duplicate of bgp-advertisements[0]")],
    ),
    (
        "duplicate-advertisements-defaults-spelled-out",
        "address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], bgp-advertisements: "
        "[{}, {aggregation-length: 32, aggregation-length-v6: 128}]}]",
        [("address-pools[0].bgp-advertisements[1]", "duplicate of bgp-advertisements[0]")],
    ),
    (
        "localpref-out-of-range",
        "address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], "
        "bgp-advertisements: [{localpref: 4294967296}]}]",
        [("address-pools[0].bgp-advertisements[0].localpref", "out of range")],
    ),
    # ---- communities
    (
        "community-unknown-alias",
        "address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], "
        "bgp-advertisements: [{communities: [nosuch]}]}]",
        [("address-pools[0].bgp-advertisements[0].communities[0]", "unknown community alias 'nosuch'")],
    ),
    (
        "community-first-half-out-of-range",
        "address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], "
        "bgp-advertisements: [{communities: ['65536:1']}]}]",
        [
            (
                "address-pools[0].bgp-advertisements[0].communities[0]",
                "first half 65536 does not fit in 16 bits",
            )
        ],
    ),
    (
        "community-second-half-out-of-range",
        "address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], "
        "bgp-advertisements: [{communities: ['1:65536']}]}]",
        [("address-pools[0].bgp-advertisements[0].communities[0]", "second half 65536 does not fit")],
    ),
    (
        "community-not-numeric",
        "address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], "
        "bgp-advertisements: [{communities: ['+1:2', 'a:b', '1:2:3:4']}]}]",
        [
            ("address-pools[0].bgp-advertisements[0].communities[0]", "'+1' is not a number"),
            ("address-pools[0].bgp-advertisements[0].communities[1]", "'a' is not a number"),
            ("address-pools[0].bgp-advertisements[0].communities[2]", "expected A:B"),
        ],
    ),
    (
        "large-community-part-out-of-range",
        "address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], "
        "bgp-advertisements: [{communities: ['large:1:2:4294967296']}]}]",
        [("address-pools[0].bgp-advertisements[0].communities[0]", "does not fit in 32 bits")],
    ),
    (
        "alias-value-invalid",
        """
        bgp-communities: {vpn: '64512:70000'}
        address-pools:
        - {name: a, protocol: bgp, addresses: [10.0.0.0/24], bgp-advertisements: [{communities: [vpn]}]}
        """,
        # The alias is reported once, where it is defined; its use is not reported again.
        [("bgp-communities.vpn", "second half 70000 does not fit in 16 bits")],
    ),
    (
        "alias-value-is-another-alias",
        "bgp-communities: {a: '1:1', b: a}",
        [("bgp-communities.b", "invalid community 'a'")],
    ),
    # ---- peers
    (
        "peer-asn-missing",
        "peers: [{peer-address: 172.30.0.1, my-asn: 64513}]",
        [("peers[0].peer-asn", "required")],
    ),
    (
        "my-asn-missing",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 64512}]",
        [("peers[0].my-asn", "required")],
    ),
    (
        "asn-zero",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 0, my-asn: 0}]",
        [("peers[0].peer-asn", "must not be 0"), ("peers[0].my-asn", "must not be 0")],
    ),
    (
        "asn-over-32-bits",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 4294967296, my-asn: -1}]",
        [("peers[0].peer-asn", "out of range"), ("peers[0].my-asn", "out of range")],
    ),
    (
        "peer-address-missing",
        "peers: [{peer-asn: 64512, my-asn: 64513}]",
        [("peers[0].peer-address", "required")],
    ),
    (
        "peer-address-invalid",
        "peers: [{peer-address: 172.30.0.300, peer-asn: 64512, my-asn: 64513}]",
        [("peers[0].peer-address", "'172.30.0.300' is not a valid IP address")],
    ),
    (
        "peer-port-out-of-range",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, peer-port: 65536}]",
        [("peers[0].peer-port", "out of range (1..65535)")],
    ),
    (
        "peer-port-as-string",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, peer-port: '179'}]",
        [("peers[0].peer-port", "expected an integer, got string '179'")],
    ),
    (
        "hold-time-below-3s",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, hold-time: 2s}]",
        [("peers[0].hold-time", "must be 0 or at least 3s")],
    ),
    (
        "hold-time-no-unit",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, hold-time: 90}]",
        [("peers[0].hold-time", "missing unit")],
    ),
    (
        "hold-time-garbage",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, hold-time: 9 s}]",
        [("peers[0].hold-time", "invalid duration '9 s'")],
    ),
    (
        "keepalive-above-hold",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, hold-time: 9s, keepalive-time: 10s}]",
        [("peers[0].keepalive-time", "keepalive time 10s must not exceed the hold time 9s")],
    ),
    (
        "keepalive-with-hold-zero",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, hold-time: 0s, keepalive-time: 1s}]",
        [("peers[0].keepalive-time", "must not exceed the hold time 0s")],
    ),
    (
        "router-id-ipv6",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, router-id: 'fc00::1'}]",
        [("peers[0].router-id", "must be an IPv4 address")],
    ),
    (
        "source-address-invalid",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, source-address: nope}]",
        [("peers[0].source-address", "'nope' is not a valid IP address")],
    ),
    (
        "source-address-other-family",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, source-address: 'fc00::1'}]",
        [("peers[0].source-address", "different families")],
    ),
    (
        "bfd-profile-missing",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, bfd-profile: fast}]",
        [("peers[0].bfd-profile", "bfd profile 'fast' does not exist")],
    ),
    (
        "ebgp-multihop-on-ibgp",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64512, ebgp-multihop: true}]",
        [("peers[0].ebgp-multihop", "only for eBGP peers")],
    ),
    (
        "duplicate-peers",
        f"peers: [{PEER}, {{peer-address: 172.30.0.2, peer-asn: 64512, my-asn: 64513}}, "
        "{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, hold-time: 30s}]",
        [("peers[2]", "duplicate peer 172.30.0.1 port 179")],
    ),
    (
        "selector-in-without-values",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, node-selectors: "
        "[{match-expressions: [{key: rack, operator: In}]}]}]",
        [("peers[0].node-selectors[0].match-expressions[0].values", "operator In needs at least one value")],
    ),
    (
        "selector-notin-without-values",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, node-selectors: "
        "[{match-expressions: [{key: rack, operator: NotIn, values: []}]}]}]",
        [
            (
                "peers[0].node-selectors[0].match-expressions[0].values",
                "operator NotIn needs at least one value",
            )
        ],
    ),
    (
        "selector-exists-with-values",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, node-selectors: "
        "[{match-expressions: [{key: rack, operator: Exists, values: [a]}]}]}]",
        [("peers[0].node-selectors[0].match-expressions[0].values", "operator Exists takes no values")],
    ),
    (
        "selector-doesnotexist-with-values",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, node-selectors: "
        "[{match-expressions: [{key: rack, operator: DoesNotExist, values: [a]}]}]}]",
        [("peers[0].node-selectors[0].match-expressions[0].values", "operator DoesNotExist takes no values")],
    ),
    (
        "selector-unknown-operator",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, node-selectors: "
        "[{match-expressions: [{key: rack, operator: Gt, values: ['1']}]}]}]",
        [("peers[0].node-selectors[0].match-expressions[0].operator", "'Gt' is not a valid operator")],
    ),
    (
        "selector-bad-label-key-and-value",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, node-selectors: "
        "[{match-labels: {'bad key': x, rack: '-x'}}]}]",
        [
            ("peers[0].node-selectors[0].match-labels['bad key']", "invalid label key 'bad key'"),
            ("peers[0].node-selectors[0].match-labels.rack", "invalid label value '-x'"),
        ],
    ),
    # ---- bfd profiles
    (
        "bfd-name-duplicate",
        "bfd-profiles: [{name: x}, {name: x}]",
        [("bfd-profiles[1].name", "duplicate name 'x'")],
    ),
    (
        "bfd-name-missing",
        "bfd-profiles: [{receive-interval: 100}]",
        [("bfd-profiles[0].name", "required")],
    ),
    (
        "bfd-ranges",
        "bfd-profiles: [{name: x, receive-interval: 9, transmit-interval: 60001, detect-multiplier: 1, "
        "echo-interval: 5, minimum-ttl: 255}]",
        [
            ("bfd-profiles[0].receive-interval", "9 is out of range (10..60000)"),
            ("bfd-profiles[0].transmit-interval", "60001 is out of range (10..60000)"),
            ("bfd-profiles[0].detect-multiplier", "1 is out of range (2..255)"),
            ("bfd-profiles[0].echo-interval", "5 is out of range (10..60000)"),
            ("bfd-profiles[0].minimum-ttl", "255 is out of range (1..254)"),
        ],
    ),
    # ---- ironlb additions
    (
        "cluster-ip-no-cidrs",
        "cluster-ip-advertisement: {cidrs: []}",
        [("cluster-ip-advertisement.cidrs", "at least one CIDR")],
    ),
    (
        "cluster-ip-bad-cidr-and-overlap",
        "cluster-ip-advertisement: {cidrs: [10.96.0.0/12, 10.96.0.0/40, 10.100.0.0/16]}",
        [
            ("cluster-ip-advertisement.cidrs[1]", "'10.96.0.0/40' is not a valid CIDR"),
            ("cluster-ip-advertisement.cidrs[2]", "10.100.0.0/16 overlaps 10.96.0.0/12 (cidrs[0])"),
        ],
    ),
    (
        "cluster-ip-communities-localpref-selectors",
        "cluster-ip-advertisement: {cidrs: [10.96.0.0/12], communities: [nosuch, '1:99999'], "
        "localpref: -1, node-selectors: [{match-expressions: [{key: a, operator: In}]}]}",
        [
            ("cluster-ip-advertisement.communities[0]", "unknown community alias 'nosuch'"),
            ("cluster-ip-advertisement.communities[1]", "does not fit in 16 bits"),
            ("cluster-ip-advertisement.localpref", "out of range"),
            ("cluster-ip-advertisement.node-selectors[0].match-expressions[0].values", "needs at least one"),
        ],
    ),
    (
        "l2-interfaces",
        "l2: {interfaces: [eth0, '', 'a b', eth0, 'x/y']}",
        [
            ("l2.interfaces[1]", "must not be empty"),
            ("l2.interfaces[2]", "not a valid interface name"),
            ("l2.interfaces[3]", "duplicate of interfaces[0]"),
            ("l2.interfaces[4]", "not a valid interface name"),
        ],
    ),
    # ---- shape
    (
        "unknown-top-level-key",
        "address-pool: []",
        [("address-pool", "unknown field 'address-pool'; did you mean 'address-pools'?")],
    ),
    (
        "unknown-nested-key",
        "peers: [{peer-address: 172.30.0.1, peer-asn: 1, my-asn: 2, node-selectors: [{matchLabels: {}}]}]",
        [("peers[0].node-selectors[0].matchLabels", "unknown field 'matchLabels'")],
    ),
    (
        "unknown-key-in-advertisement",
        "address-pools: [{name: a, protocol: bgp, addresses: [10.0.0.0/24], "
        "bgp-advertisements: [{aggregation-lenght: 24}]}]",
        [
            (
                "address-pools[0].bgp-advertisements[0].aggregation-lenght",
                "did you mean 'aggregation-length'?",
            )
        ],
    ),
    (
        "unknown-key-in-additions",
        "cluster-ip-advertisement: {cidrs: [10.96.0.0/12], localroutes: true}\nl2: {interface: [eth0]}",
        [
            ("cluster-ip-advertisement.localroutes", "unknown field"),
            ("l2.interface", "unknown field"),
        ],
    ),
    (
        "wrong-types",
        "peers: {}\naddress-pools: [{name: a, protocol: layer2, addresses: 10.0.0.0/24, auto-assign: 'yes'}]",
        [
            ("peers", "expected a list, got a mapping"),
            ("address-pools[0].addresses", "expected a list, got string '10.0.0.0/24'"),
            ("address-pools[0].auto-assign", "expected true or false, got string 'yes'"),
        ],
    ),
    (
        "top-level-not-mapping",
        "- a\n- b",
        [("(root)", "expected a mapping of config sections, got a list")],
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_rejection(case: str, text: str, expected: list[tuple[str, str]]) -> None:
    errors = errors_of(text)
    assert len(errors) == len(expected), errors
    for path, fragment in expected:
        matching = [e for e in errors if e.startswith(f"{path}: ") and fragment in e]
        assert matching, f"no error '{path}: ...{fragment}...' in {errors}"


def test_all_errors_reported_at_once_across_sections() -> None:
    errors = errors_of(
        """
        peers:
        - {peer-address: 172.30.0.999, peer-asn: 64512, my-asn: 64513, peer-port: '179'}
        bgp-communities: {ok: '1:1'}
        address-pools:
        - {name: a, protocol: layer2, addresses: [10.0.0.0/33], unknown: 1}
        - {name: b, protocol: bgp, addresses: [10.1.0.0/24], bgp-advertisements: [{communities: [nope]}]}
        bfd-profiles: [{name: x, detect-multiplier: 1}]
        l2: {interfaces: ['']}
        """
    )
    paths = [e.split(": ", 1)[0] for e in errors]
    assert paths == [
        "peers[0].peer-port",  # a shape error does not hide the semantic one of the same item
        "peers[0].peer-address",
        "address-pools[0].unknown",
        "address-pools[0].addresses[0]",
        "address-pools[1].bgp-advertisements[0].communities[0]",
        "bfd-profiles[0].detect-multiplier",
        "l2.interfaces[0]",
    ]


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
