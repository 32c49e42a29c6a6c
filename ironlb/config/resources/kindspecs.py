"""The spec schema of each config kind (MetalLB's fields and meanings, what ironlb refuses).

One function per kind, built from :mod:`ironlb.config.resources.schemaparts`;
:data:`ironlb.config.resources.schema.KINDS` lists them with their names and printer columns.
"""

from __future__ import annotations

from ironlb.config import fields
from ironlb.config.resources.schemaparts import (
    COMMUNITY_LITERAL,
    DNS_LABEL,
    DNS_SUBDOMAIN,
    DURATION,
    DURATION_MESSAGE,
    INTERFACE,
    MAX_ADDRESSES,
    MAX_NAME,
    SERVICE_SELECTORS_RULE,
    WELL_KNOWN,
    Schema,
    array,
    boolean,
    cel,
    communities,
    integer,
    label_selector,
    localpref,
    names,
    node_selectors,
    obj,
    pool_selection,
    refused,
    service_selectors,
    string,
)


def ip_address_pool_spec() -> Schema:
    address = string(
        "A CIDR (192.168.10.0/24, fc00:f853:ccd:e799::/124) or a range of one family "
        "(192.168.9.1-192.168.9.5).",
        max_length=100,
        rules=[
            cel(
                "isCIDR(self.trim()) || (size(self.split('-')) == 2 && isIP(self.split('-')[0].trim()) "
                "&& isIP(self.split('-')[1].trim()) && ip(self.split('-')[0].trim()).family() == "
                "ip(self.split('-')[1].trim()).family())",
                "must be a CIDR (192.168.10.0/24) or a range of one address family (192.168.9.1-192.168.9.5)",
            )
        ],
    )
    allocation = obj(
        "Which Services may get addresses from this pool, and in which order pools are tried.",
        {
            "priority": integer(
                "Pools are tried by priority, lower first; pools without one come after.", 0, 2**31 - 1
            ),
            "namespaces": array(
                "Namespaces whose Services are admitted (with namespaceSelectors: either admits).",
                string(
                    "A namespace name.",
                    max_length=63,
                    rules=[cel(f"self.matches('{DNS_LABEL}')", "must be a namespace name (a DNS label)")],
                ),
                list_type="set",
            ),
            "namespaceSelectors": label_selector("Namespaces whose Services are admitted, by their labels."),
            "serviceSelectors": label_selector("Services admitted, by their labels (none: every Service)."),
        },
    )
    return obj(
        "The addresses of the pool and the Services it admits.",
        {
            "addresses": array(
                "The addresses handed out: CIDRs and ranges, none overlapping another pool's.",
                address,
                min_items=1,
                max_items=MAX_ADDRESSES,
                list_type="atomic",
            ),
            "autoAssign": boolean(
                "Whether Services get addresses from this pool without asking for it by name or address.",
                True,
            ),
            "avoidBuggyIPs": boolean("Skip IPv4 addresses ending in .0 and .255.", False),
            "serviceAllocation": allocation,
        },
        required=["addresses"],
    )


def l2_advertisement_spec() -> Schema:
    interface = string(
        "An interface name or shell glob (eth0, bond*).",
        max_length=64,
        rules=[cel(f"self.matches('{INTERFACE}')", fields.INTERFACE_PATTERN)],
    )
    spec = obj(
        "Answer ARP/NDP for the addresses of the selected pools from one of the selected nodes.",
        {
            **pool_selection(),
            "nodeSelectors": node_selectors("Answer"),
            "interfaces": array(
                "Answer only on these interfaces (none: every eligible interface).",
                interface,
                list_type="set",
            ),
            "serviceSelectors": service_selectors(),
        },
    )
    spec["x-kubernetes-validations"] = [SERVICE_SELECTORS_RULE]
    return spec


def bgp_advertisement_spec() -> Schema:
    spec = obj(
        "Announce the addresses of the selected pools over BGP from the selected nodes to the selected "
        "peers.",
        {
            "aggregationLength": integer(
                "The prefix length of the IPv4 routes (32: one route per address).", 0, 32, 32
            ),
            "aggregationLengthV6": integer(
                "The prefix length of the IPv6 routes (128: one route per address).", 0, 128, 128
            ),
            "localPref": localpref(),
            "communities": communities("BGP communities attached to the routes."),
            **pool_selection(),
            "nodeSelectors": node_selectors("Announce"),
            "peers": names("Announce only to these BGPPeers, by name (none: every peer).", "a BGPPeer"),
            "serviceSelectors": service_selectors(),
        },
    )
    spec["x-kubernetes-validations"] = [SERVICE_SELECTORS_RULE]
    return spec


