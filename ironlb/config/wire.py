"""Wire models: MetalLB's legacy ConfigMap format (plus ironlb's additions), decoded strictly.

This is the edge: pydantic v2 models with the hyphenated keys as aliases,
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

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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


class _Wire(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        populate_by_name=True,
        serialize_by_alias=True,
    )


class WireSelectorRequirement(_Wire):
    key: Text | None = None
    operator: Text | None = None
    values: list[Text] | None = None


class WireNodeSelector(_Wire):
    match_labels: dict[Text, Text] | None = Field(default=None, alias="match-labels")
    match_expressions: list[WireSelectorRequirement] | None = Field(default=None, alias="match-expressions")


class WireBgpAdvertisement(_Wire):
    aggregation_length: Int | None = Field(default=None, alias="aggregation-length")
    aggregation_length_v6: Int | None = Field(default=None, alias="aggregation-length-v6")
    localpref: Int | None = None
    communities: list[Text] | None = None


class WireAddressPool(_Wire):
    name: Text | None = None
    protocol: Text | None = None
    addresses: list[Text] | None = None
    auto_assign: Bool | None = Field(default=None, alias="auto-assign")
    avoid_buggy_ips: Bool | None = Field(default=None, alias="avoid-buggy-ips")
    bgp_advertisements: list[WireBgpAdvertisement] | None = Field(default=None, alias="bgp-advertisements")


class WirePeer(_Wire):
    my_asn: Int | None = Field(default=None, alias="my-asn")
    peer_asn: Int | None = Field(default=None, alias="peer-asn")
    peer_address: Text | None = Field(default=None, alias="peer-address")
    peer_port: Int | None = Field(default=None, alias="peer-port")
    hold_time: Text | None = Field(default=None, alias="hold-time")
    keepalive_time: Text | None = Field(default=None, alias="keepalive-time")
    router_id: Text | None = Field(default=None, alias="router-id")
    source_address: Text | None = Field(default=None, alias="source-address")
    password: Text | None = None
    node_selectors: list[WireNodeSelector] | None = Field(default=None, alias="node-selectors")
    bfd_profile: Text | None = Field(default=None, alias="bfd-profile")
    ebgp_multihop: Bool | None = Field(default=None, alias="ebgp-multihop")


class WireBfdProfile(_Wire):
    name: Text | None = None
    receive_interval: Int | None = Field(default=None, alias="receive-interval")
    transmit_interval: Int | None = Field(default=None, alias="transmit-interval")
    detect_multiplier: Int | None = Field(default=None, alias="detect-multiplier")
    echo_interval: Int | None = Field(default=None, alias="echo-interval")
    echo_mode: Bool | None = Field(default=None, alias="echo-mode")
    passive_mode: Bool | None = Field(default=None, alias="passive-mode")
    minimum_ttl: Int | None = Field(default=None, alias="minimum-ttl")


class WireClusterIPAdvertisement(_Wire):
    """ironlb's addition: announce the Service ClusterIP range over BGP."""

    cidrs: list[Text] | None = None
    local_routes: Bool | None = Field(default=None, alias="local-routes")
    external_ips: Bool | None = Field(default=None, alias="external-ips")
    communities: list[Text] | None = None
    localpref: Int | None = None
    node_selectors: list[WireNodeSelector] | None = Field(default=None, alias="node-selectors")


class WireL2(_Wire):
    """ironlb's addition: where layer-2 answers are given."""

    interfaces: list[Text] | None = None


class WireConfig(_Wire):
    """The whole document held in the ConfigMap's ``config`` key."""

    peers: list[WirePeer] | None = None
    bgp_communities: dict[Text, Text] | None = Field(default=None, alias="bgp-communities")
    address_pools: list[WireAddressPool] | None = Field(default=None, alias="address-pools")
    bfd_profiles: list[WireBfdProfile] | None = Field(default=None, alias="bfd-profiles")
    cluster_ip_advertisement: WireClusterIPAdvertisement | None = Field(
        default=None, alias="cluster-ip-advertisement"
    )
    l2: WireL2 | None = None


def field_name(name: str) -> str:
    """A field of the domain model as this format spells it: ``my_asn`` is ``my-asn``."""
    return name.replace("_", "-")
