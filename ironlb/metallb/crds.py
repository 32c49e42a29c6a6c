"""MetalLB's CRDs (metallb.io v1beta1; also v1beta2 BGPPeer, v1alpha1 AddressPool) as strict pydantic models.

This is the edge of ``ironlb convert``: a raw Kubernetes object (a dict from the
YAML loader) becomes a typed spec, or a list of ``(field path, message)``
problems. The fields follow MetalLB's documented API types (``api/v1beta1`` and
``api/v1beta2`` of the metallb repository, and the reference at
metallb.universe.tf/apis/); nothing is copied from their code.

Types are strict (``peerPort: "179"`` is refused, as the API server's schema
would), except that a string field takes the source text of a plain scalar
(``password: 1234``), as the rest of ironlb reads YAML (``ironlb.config.wire``).
Fields this module does not know are *kept* (validated with ``extra="allow"``) so
that the mapping can report each one instead of dropping it silently: a newer
MetalLB may have a field that changes behaviour. Where MetalLB's CRD has the same
fields as ironlb's (selectors, ``IPAddressPool``, ``BFDProfile``, ``Community``...),
the model is ironlb's own (:mod:`ironlb.config.resources.wire`), spelled by the same
:func:`~ironlb.config.resources.wire.field_name`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ironlb.config.decode import type_mismatch
from ironlb.config.errors import join_path
from ironlb.config.resources.wire import (
    BFDProfileSpec,
    BgpAttributes,
    CommunitySpec,
    CrdWire,
    IPAddressPoolSpec,
    LabelSelector,
    PoolSelection,
    SecretReference,
)
from ironlb.config.wire import Bool, Int, Text
from ironlb.metallb.findings import Source

GROUP = "metallb.io"


class L2AdvertisementSpec(PoolSelection):
    interfaces: list[Text] | None = None


class BGPAdvertisementSpec(PoolSelection, BgpAttributes):
    peers: list[Text] | None = None


class AddressPoolSpec(CrdWire):
    """The deprecated ``AddressPool`` (v1alpha1, v1beta1): a pool with its own protocol and advertisements.

    ``avoidBuggyIPs`` is in v1beta1's schema only; it is read in both versions.
    """

    protocol: Text | None = None
    addresses: list[Text] | None = None
    auto_assign: Bool | None = None
    avoid_buggy_ips: Bool | None = None
    bgp_advertisements: list[BgpAttributes] | None = None


class BGPPeerSpec(CrdWire):
    """v1beta1 and v1beta2 together: v1beta2 only adds fields (and lifts the 16-bit ASN limit).

    Not ironlb's own ``BGPPeerSpec``: without the fields of later MetalLB versions (``localASN``,
    reported as unknown), in the order of MetalLB's API reference (the order of the findings)."""

    my_asn: Int | None = None
    peer_asn: Int | None = None
    dynamic_asn: Text | None = None
    peer_address: Text | None = None
    interface: Text | None = None
    source_address: Text | None = None
    peer_port: Int | None = None
    hold_time: Text | None = None
    keepalive_time: Text | None = None
    connect_time: Text | None = None
    router_id: Text | None = None
    node_selectors: list[LabelSelector] | None = None
    password: Text | None = None
    password_secret: SecretReference | None = None
    bfd_profile: Text | None = None
    enable_graceful_restart: Bool | None = None
    ebgp_multihop: Bool | None = None
    vrf: Text | None = None
    disable_mp: Bool | None = None
    dual_stack_address_family: Bool | None = None


class Metadata(BaseModel):
    """The parts of ``metadata`` the conversion reads; the rest (annotations, uid, ...) is irrelevant."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)
    name: Text | None = None
    namespace: Text | None = None
    labels: dict[Text, Text] | None = None


SPECS: dict[str, type[CrdWire]] = {
    "IPAddressPool": IPAddressPoolSpec,
    "L2Advertisement": L2AdvertisementSpec,
    "BGPAdvertisement": BGPAdvertisementSpec,
    "BGPPeer": BGPPeerSpec,
    "BFDProfile": BFDProfileSpec,
    "Community": CommunitySpec,
    "AddressPool": AddressPoolSpec,
}
"""The kinds converted, each with its spec model: ironlb's own (:mod:`ironlb.config.resources.wire`)
where MetalLB's CRD has the same fields."""

VERSIONS: dict[str, tuple[str, ...]] = {
    "BGPPeer": ("v1beta1", "v1beta2"),
    "AddressPool": ("v1alpha1", "v1beta1"),
}
"""API versions accepted per kind (default: v1beta1 only)."""


@dataclass(frozen=True)
class Obj:
    """A decoded MetalLB object."""

    source: Source
    labels: dict[str, str]
    spec: Any


M = TypeVar("M", bound=BaseModel)


def decode(model: type[M], raw: Any, base: str) -> tuple[M | None, list[tuple[str, str]]]:
    """``raw`` as ``model``, or ``None`` and every problem as ``(path, message)`` under ``base``.

    A spec model (:class:`CrdWire`) keeps the fields it does not declare, for :func:`unknown_fields`
    to report (ironlb's own resources refuse them), and takes its fields by their CRD names only."""
    if raw is None:
        raw = {}
    try:
        if issubclass(model, CrdWire):
            return model.model_validate(raw, extra="allow", by_name=False), []
        return model.model_validate(raw), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            path = join_path(base, *(p for p in err["loc"] if p != "[key]"))
            problems.append((path, type_mismatch(err["type"], err.get("input")) or str(err["msg"])))
        return None, problems


def unknown_fields(model: BaseModel, base: str) -> list[str]:
    """Paths of the fields of ``model`` (recursively) that no model declares."""
    out = [join_path(base, str(key)) for key in (model.model_extra or {})]
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = join_path(base, info.alias or name)
        if isinstance(value, BaseModel):
            out.extend(unknown_fields(value, path))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    out.extend(unknown_fields(item, join_path(path, i)))
    return out
