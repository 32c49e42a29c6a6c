"""MetalLB's CRDs (metallb.io v1beta1; also v1beta2 BGPPeer, v1alpha1 AddressPool) as strict pydantic models.

This is the edge of ``ironlb convert``: a raw Kubernetes object (a dict from the
YAML loader) becomes a typed spec, or a list of ``(field path, message)``
problems. The fields follow MetalLB's documented API types (``api/v1beta1`` and
``api/v1beta2`` of the metallb repository, and the reference at
metallb.universe.tf/apis/); nothing is copied from their code.

Types are strict (``peerPort: "179"`` is refused, as the API server's schema
would), except that a string field takes the source text of a plain scalar
(``password: 1234``), as the rest of ironlb reads YAML (``ironlb.config.wire``).
Fields this module does not know are *kept* (``extra="allow"``) so that the
mapping can report each one instead of dropping it silently: a newer MetalLB may
have a field that changes behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ironlb.config.decode import type_mismatch
from ironlb.config.wire import Bool, Int, Text
from ironlb.metallb.findings import Source

GROUP = "metallb.io"


class _Crd(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class LabelSelectorRequirement(_Crd):
    key: Text | None = None
    operator: Text | None = None
    values: list[Text] | None = None


class LabelSelector(_Crd):
    """``metav1.LabelSelector`` (v1beta2) and MetalLB's own ``NodeSelector`` (v1beta1): same shape."""

    match_labels: dict[Text, Text] | None = Field(default=None, alias="matchLabels")
    match_expressions: list[LabelSelectorRequirement] | None = Field(default=None, alias="matchExpressions")


class ServiceAllocation(_Crd):
    priority: Int | None = None
    namespaces: list[Text] | None = None
    namespace_selectors: list[LabelSelector] | None = Field(default=None, alias="namespaceSelectors")
    service_selectors: list[LabelSelector] | None = Field(default=None, alias="serviceSelectors")


class IPAddressPoolSpec(_Crd):
    addresses: list[Text] | None = None
    auto_assign: Bool | None = Field(default=None, alias="autoAssign")
    avoid_buggy_ips: Bool | None = Field(default=None, alias="avoidBuggyIPs")
    service_allocation: ServiceAllocation | None = Field(default=None, alias="serviceAllocation")


class L2AdvertisementSpec(_Crd):
    ip_address_pools: list[Text] | None = Field(default=None, alias="ipAddressPools")
    ip_address_pool_selectors: list[LabelSelector] | None = Field(
        default=None, alias="ipAddressPoolSelectors"
    )
    node_selectors: list[LabelSelector] | None = Field(default=None, alias="nodeSelectors")
    interfaces: list[Text] | None = None


class BgpAttributes(_Crd):
    """The announcement attributes a ``BGPAdvertisement`` and an ``AddressPool``'s
    ``bgpAdvertisements[]`` item (``LegacyBgpAdvertisement``) have in common."""

    aggregation_length: Int | None = Field(default=None, alias="aggregationLength")
    aggregation_length_v6: Int | None = Field(default=None, alias="aggregationLengthV6")
    local_pref: Int | None = Field(default=None, alias="localPref")
    communities: list[Text] | None = None


class BGPAdvertisementSpec(BgpAttributes):
    ip_address_pools: list[Text] | None = Field(default=None, alias="ipAddressPools")
    ip_address_pool_selectors: list[LabelSelector] | None = Field(
        default=None, alias="ipAddressPoolSelectors"
    )
    node_selectors: list[LabelSelector] | None = Field(default=None, alias="nodeSelectors")
    peers: list[Text] | None = None


class AddressPoolSpec(_Crd):
    """The deprecated ``AddressPool`` (v1alpha1, v1beta1): a pool with its own protocol and advertisements.

    ``avoidBuggyIPs`` is in v1beta1's schema only; it is read in both versions.
    """

    protocol: Text | None = None
    addresses: list[Text] | None = None
    auto_assign: Bool | None = Field(default=None, alias="autoAssign")
    avoid_buggy_ips: Bool | None = Field(default=None, alias="avoidBuggyIPs")
    bgp_advertisements: list[BgpAttributes] | None = Field(default=None, alias="bgpAdvertisements")


class SecretReference(_Crd):
    name: Text | None = None
    namespace: Text | None = None


