"""Rejections of BGP peers and BFD profiles: each with its path and message."""

from __future__ import annotations

from tests.config.rejections import PEER, Rejection

REJECTIONS: list[Rejection] = [
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
]
