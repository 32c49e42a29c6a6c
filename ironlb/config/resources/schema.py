"""The CustomResourceDefinitions of ironlb's config kinds (``ironlb.io/v1beta1``), written once, in Python.

Why generated: the seven kinds share most of their parts (label selectors, communities,
addresses, the MetalLB fields ironlb refuses), and a CRD is a long, repetitive YAML
document; one description here renders every file under ``config/crd/bases/``
(``scripts/crds.py`` writes them, a test checks they are up to date, another that every
field here is a field of the wire models in :mod:`ironlb.config.resources.wire`).

What the API server refuses with this schema (``kubectl apply`` fails, naming the field):
what one object alone cannot be -- a malformed CIDR, range, IP address, duration, label or
community, an ASN, port, aggregation length, localPref or BFD interval out of range, an
unknown selector operator, a required field missing, and MetalLB fields ironlb cannot honour
(``vrf``, ``interface``, ``dynamicASN``, ``localASN``, ``dualStackAddressFamily: true``, an
advertisement's ``serviceSelectors``), each by name with what to do instead. What needs
several objects (overlapping pools, a name nobody defines) or finer checks (a range whose
start is after its end, host bits) is the programs' (:mod:`ironlb.config.load`), with the
same words. MetalLB's field names and meanings are kept, so a MetalLB 0.16 object needs only
a new ``apiVersion``.

The IP and CIDR functions of Kubernetes' CEL (``isIP``, ``isCIDR``) need Kubernetes 1.31 or
newer; every list and string has a bound so that the rules' cost stays within the server's
budget.
"""

from __future__ import annotations

from typing import Any

import yaml

GROUP = "ironlb.io"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "ironlb"
"""``kubectl get ironlb`` lists every ironlb object."""

Schema = dict[str, Any]

# ---- bounds (the CEL cost estimate multiplies them) --------------------------------------------

MAX_NAME = 253
MAX_ITEMS = 64
MAX_ADDRESSES = 256
MAX_LABEL_KEY = 317  # a DNS subdomain prefix (253), '/', a name (63)
MAX_SELECTORS = 8
MAX_EXPRESSIONS = 16
MAX_VALUES = 32
"""Regular expressions must not need a backslash: CEL string literals do not take regex escapes."""

_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
LABEL_KEY = rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_LABEL_NAME}$"
LABEL_VALUE = rf"^({_LABEL_NAME})?$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DURATION = r"^(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$"
"""Go's ``time.ParseDuration`` without a sign (``90s``, ``1m30s``, ``0``)."""
INTERFACE = r"^[^[:space:]/]+$"
_U16 = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5]?[0-9]{1,4})"
_U32 = (
    r"(429496729[0-5]|42949672[0-8][0-9]|4294967[01][0-9]{2}|429496[0-6][0-9]{3}|42949[0-5][0-9]{4}"
    r"|4294[0-8][0-9]{5}|429[0-3][0-9]{6}|42[0-8][0-9]{7}|4[01][0-9]{8}|[1-3]?[0-9]{1,9})"
)
COMMUNITY_LITERAL = rf"^({_U16}:{_U16}|(large:)?{_U32}:{_U32}:{_U32})$"
"""``A:B`` (16-bit halves) or ``A:B:C`` / ``large:A:B:C`` (32-bit parts)."""
WELL_KNOWN = ("no-export", "no-advertise", "no-export-subconfed", "local-as", "no-peer", "nopeer")

COMMUNITY_MESSAGE = (
    "must be a community A:B (16-bit halves), a large community A:B:C or large:A:B:C (32-bit parts), "
    "a well-known name (no-export, no-advertise, ...) or the name of a Community alias (no ':')"
)
DURATION_MESSAGE = "must be a duration such as 90s or 1m30s"


def _cel(rule: str, message: str, field_path: str | None = None) -> dict[str, str]:
    out = {"rule": rule, "message": message}
    if field_path is not None:
        out["fieldPath"] = field_path
    return out


# ---- building blocks ---------------------------------------------------------------------------


def string(
    description: str, *, max_length: int = MAX_NAME, rules: list[dict[str, str]] | None = None
) -> Schema:
    out: Schema = {"description": description, "type": "string", "maxLength": max_length}
    if rules:
        out["x-kubernetes-validations"] = rules
    return out


def integer(description: str, low: int, high: int, default: int | None = None) -> Schema:
    out: Schema = {"description": description, "type": "integer", "format": "int64"}
    if default is not None:
        out["default"] = default
    out.update({"minimum": low, "maximum": high})
    return out


def boolean(description: str, default: bool | None = None) -> Schema:
    out: Schema = {"description": description, "type": "boolean"}
    if default is not None:
        out["default"] = default
    return out


