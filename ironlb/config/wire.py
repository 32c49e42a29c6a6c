"""Wire models: MetalLB's legacy ConfigMap format (plus ironlb's additions), decoded strictly.

This is the edge: pydantic v2 models with the hyphenated keys as aliases (:func:`field_name`),
``extra="forbid"`` everywhere (an unknown key is an error that names its path),
and strict types. Values stay as the user wrote them (strings for addresses,
durations, communities); ``ironlb.config.build`` turns them into domain types
and applies the rules that span fields. Every field is optional here so that a
missing required field is reported by the converter with a clear message, and
``None`` (YAML ``~`` or an empty value) means "not set", as yaml.v2 treats it.

Scalars from the YAML loader may arrive as :class:`~ironlb.config.yamlload.PlainScalar`;
string fields take their source text (yaml.v2 decodes ``password: 1234`` into
``"1234"``), numeric and boolean fields take the resolved value and stay strict
(``peer-port: "179"`` is refused, as in MetalLB).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from ironlb.config.yamlload import PlainScalar


def _text(value: Any) -> Any:
    if isinstance(value, PlainScalar):
        return str.__str__(value)
    return value


def _native(value: Any) -> Any:
    if isinstance(value, PlainScalar):
        return value.value
    if isinstance(value, str) and type(value) is not str:
        return str.__str__(value)
    return value


Text = Annotated[str, BeforeValidator(_text)]
Int = Annotated[int, BeforeValidator(_native)]
Bool = Annotated[bool, BeforeValidator(_native)]


def field_name(name: str) -> str:
    """A field of the domain model (or of the models here) as this format spells it: ``my_asn`` is
    ``my-asn``."""
    return name.replace("_", "-")


class _Wire(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        populate_by_name=True,
        serialize_by_alias=True,
        alias_generator=field_name,
    )


class SelectorRequirement(_Wire):
    """A label selector's requirement: spelled alike in the ConfigMap and in the CRDs (one-word fields),
    so :mod:`ironlb.config.resources.wire` and :mod:`ironlb.metallb.crds` use this model too."""

    key: Text | None = None
    operator: Text | None = None
    values: list[Text] | None = None


class WireNodeSelector(_Wire):
    match_labels: dict[Text, Text] | None = None
    match_expressions: list[SelectorRequirement] | None = None


class WireBgpAdvertisement(_Wire):
    aggregation_length: Int | None = None
    aggregation_length_v6: Int | None = None
    localpref: Int | None = None
    communities: list[Text] | None = None


class WireAddressPool(_Wire):
    name: Text | None = None
    protocol: Text | None = None
    addresses: list[Text] | None = None
    auto_assign: Bool | None = None
    avoid_buggy_ips: Bool | None = None
    bgp_advertisements: list[WireBgpAdvertisement] | None = None


class WirePeer(_Wire):
    my_asn: Int | None = None
    peer_asn: Int | None = None
    peer_address: Text | None = None
    peer_port: Int | None = None
    hold_time: Text | None = None
    keepalive_time: Text | None = None
    router_id: Text | None = None
    source_address: Text | None = None
    password: Text | None = None
    node_selectors: list[WireNodeSelector] | None = None
    bfd_profile: Text | None = None
    ebgp_multihop: Bool | None = None


class WireBfdProfile(_Wire):
    name: Text | None = None
    receive_interval: Int | None = None
    transmit_interval: Int | None = None
    detect_multiplier: Int | None = None
    echo_interval: Int | None = None
    echo_mode: Bool | None = None
    passive_mode: Bool | None = None
    minimum_ttl: Int | None = None


class WireClusterIPAdvertisement(_Wire):
    """ironlb's addition: announce the Service ClusterIP range over BGP."""

    cidrs: list[Text] | None = None
    local_routes: Bool | None = None
    external_ips: Bool | None = None
    communities: list[Text] | None = None
    localpref: Int | None = None
    node_selectors: list[WireNodeSelector] | None = None


class WireL2(_Wire):
    """ironlb's addition: where layer-2 answers are given."""

    interfaces: list[Text] | None = None


class WireConfig(_Wire):
    """The whole document held in the ConfigMap's ``config`` key."""

    peers: list[WirePeer] | None = None
    bgp_communities: dict[Text, Text] | None = None
    address_pools: list[WireAddressPool] | None = None
    bfd_profiles: list[WireBfdProfile] | None = None
    cluster_ip_advertisement: WireClusterIPAdvertisement | None = None
    l2: WireL2 | None = None
