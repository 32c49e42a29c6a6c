"""Which pools an advertisement applies to (MetalLB's rule): the pools it names or selects; an
advertisement with neither ``ipAddressPools`` nor ``ipAddressPoolSelectors`` applies to every pool,
one whose names and selectors match no pool applies to none -- never to all.

A table over both kinds that select pools, with the ConfigMap's pools in play too (they have no
labels: a selector never picks them), checked on the decoded config's lookups, the ones the
allocator, the announcers and ``ironlb plan`` use."""

from __future__ import annotations

from typing import Any

import pytest

from ironlb.config import load_config
from tests.config.resources.builders import obj, peer, pool

CONFIGMAP = "address-pools:\n- {name: cm, protocol: layer2, addresses: [10.9.0.0/24]}\n"
POOLS = [
    pool("a", "10.0.0.0/24", meta={"labels": {"tier": "front"}}),
    pool("b", "10.0.1.0/24", meta={"labels": {"tier": "back"}}),
]


@pytest.mark.parametrize("kind", ["L2Advertisement", "BGPAdvertisement"])
@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        pytest.param({}, {"a", "b", "cm"}, id="neither: every pool"),
        pytest.param(
            {"ipAddressPools": [], "ipAddressPoolSelectors": []}, {"a", "b", "cm"}, id="empty lists"
        ),
        pytest.param({"ipAddressPools": ["a"]}, {"a"}, id="by name"),
        pytest.param({"ipAddressPools": ["cm"]}, {"cm"}, id="a ConfigMap pool by name"),
        pytest.param({"ipAddressPoolSelectors": [{"matchLabels": {"tier": "back"}}]}, {"b"}, id="by label"),
        pytest.param({"ipAddressPoolSelectors": [{}]}, {"a", "b", "cm"}, id="empty selector: matches all"),
        pytest.param(
            {"ipAddressPoolSelectors": [{"matchLabels": {"tier": "none"}}]}, set(), id="selector matches none"
        ),
        pytest.param(
            {"ipAddressPoolSelectors": [{"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}]},
            {"cm"},
            id="selector matches only the label-less ConfigMap pool",
        ),
        pytest.param(
            {"ipAddressPools": ["a"], "ipAddressPoolSelectors": [{"matchLabels": {"tier": "back"}}]},
            {"a", "b"},
            id="names and selectors together",
        ),
    ],
)
def test_an_advertisement_applies_to_the_pools_it_selects(
    kind: str, selection: dict[str, Any], expected: set[str]
) -> None:
    objects = [*POOLS, obj(kind, "ad", selection)]
    if kind == "BGPAdvertisement":
        objects.append(peer("r"))
    result = load_config(CONFIGMAP, objects)
    assert result.errors == (), [str(e) for e in result.errors]
    config = result.config
    assert config is not None
    lookup = config.l2_advertisements_for if kind == "L2Advertisement" else config.bgp_advertisements_for
    mine = {p.name for p in config.pools if any(ad.name == "ad" for ad in lookup(p.name))}
    assert mine == expected
    # the resource pools the ad does not select are announced by nobody (cm has its ConfigMap L2 ad)
    assert {p.name for p in config.unannounced_pools()} == {"a", "b"} - expected
    dropped = [str(w) for w in result.warnings if "selects no pool" in w.message]
    assert bool(dropped) == (not expected)