def array(
    description: str,
    items: Schema,
    *,
    max_items: int = MAX_ITEMS,
    min_items: int | None = None,
    list_type: str | None = None,
) -> Schema:
    out: Schema = {"description": description, "type": "array", "items": items}
    if min_items is not None:
        out["minItems"] = min_items
    out["maxItems"] = max_items
    if list_type is not None:
        out["x-kubernetes-list-type"] = list_type
    return out


def obj(description: str, properties: dict[str, Schema], *, required: list[str] | None = None) -> Schema:
    out: Schema = {"description": description, "type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def names(description: str, what: str) -> Schema:
    """A list of object names (pools, peers), each once."""
    item = string(f"The name of {what}.")
    item["minLength"] = 1
    return array(description, item, list_type="set")


def label_selector(description: str) -> Schema:
    """``metav1.LabelSelector``: matchLabels AND matchExpressions; empty selects everything."""
    requirement = obj(
        "A label requirement: a key, an operator and values.",
        {
            "key": string(
                "The label key.",
                max_length=MAX_LABEL_KEY,
                rules=[_cel(f"self.matches('{LABEL_KEY}')", "must be a label key: [prefix/]name")],
            ),
            "operator": {
                "description": "In, NotIn, Exists or DoesNotExist.",
                "type": "string",
                "enum": ["In", "NotIn", "Exists", "DoesNotExist"],
            },
            "values": array(
                "The values (In, NotIn: at least one; Exists, DoesNotExist: none).",
                string(
                    "A label value.",
                    max_length=63,
                    rules=[_cel(f"self.matches('{LABEL_VALUE}')", "must be a label value")],
                ),
                max_items=MAX_VALUES,
                list_type="atomic",
            ),
        },
        required=["key", "operator"],
    )
    requirement["x-kubernetes-validations"] = [
        _cel(
            "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 "
            ": !has(self.values) || size(self.values) == 0",
            "operators In and NotIn need at least one value; Exists and DoesNotExist take none",
            ".values",
        )
    ]
    labels: Schema = {
        "description": "Labels that must all be present with these values.",
        "type": "object",
        "maxProperties": MAX_VALUES,
        "additionalProperties": {"type": "string", "maxLength": 63},
        "x-kubernetes-validations": [
            _cel(f"self.all(k, k.matches('{LABEL_KEY}'))", "every key must be a label key: [prefix/]name"),
            _cel(f"self.all(k, self[k].matches('{LABEL_VALUE}'))", "every value must be a label value"),
        ],
    }
    selector = obj(
        "A label selector: every label and every expression must match; an empty one matches everything.",
        {
            "matchLabels": labels,
            "matchExpressions": array(
                "Requirements that must all hold.", requirement, max_items=MAX_EXPRESSIONS, list_type="atomic"
            ),
        },
    )
    selector["x-kubernetes-map-type"] = "atomic"
    return array(description, selector, max_items=MAX_SELECTORS, list_type="atomic")


def communities(description: str) -> Schema:
    item = string(
        "A community, or the name of a Community alias.",
        max_length=64,
        rules=[
            _cel(
                f"!self.contains(':') ? size(self) > 0 : self.matches('{COMMUNITY_LITERAL}')",
                COMMUNITY_MESSAGE,
            )
        ],
    )
    return array(description, item, list_type="set")


def refused(description: str, schema: Schema) -> Schema:
    """A MetalLB field ironlb cannot honour: kept in the schema (so that it is refused with a reason, not
    pruned in silence); the rule that refuses it sits on the object that holds it."""
    out = dict(schema)
    out["description"] = description
    return out


def localpref() -> Schema:
    return integer("The BGP LOCAL_PREF attribute of the routes (iBGP peers only).", 0, 2**32 - 1)


def node_selectors(what: str) -> Schema:
    return label_selector(f"{what} only from the nodes that match one of these selectors (none: every node).")


def pool_selection() -> dict[str, Schema]:
    return {
        "ipAddressPools": names(
            "The IPAddressPools announced, by name (with ipAddressPoolSelectors: either may select a pool; "
            "neither: every pool).",
            "an IPAddressPool",
        ),
        "ipAddressPoolSelectors": label_selector("The IPAddressPools announced, by their labels."),
    }


SERVICE_SELECTORS_RULE = _cel(
    "!has(self.serviceSelectors) || size(self.serviceSelectors) == 0",
    "serviceSelectors is not supported by ironlb: an advertisement announces every Service of its pools; "
    "choose which Services get a pool's addresses with the IPAddressPool's serviceAllocation",
    ".serviceSelectors",
)


def service_selectors() -> Schema:
    return refused(
        "MetalLB's per-advertisement Service selection; not supported by ironlb (refused when not empty).",
        label_selector("Services."),
    )


# ---- the kinds ---------------------------------------------------------------------------------


def ip_address_pool_spec() -> Schema:
    address = string(
        "A CIDR (192.168.10.0/24, fc00:f853:ccd:e799::/124) or a range of one family "
        "(192.168.9.1-192.168.9.5).",
        max_length=100,
        rules=[
            _cel(
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
                    rules=[_cel(f"self.matches('{DNS_LABEL}')", "must be a namespace name (a DNS label)")],
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
        rules=[_cel(f"self.matches('{INTERFACE}')", "must be an interface name or glob (no spaces or '/')")],
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
    return _cel("isIP(self)", f"must be an IP address ({what})")


def _duration(description: str, extra: str, message: str) -> Schema:
    rule = f"self.matches('{DURATION}') && ({extra})" if extra else f"self.matches('{DURATION}')"
    return string(description, max_length=32, rules=[_cel(rule, message)])


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
                rules=[_cel("isIP(self) && ip(self).family() == 4", "must be an IPv4 address")],
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
                        rules=[_cel(f"self.matches('{DNS_SUBDOMAIN}')", "must be a Secret name")],
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
        _cel(
            "!has(self.password) || self.password == '' || !has(self.passwordSecret)",
            "password and passwordSecret are mutually exclusive",
            ".passwordSecret",
        ),
        _cel(
            "!has(self.ebgpMultiHop) || !self.ebgpMultiHop || self.myASN != self.peerASN",
            "ebgpMultiHop is only for eBGP peers (myASN equals peerASN)",
            ".ebgpMultiHop",
        ),
        _cel(
            "!has(self.sourceAddress) || !isIP(self.sourceAddress) || !isIP(self.peerAddress) "
            "|| ip(self.sourceAddress).family() == ip(self.peerAddress).family()",
            "sourceAddress and peerAddress must be of one address family",
            ".sourceAddress",
        ),
        _cel(
            f"!has(self.keepaliveTime) || !has(self.holdTime) || !self.keepaliveTime.matches('{DURATION}') "
            f"|| !self.holdTime.matches('{DURATION}') "
            "|| duration(self.keepaliveTime) <= duration(self.holdTime)",
            "keepaliveTime must not exceed holdTime",
            ".keepaliveTime",
        ),
        _cel(
            "!has(self.vrf) || self.vrf == ''",
            "vrf is not supported by ironlb: it peers from the node's default VRF; remove vrf",
            ".vrf",
        ),
        _cel(
            "!has(self.interface) || self.interface == ''",
            "interface (unnumbered BGP) is not supported by ironlb: set peerAddress to the router's address "
            "and remove interface",
            ".interface",
        ),
        _cel(
            "!has(self.dynamicASN) || self.dynamicASN == ''",
            "dynamicASN is not supported by ironlb: set peerASN to the router's AS number and remove "
            "dynamicASN",
            ".dynamicASN",
        ),
        _cel(
            "!has(self.localASN)",
            "localASN is not supported by ironlb: the session uses myASN; remove localASN",
            ".localASN",
        ),
        _cel(
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
                rules=[_cel("size(self) > 0 && !self.contains(':')", "must be a non-empty name without ':'")],
            ),
            "value": string(
                "The community: A:B, A:B:C or large:A:B:C.",
                max_length=64,
                rules=[
                    _cel(
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
        rules=[_cel("isCIDR(self.trim())", "must be a CIDR (10.96.0.0/12, fd00:10:96::/112)")],
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


# ---- CRDs --------------------------------------------------------------------------------------


def _column(name: str, path: str, kind: str = "string", priority: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": kind, "jsonPath": path}
    if priority:
        out["priority"] = priority
    return out


AGE = _column("Age", ".metadata.creationTimestamp", "date")

KINDS: dict[str, tuple[str, str, Any, list[dict[str, Any]]]] = {
    # kind: (plural, description, spec, printer columns)
    "IPAddressPool": (
        "ipaddresspools",
        "A pool of addresses handed out to LoadBalancer Services (MetalLB's IPAddressPool).",
        ip_address_pool_spec,
        [
            _column("Auto Assign", ".spec.autoAssign", "boolean"),
            _column("Avoid Buggy IPs", ".spec.avoidBuggyIPs", "boolean"),
            _column("Addresses", ".spec.addresses"),
            _column("Priority", ".spec.serviceAllocation.priority", "integer"),
            AGE,
        ],
    ),
    "L2Advertisement": (
        "l2advertisements",
        "Announce pools with ARP/NDP from chosen nodes on chosen interfaces (MetalLB's L2Advertisement).",
        l2_advertisement_spec,
        [
            _column("IPAddressPools", ".spec.ipAddressPools"),
            _column("IPAddressPool Selectors", ".spec.ipAddressPoolSelectors"),
            _column("Interfaces", ".spec.interfaces"),
            _column("Node Selectors", ".spec.nodeSelectors", priority=10),
            AGE,
        ],
    ),
    "BGPAdvertisement": (
        "bgpadvertisements",
        "Announce pools over BGP from chosen nodes to chosen peers (MetalLB's BGPAdvertisement).",
        bgp_advertisement_spec,
        [
            _column("IPAddressPools", ".spec.ipAddressPools"),
            _column("IPAddressPool Selectors", ".spec.ipAddressPoolSelectors"),
            _column("Peers", ".spec.peers"),
            _column("Aggregation", ".spec.aggregationLength", "integer", priority=10),
            _column("Node Selectors", ".spec.nodeSelectors", priority=10),
            AGE,
        ],
    ),
    "BGPPeer": (
        "bgppeers",
        "A BGP router the nodes peer with (MetalLB's BGPPeer).",
        bgp_peer_spec,
        [
            _column("Address", ".spec.peerAddress"),
            _column("ASN", ".spec.peerASN", "integer"),
            _column("My ASN", ".spec.myASN", "integer"),
            _column("BFD Profile", ".spec.bfdProfile"),
            _column("Multi Hops", ".spec.ebgpMultiHop", "boolean"),
            _column("Node Selectors", ".spec.nodeSelectors", priority=10),
            AGE,
        ],
    ),
    "BFDProfile": (
        "bfdprofiles",
        "BFD settings for BGP peers (MetalLB's BFDProfile).",
        bfd_profile_spec,
        [
            _column("Passive Mode", ".spec.passiveMode", "boolean"),
            _column("Transmit Interval", ".spec.transmitInterval", "integer"),
            _column("Receive Interval", ".spec.receiveInterval", "integer"),
            _column("Multiplier", ".spec.detectMultiplier", "integer"),
            AGE,
        ],
    ),
    "Community": (
        "communities",
        "Names for BGP communities, used by advertisements (MetalLB's Community).",
        community_spec,
        [_column("Aliases", ".spec.communities[*].name"), AGE],
    ),
    "ClusterIPAdvertisement": (
        "clusteripadvertisements",
        "Announce the Service ClusterIP range over BGP from every selected node (ironlb's own).",
        cluster_ip_advertisement_spec,
        [
            _column("CIDRs", ".spec.cidrs"),
            _column("Local Routes", ".spec.localRoutes", "boolean"),
            _column("External IPs", ".spec.externalIPs", "boolean"),
            _column("Peers", ".spec.peers"),
            AGE,
        ],
    ),
}
"""The config kinds, in the order the files are listed."""

CONFIG_KINDS = tuple(KINDS)
SPEC_REQUIRED = frozenset({"IPAddressPool", "BGPPeer", "ClusterIPAdvertisement"})
"""Kinds whose objects need a spec (the others mean something with none: every pool, every node...)."""


def plural(kind: str) -> str:
    return KINDS[kind][0]


def crd(kind: str) -> dict[str, Any]:
    """The CustomResourceDefinition of ``kind``."""
    plural_name, description, spec, columns = KINDS[kind]
    root = obj(
        description,
        {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec(),
        },
        required=["spec"] if kind in SPEC_REQUIRED else None,
    )
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural_name}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "ironlb", "app.kubernetes.io/component": "config"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural_name,
                "singular": kind.lower(),
                "categories": [CATEGORY],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


HEADER = (
    "# Generated by scripts/crds.py from ironlb/config/resources/schema.py: edit that file and run\n"
    "# `python scripts/crds.py` (a test checks that this file is up to date).\n"
)


def crd_file(kind: str) -> tuple[str, str]:
    """The path under ``config/crd/`` and the text of ``kind``'s CRD file."""
    text = yaml.safe_dump(crd(kind), sort_keys=False, width=110, allow_unicode=True)
    return f"bases/{GROUP}_{plural(kind)}.yaml", HEADER + "---\n" + text


BUNDLE_HEADER = (
    "# Generated by scripts/crds.py: every CRD that config/crd/kustomization.yaml lists, in its order,\n"
    "# so that config/default installs them and still renders with kubectl 1.20 (whose kustomize\n"
    "# cannot include a directory through `resources`). Do not edit: edit config/crd and run\n"
    "# `python scripts/crds.py`.\n"
)


def bundle(texts: list[str]) -> str:
    """One multi-document file of CRD files' ``texts`` (their comment headers dropped)."""
    docs = []
    for text in texts:
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()
        body = body.removeprefix("---").strip()
        docs.append("---\n" + body + "\n")
    return BUNDLE_HEADER + "".join(docs)