def _ip_rule(what: str) -> dict[str, str]:
    return cel("isIP(self)", f"must be an IP address ({what})")


def _duration(description: str, extra: str, message: str) -> Schema:
    rule = f"self.matches('{DURATION}') && ({extra})" if extra else f"self.matches('{DURATION}')"
    return string(description, max_length=32, rules=[cel(rule, message)])


def bgp_peer_spec() -> Schema:
    asn = "an AS number, 1 to 4294967295"
    spec = obj(
        "A BGP session from the selected nodes to a router.",
        {
            "myASN": integer(f"The nodes' AS number ({asn}).", 1, 2**32 - 1),
            "peerASN": integer(f"The router's AS number ({asn}).", 1, 2**32 - 1),
            "peerAddress": string("The router's address.", max_length=64, rules=[_ip_rule("the router's")]),
            "peerPort": integer("The router's TCP port.", 1, 65535, 179),
            "sourceAddress": string(
                "The nodes' address for the session (default: chosen by the kernel).",
                max_length=64,
                rules=[_ip_rule("the node's")],
            ),
            "routerID": string(
                "The BGP router ID (default: the node's IPv4 address).",
                max_length=64,
                rules=[cel("isIP(self) && ip(self).family() == 4", "must be an IPv4 address")],
            ),
            "holdTime": _duration(
                "The BGP hold time, rounded down to whole seconds: 0 or at least 3s (default 90s).",
                "duration(self) == duration('0s') || duration(self) >= duration('3s')",
                "must be a duration of 0 or at least 3s, such as 90s or 1m30s",
            ),
            "keepaliveTime": _duration(
                "Accepted for MetalLB's sake, not honoured: ExaBGP sends keepalives every third of the hold "
                "time (a warning says so when this differs).",
                "",
                DURATION_MESSAGE,
            ),
            "connectTime": _duration(
                "Accepted for MetalLB's sake, not honoured (a warning says so): ExaBGP's connect retry is "
                "used.",
                "duration(self) >= duration('1s') && duration(self) <= duration('65535s')",
                "must be a duration from 1s to 65535s",
            ),
            "nodeSelectors": node_selectors("Peer"),
            "password": string("The TCP MD5 password of the session.", max_length=80),
            "passwordSecret": obj(
                "A kubernetes.io/basic-auth Secret in ironlb's namespace holding the password (key "
                "password).",
                {
                    "name": string(
                        "The Secret's name.",
                        rules=[cel(f"self.matches('{DNS_SUBDOMAIN}')", "must be a Secret name")],
                    ),
                    "namespace": string(
                        "The Secret's namespace: ironlb's own (it reads only there).", max_length=63
                    ),
                },
                required=["name"],
            ),
            "bfdProfile": string("The BFDProfile of the session (none: no BFD).", max_length=MAX_NAME),
            "ebgpMultiHop": boolean("The router is more than one hop away (eBGP only)."),
            "enableGracefulRestart": boolean(
                "Graceful restart for this session (unset: the speaker's --bgp-graceful-restart decides)."
            ),
            "disableMP": boolean(
                "Accepted for MetalLB's sake: ironlb always carries each address family over a session of "
                "that family."
            ),
            "dualStackAddressFamily": refused(
                "MetalLB's both families over one session: not supported by ironlb (refused when true).",
                boolean("Both families."),
            ),
            "vrf": refused("MetalLB's VRF: not supported by ironlb (refused when set).", string("VRF.")),
            "interface": refused(
                "MetalLB's unnumbered BGP: not supported by ironlb (refused when set).", string("Interface.")
            ),
            "dynamicASN": refused(
                "MetalLB's dynamic peer ASN: not supported by ironlb (refused when set).", string("ASN kind.")
            ),
            "localASN": refused(
                "MetalLB's per-session local AS: not supported by ironlb (refused when set).",
                integer("ASN.", 1, 2**32 - 1),
            ),
        },
        required=["myASN", "peerASN", "peerAddress"],
    )
    spec["x-kubernetes-validations"] = [
        cel(
            "!has(self.password) || self.password == '' || !has(self.passwordSecret)",
            "password and passwordSecret are mutually exclusive",
            ".passwordSecret",
        ),
        cel(
            "!has(self.ebgpMultiHop) || !self.ebgpMultiHop || self.myASN != self.peerASN",
            "ebgpMultiHop is only for eBGP peers (myASN equals peerASN)",
            ".ebgpMultiHop",
        ),
        cel(
            "!has(self.sourceAddress) || !isIP(self.sourceAddress) || !isIP(self.peerAddress) "
            "|| ip(self.sourceAddress).family() == ip(self.peerAddress).family()",
            "sourceAddress and peerAddress must be of one address family",
            ".sourceAddress",
        ),
        cel(
            f"!has(self.keepaliveTime) || !has(self.holdTime) || !self.keepaliveTime.matches('{DURATION}') "
            f"|| !self.holdTime.matches('{DURATION}') "
            "|| duration(self.keepaliveTime) <= duration(self.holdTime)",
            "keepaliveTime must not exceed holdTime",
            ".keepaliveTime",
        ),
        cel(
            "!has(self.vrf) || self.vrf == ''",
            "vrf is not supported by ironlb: it peers from the node's default VRF; remove vrf",
            ".vrf",
        ),
        cel(
            "!has(self.interface) || self.interface == ''",
            "interface (unnumbered BGP) is not supported by ironlb: set peerAddress to the router's address "
            "and remove interface",
            ".interface",
        ),
        cel(
            "!has(self.dynamicASN) || self.dynamicASN == ''",
            "dynamicASN is not supported by ironlb: set peerASN to the router's AS number and remove "
            "dynamicASN",
            ".dynamicASN",
        ),
        cel(
            "!has(self.localASN)",
            "localASN is not supported by ironlb: the session uses myASN; remove localASN",
            ".localASN",
        ),
        cel(
            "!has(self.dualStackAddressFamily) || !self.dualStackAddressFamily",
            "dualStackAddressFamily is not supported by ironlb: each address family needs a BGPPeer of that "
            "family (an IPv6 peerAddress for IPv6 routes)",
            ".dualStackAddressFamily",
        ),
    ]
    return spec