class BGPPeerSpec(_Crd):
    """v1beta1 and v1beta2 together: v1beta2 only adds fields (and lifts the 16-bit ASN limit)."""

    my_asn: Int | None = Field(default=None, alias="myASN")
    peer_asn: Int | None = Field(default=None, alias="peerASN")
    dynamic_asn: Text | None = Field(default=None, alias="dynamicASN")
    peer_address: Text | None = Field(default=None, alias="peerAddress")
    interface: Text | None = None
    source_address: Text | None = Field(default=None, alias="sourceAddress")
    peer_port: Int | None = Field(default=None, alias="peerPort")
    hold_time: Text | None = Field(default=None, alias="holdTime")
    keepalive_time: Text | None = Field(default=None, alias="keepaliveTime")
    connect_time: Text | None = Field(default=None, alias="connectTime")
    router_id: Text | None = Field(default=None, alias="routerID")
    node_selectors: list[LabelSelector] | None = Field(default=None, alias="nodeSelectors")
    password: Text | None = None
    password_secret: SecretReference | None = Field(default=None, alias="passwordSecret")
    bfd_profile: Text | None = Field(default=None, alias="bfdProfile")
    enable_graceful_restart: Bool | None = Field(default=None, alias="enableGracefulRestart")
    ebgp_multihop: Bool | None = Field(default=None, alias="ebgpMultiHop")
    vrf: Text | None = None
    disable_mp: Bool | None = Field(default=None, alias="disableMP")
    dual_stack_address_family: Bool | None = Field(default=None, alias="dualStackAddressFamily")


class BFDProfileSpec(_Crd):
    receive_interval: Int | None = Field(default=None, alias="receiveInterval")
    transmit_interval: Int | None = Field(default=None, alias="transmitInterval")
    detect_multiplier: Int | None = Field(default=None, alias="detectMultiplier")
    echo_interval: Int | None = Field(default=None, alias="echoInterval")
    echo_mode: Bool | None = Field(default=None, alias="echoMode")
    passive_mode: Bool | None = Field(default=None, alias="passiveMode")
    minimum_ttl: Int | None = Field(default=None, alias="minimumTtl")


class CommunityAlias(_Crd):
    name: Text | None = None
    value: Text | None = None


class CommunitySpec(_Crd):
    communities: list[CommunityAlias] | None = None


class Metadata(BaseModel):
    """The parts of ``metadata`` the conversion reads; the rest (annotations, uid, ...) is irrelevant."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)
    name: Text | None = None
    namespace: Text | None = None
    labels: dict[Text, Text] | None = None


SPECS: dict[str, type[_Crd]] = {
    "IPAddressPool": IPAddressPoolSpec,
    "L2Advertisement": L2AdvertisementSpec,
    "BGPAdvertisement": BGPAdvertisementSpec,
    "BGPPeer": BGPPeerSpec,
    "BFDProfile": BFDProfileSpec,
    "Community": CommunitySpec,
    "AddressPool": AddressPoolSpec,
}
"""The kinds converted, each with its spec model."""

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
    """``raw`` as ``model``, or ``None`` and every problem as ``(path, message)`` under ``base``."""
    if raw is None:
        raw = {}
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            path = join(base, *(p for p in err["loc"] if p != "[key]"))
            problems.append((path, type_mismatch(err["type"], err.get("input")) or str(err["msg"])))
        return None, problems


def unknown_fields(model: BaseModel, base: str) -> list[str]:
    """Paths of the fields of ``model`` (recursively) that no model declares."""
    out = [join(base, str(key)) for key in (model.model_extra or {})]
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = join(base, info.alias or name)
        if isinstance(value, BaseModel):
            out.extend(unknown_fields(value, path))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    out.extend(unknown_fields(item, join(path, i)))
    return out


_SPELLED = {
    "my_asn": "myASN",
    "peer_asn": "peerASN",
    "dynamic_asn": "dynamicASN",
    "router_id": "routerID",
    "ebgp_multihop": "ebgpMultiHop",
    "avoid_buggy_ips": "avoidBuggyIPs",
    "localpref": "localPref",
}


def field_name(name: str) -> str:
    """A field of ironlb's domain model as MetalLB's CRDs spell it: ``hold_time`` is ``holdTime``."""
    if name in _SPELLED:
        return _SPELLED[name]
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def join(base: str, *parts: str | int) -> str:
    """``join("spec", "addresses", 0)`` is ``"spec.addresses[0]"``."""
    out = base
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out
