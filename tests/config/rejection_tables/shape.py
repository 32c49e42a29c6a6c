"""Rejections of ironlb's additions and of the document's shape: each with its path and message."""

from __future__ import annotations

from tests.config.rejections import Rejection

REJECTIONS: list[Rejection] = [
    # ---- ironlb additions
    (
        "cluster-ip-no-cidrs",
        "cluster-ip-advertisement: {cidrs: []}",
        [("cluster-ip-advertisement.cidrs", "at least one CIDR")],
    ),
    (
        "cluster-ip-bad-cidr-and-overlap",
        # the overlap names the entry by its index as written (the refused cidrs[0] still counts)
        "cluster-ip-advertisement: {cidrs: [10.96.0.0/40, 10.96.0.0/12, 10.100.0.0/16]}",
        [
            ("cluster-ip-advertisement.cidrs[0]", "'10.96.0.0/40' is not a valid CIDR"),
            ("cluster-ip-advertisement.cidrs[2]", "10.100.0.0/16 overlaps 10.96.0.0/12 (cidrs[1])"),
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
            ("l2.interfaces[1]", "must be an interface name or glob (no spaces or '/')"),
            ("l2.interfaces[2]", "must be an interface name or glob"),
            ("l2.interfaces[3]", "duplicate of interfaces[0]"),
            ("l2.interfaces[4]", "must be an interface name or glob"),
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