def bfd_profile_spec() -> Schema:
    ms = "milliseconds, 10 to 60000 (default 300)"
    return obj(
        "BFD settings for the BGP peers that name this profile (the speaker runs FRR's bfdd for them).",
        {
            "receiveInterval": integer(
                f"The minimum interval between received BFD packets, {ms}.", 10, 60000
            ),
            "transmitInterval": integer(f"The minimum interval between sent BFD packets, {ms}.", 10, 60000),
            "detectMultiplier": integer(
                "Packets lost before the session is down, 2 to 255 (default 3).", 2, 255
            ),
            "echoInterval": integer("The echo interval, milliseconds, 10 to 60000 (default 50).", 10, 60000),
            "echoMode": boolean("Send echo packets."),
            "passiveMode": boolean("Wait for the router to start the session."),
            "minimumTtl": integer("The minimum TTL of received packets, 1 to 254 (default 254).", 1, 254),
        },
    )


def community_spec() -> Schema:
    alias = obj(
        "A name for a community.",
        {
            "name": string(
                "The alias, used in the communities of advertisements.",
                max_length=63,
                rules=[cel("size(self) > 0 && !self.contains(':')", "must be a non-empty name without ':'")],
            ),
            "value": string(
                "The community: A:B, A:B:C or large:A:B:C.",
                max_length=64,
                rules=[
                    cel(
                        f"self in {list(WELL_KNOWN)} || self.matches('{COMMUNITY_LITERAL}')",
                        "must be a community A:B (16-bit halves), a large community A:B:C or large:A:B:C "
                        "(32-bit parts) or a well-known name (no-export, no-advertise, ...)",
                    )
                ],
            ),
        },
        required=["name", "value"],
    )
    communities_list = array("Community aliases.", alias, list_type="map")
    communities_list["x-kubernetes-list-map-keys"] = ["name"]
    return obj("Names for BGP communities.", {"communities": communities_list})


def cluster_ip_advertisement_spec() -> Schema:
    cidr = string(
        "A CIDR of the Service ClusterIP range.",
        max_length=64,
        rules=[cel("isCIDR(self.trim())", "must be a CIDR (10.96.0.0/12, fd00:10:96::/112)")],
    )
    return obj(
        "Announce the Service ClusterIP range over BGP from every selected node (ECMP from outside).",
        {
            "cidrs": array("The ClusterIP CIDRs.", cidr, min_items=1, max_items=16, list_type="atomic"),
            "localRoutes": boolean(
                "Also announce a /32 or /128 per ClusterIP of internalTrafficPolicy: Local Services, from "
                "the nodes with a ready endpoint.",
                True,
            ),
            "externalIPs": boolean(
                "Also announce the Services' spec.externalIPs (any namespace user can write them: opt-in).",
                False,
            ),
            "communities": communities("BGP communities attached to the routes."),
            "localPref": localpref(),
            "nodeSelectors": node_selectors("Announce"),
            "peers": names("Announce only to these BGPPeers, by name (none: every peer).", "a BGPPeer"),
        },
        required=["cidrs"],
    )
