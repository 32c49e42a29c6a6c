"""Rejections of address pools, their advertisements and communities: each with its path and message."""

from __future__ import annotations

from tests.config.rejections import Rejection

REJECTIONS: list[Rejection] = [
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
]
