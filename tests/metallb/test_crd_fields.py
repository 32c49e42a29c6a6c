"""The MetalLB fields ``ironlb convert`` reads, pinned: every other field is reported as unknown.

Most spec models are ironlb's own (``ironlb.config.resources.wire``), validated keeping unknown
fields; so a field added there for ironlb's resources must also be a decision for the converter
(map it, or leave it reported), not a field the converter starts to accept and drop silently.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from ironlb.config.decode import first_model
from ironlb.metallb import crds


def _selector(base: str) -> list[str]:
    expressions = f"{base}.matchExpressions"
    return [
        base,
        f"{base}.matchLabels",
        expressions,
        *(f"{expressions}.{f}" for f in ("key", "operator", "values")),
    ]


_POOLS = ["ipAddressPools", *_selector("ipAddressPoolSelectors"), *_selector("nodeSelectors")]
_BGP_ATTRIBUTES = ["aggregationLength", "aggregationLengthV6", "localPref", "communities"]
_ALLOCATION = ["serviceAllocation", "serviceAllocation.priority", "serviceAllocation.namespaces"]

KNOWN = {
    "IPAddressPool": [
        "addresses",
        "autoAssign",
        "avoidBuggyIPs",
        *_ALLOCATION,
        *_selector("serviceAllocation.namespaceSelectors"),
        *_selector("serviceAllocation.serviceSelectors"),
    ],
    "L2Advertisement": [*_POOLS, "interfaces"],
    "BGPAdvertisement": [*_BGP_ATTRIBUTES, *_POOLS, "peers"],
    "BGPPeer": [
        *("myASN", "peerASN", "dynamicASN", "peerAddress", "interface", "sourceAddress", "peerPort"),
        *("holdTime", "keepaliveTime", "connectTime", "routerID"),
        *_selector("nodeSelectors"),
        *("password", "passwordSecret", "passwordSecret.name", "passwordSecret.namespace", "bfdProfile"),
        *("enableGracefulRestart", "ebgpMultiHop", "vrf", "disableMP", "dualStackAddressFamily"),
    ],
    "BFDProfile": [
        *("receiveInterval", "transmitInterval", "detectMultiplier", "echoInterval", "echoMode"),
        *("passiveMode", "minimumTtl"),
    ],
    "Community": ["communities", "communities.name", "communities.value"],
    "AddressPool": [
        *("protocol", "addresses", "autoAssign", "avoidBuggyIPs", "bgpAdvertisements"),
        *(f"bgpAdvertisements.{f}" for f in _BGP_ATTRIBUTES),
    ],
}


def _paths(model: type[BaseModel], base: str = "") -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        path = f"{base}.{info.alias or name}" if base else str(info.alias or name)
        nested = first_model(info.annotation)
        out += [path, *(_paths(nested, path) if nested is not None else [])]
    return out


@pytest.mark.parametrize("kind", sorted(crds.SPECS))
def test_the_converter_reads_these_fields_in_this_order(kind: str) -> None:
    # The order is the order of the findings about one object.
    assert _paths(crds.SPECS[kind]) == KNOWN[kind]


@pytest.mark.parametrize(
    ("kind", "spec", "unknown"),
    [
        # Fields of ironlb's own resources (MetalLB 0.14+) that the converter does not read.
        ("BGPPeer", {"myASN": 1, "localASN": 2}, ["spec.localASN"]),
        ("L2Advertisement", {"serviceSelectors": [{}]}, ["spec.serviceSelectors"]),
        ("BGPAdvertisement", {"serviceSelectors": [{}]}, ["spec.serviceSelectors"]),
        # A field by its Python name is not the CRD's field.
        ("IPAddressPool", {"auto_assign": True}, ["spec.auto_assign"]),
        (
            "IPAddressPool",
            {"serviceAllocation": {"namespaceSelectors": [{"matchExpressions": [{"key": "a", "x": 1}]}]}},
            ["spec.serviceAllocation.namespaceSelectors[0].matchExpressions[0].x"],
        ),
    ],
)
def test_a_field_the_converter_does_not_read_is_kept_and_reported(
    kind: str, spec: dict[str, object], unknown: list[str]
) -> None:
    decoded, problems = crds.decode(crds.SPECS[kind], spec, "spec")
    assert problems == []
    assert decoded is not None
    assert crds.unknown_fields(decoded, "spec") == unknown
