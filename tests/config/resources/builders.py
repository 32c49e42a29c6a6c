"""Builders for config-resource tests: ironlb objects in one line each, and their problems as tuples."""

from __future__ import annotations

from typing import Any

from ironlb.config import ConfigResult

NS = "ironlb-system"


def obj(kind: str, name: str, spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": "ironlb.io/v1beta1",
        "kind": kind,
        "metadata": {"name": name, **meta},
    }
    if spec is not None:
        out["spec"] = spec
    return out


def pool(name: str, *addresses: str, meta: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return obj("IPAddressPool", name, {"addresses": list(addresses), **spec}, **(meta or {}))


def peer(name: str, address: str = "172.30.0.1", **spec: Any) -> dict[str, Any]:
    return obj("BGPPeer", name, {"myASN": 64513, "peerASN": 64512, "peerAddress": address, **spec})


def problems(result: ConfigResult, severity: str = "error") -> list[tuple[str, str, str]]:
    chosen = result.errors if severity == "error" else result.warnings
    return [(str(p.object), p.field, p.message) for p in chosen]


def one_error(result: ConfigResult) -> tuple[str, str, str]:
    found = problems(result)
    assert len(found) == 1, found
    assert result.config is None
    return found[0]


CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata: {name: ironlb, namespace: ironlb-system}
data:
  config: |
    peers:
    - {peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513}
    bgp-communities: {lab: "64512:100"}
    bfd-profiles: [{name: fast}]
    address-pools:
    - {name: legacy, protocol: bgp, addresses: [198.51.100.0/24]}
"""
