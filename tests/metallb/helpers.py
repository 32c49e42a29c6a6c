"""Shared helpers: build MetalLB CRD manifests as text and convert them."""

from __future__ import annotations

from typing import Any

import yaml

from ironlb.config.legacy import pool_protocol
from ironlb.config.model import BgpAdvertisement, Config, Protocol
from ironlb.metallb import Conversion, convert, manifests_from_text

API = {"BGPPeer": "metallb.io/v1beta2"}


def obj(kind: str, name: str, spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": API.get(kind, "metallb.io/v1beta1"),
        "kind": kind,
        "metadata": {"name": name, "namespace": "metallb-system", **meta},
    }
    if spec is not None:
        out["spec"] = spec
    return out


def pool(name: str, *addresses: str, **spec: Any) -> dict[str, Any]:
    labels = spec.pop("labels", None)
    return obj(
        "IPAddressPool",
        name,
        {"addresses": list(addresses), **spec},
        **({"labels": labels} if labels else {}),
    )


def address_pool(name: str, protocol: str, *addresses: str, **spec: Any) -> dict[str, Any]:
    """The deprecated AddressPool kind (metallb.io/v1beta1)."""
    return obj("AddressPool", name, {"protocol": protocol, "addresses": list(addresses), **spec})


def l2(name: str, *pools: str, **spec: Any) -> dict[str, Any]:
    return obj("L2Advertisement", name, {**({"ipAddressPools": list(pools)} if pools else {}), **spec})


def bgp(name: str, *pools: str, **spec: Any) -> dict[str, Any]:
    return obj("BGPAdvertisement", name, {**({"ipAddressPools": list(pools)} if pools else {}), **spec})


def peer(name: str, **spec: Any) -> dict[str, Any]:
    base = {"myASN": 64513, "peerASN": 64512, "peerAddress": "192.0.2.1"}
    return obj("BGPPeer", name, {**base, **spec})


def text(*objects: dict[str, Any]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False)


def run(*objects: dict[str, Any], prefer: Protocol | None = None, file: str = "in.yaml") -> Conversion:
    manifests, findings = manifests_from_text(text(*objects), file)
    assert findings == []
    return convert(manifests, prefer=prefer)


def lines(result: Conversion, severity: str | None = None) -> list[str]:
    return [str(f) for f in result.findings if severity is None or f.severity == severity]


def only(result_lines: list[str], needle: str) -> str:
    """The one line that contains ``needle``; fails the test if there are none or several."""
    hits = [line for line in result_lines if needle in line]
    assert len(hits) == 1, result_lines
    return hits[0]


def protocols(config: Config) -> dict[str, Protocol | None]:
    """Each pool's protocol in the ConfigMap (which kind of advertisement selects it)."""
    return {p.name: pool_protocol(config, p.name) for p in config.pools}


def bgp_attrs(config: Config, pool: str) -> tuple[BgpAdvertisement, ...]:
    """The pool's BGP advertisements, attributes only (no name, pools, selectors or peers)."""
    return tuple(
        BgpAdvertisement(
            aggregation_length=a.aggregation_length,
            aggregation_length_v6=a.aggregation_length_v6,
            localpref=a.localpref,
            communities=a.communities,
        )
        for a in config.bgp_advertisements_for(pool)
    )


def interfaces(config: Config) -> tuple[str, ...]:
    """The ConfigMap's one ``l2.interfaces`` list (every L2 advertisement of a projection has it)."""
    lists = {ad.interfaces for ad in config.l2_advertisements}
    assert len(lists) <= 1, lists
    return lists.pop() if lists else ()
