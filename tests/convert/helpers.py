"""Shared helpers: build MetalLB CRD manifests as text and convert them."""

from __future__ import annotations

from typing import Any

import yaml

from ironlb.config.model import Protocol
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
