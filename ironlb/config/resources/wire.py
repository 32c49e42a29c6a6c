"""Wire models of the ``ironlb.io/v1beta1`` config kinds: each object's ``spec``, decoded strictly.

The edge for resources, as :mod:`ironlb.config.wire` is for the ConfigMap: pydantic v2
models with the CRDs' camelCase names as aliases, ``extra="forbid"`` (an unknown field is
an error naming its path, with a "did you mean"), strict types, every field optional so
that the decoder says what is missing in its own words. The fields are the CRDs'
(:mod:`ironlb.config.resources.schema`; a test keeps the two equal), which are MetalLB
0.16's plus ``ClusterIPAdvertisement``; MetalLB fields ironlb refuses (``vrf``,
``serviceSelectors``...) are declared so that they are refused by name, never pruned or
reported as unknown.

Objects come from the API server (JSON: plain values) or from files read with
:mod:`ironlb.config.yamlload` (plain scalars wrapped): the ``Text``/``Int``/``Bool`` types
of :mod:`ironlb.config.wire` take both.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ironlb.config.wire import Bool, Int, Text


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class SelectorRequirement(_Wire):
    key: Text | None = None
    operator: Text | None = None
    values: list[Text] | None = None


class LabelSelector(_Wire):
    match_labels: dict[Text, Text] | None = Field(default=None, alias="matchLabels")
    match_expressions: list[SelectorRequirement] | None = Field(default=None, alias="matchExpressions")


class ServiceAllocation(_Wire):
    priority: Int | None = None
    namespaces: list[Text] | None = None
    namespace_selectors: list[LabelSelector] | None = Field(default=None, alias="namespaceSelectors")
    service_selectors: list[LabelSelector] | None = Field(default=None, alias="serviceSelectors")


class IPAddressPoolSpec(_Wire):
    addresses: list[Text] | None = None
    auto_assign: Bool | None = Field(default=None, alias="autoAssign")
    avoid_buggy_ips: Bool | None = Field(default=None, alias="avoidBuggyIPs")
    service_allocation: ServiceAllocation | None = Field(default=None, alias="serviceAllocation")


class _PoolSelection(_Wire):
    ip_address_pools: list[Text] | None = Field(default=None, alias="ipAddressPools")
    ip_address_pool_selectors: list[LabelSelector] | None = Field(
        default=None, alias="ipAddressPoolSelectors"
    )
    node_selectors: list[LabelSelector] | None = Field(default=None, alias="nodeSelectors")
    service_selectors: list[LabelSelector] | None = Field(default=None, alias="serviceSelectors")
    """MetalLB's; refused when not empty."""


class L2AdvertisementSpec(_PoolSelection):
    interfaces: list[Text] | None = None


class BGPAdvertisementSpec(_PoolSelection):
    aggregation_length: Int | None = Field(default=None, alias="aggregationLength")
    aggregation_length_v6: Int | None = Field(default=None, alias="aggregationLengthV6")
    local_pref: Int | None = Field(default=None, alias="localPref")
    communities: list[Text] | None = None
    peers: list[Text] | None = None


class SecretReference(_Wire):
    name: Text | None = None
    namespace: Text | None = None


class BGPPeerSpec(_Wire):
    my_asn: Int | None = Field(default=None, alias="myASN")
    peer_asn: Int | None = Field(default=None, alias="peerASN")
    peer_address: Text | None = Field(default=None, alias="peerAddress")
    peer_port: Int | None = Field(default=None, alias="peerPort")
    source_address: Text | None = Field(default=None, alias="sourceAddress")
    router_id: Text | None = Field(default=None, alias="routerID")
    hold_time: Text | None = Field(default=None, alias="holdTime")
    keepalive_time: Text | None = Field(default=None, alias="keepaliveTime")
    connect_time: Text | None = Field(default=None, alias="connectTime")
    node_selectors: list[LabelSelector] | None = Field(default=None, alias="nodeSelectors")
    password: Text | None = None
    password_secret: SecretReference | None = Field(default=None, alias="passwordSecret")
    bfd_profile: Text | None = Field(default=None, alias="bfdProfile")
    ebgp_multihop: Bool | None = Field(default=None, alias="ebgpMultiHop")
    enable_graceful_restart: Bool | None = Field(default=None, alias="enableGracefulRestart")
    disable_mp: Bool | None = Field(default=None, alias="disableMP")
    dual_stack_address_family: Bool | None = Field(default=None, alias="dualStackAddressFamily")
    vrf: Text | None = None
    interface: Text | None = None
    dynamic_asn: Text | None = Field(default=None, alias="dynamicASN")
    local_asn: Int | None = Field(default=None, alias="localASN")


class BFDProfileSpec(_Wire):
    receive_interval: Int | None = Field(default=None, alias="receiveInterval")
    transmit_interval: Int | None = Field(default=None, alias="transmitInterval")
    detect_multiplier: Int | None = Field(default=None, alias="detectMultiplier")
    echo_interval: Int | None = Field(default=None, alias="echoInterval")
    echo_mode: Bool | None = Field(default=None, alias="echoMode")
    passive_mode: Bool | None = Field(default=None, alias="passiveMode")
    minimum_ttl: Int | None = Field(default=None, alias="minimumTtl")


class CommunityAlias(_Wire):
    name: Text | None = None
    value: Text | None = None


class CommunitySpec(_Wire):
    communities: list[CommunityAlias] | None = None


class ClusterIPAdvertisementSpec(_Wire):
    cidrs: list[Text] | None = None
    local_routes: Bool | None = Field(default=None, alias="localRoutes")
    external_ips: Bool | None = Field(default=None, alias="externalIPs")
    communities: list[Text] | None = None
    local_pref: Int | None = Field(default=None, alias="localPref")
    node_selectors: list[LabelSelector] | None = Field(default=None, alias="nodeSelectors")
    peers: list[Text] | None = None


class Metadata(BaseModel):
    """The parts of ``metadata`` the decoder reads (uid, annotations, managedFields... are not config)."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, populate_by_name=True)
    name: Text | None = None
    namespace: Text | None = None
    labels: dict[Text, Text] | None = None
    generation: Int | None = None
    resource_version: Text | None = Field(default=None, alias="resourceVersion")


SPECS: dict[str, type[_Wire]] = {
    "IPAddressPool": IPAddressPoolSpec,
    "L2Advertisement": L2AdvertisementSpec,
    "BGPAdvertisement": BGPAdvertisementSpec,
    "BGPPeer": BGPPeerSpec,
    "BFDProfile": BFDProfileSpec,
    "Community": CommunitySpec,
    "ClusterIPAdvertisement": ClusterIPAdvertisementSpec,
}
"""The config kinds and their spec models (the kinds of :data:`ironlb.config.resources.schema.KINDS`)."""

_SPELLED = {
    "my_asn": "myASN",
    "peer_asn": "peerASN",
    "dynamic_asn": "dynamicASN",
    "local_asn": "localASN",
    "router_id": "routerID",
    "ebgp_multihop": "ebgpMultiHop",
    "avoid_buggy_ips": "avoidBuggyIPs",
    "localpref": "localPref",
    "graceful_restart": "enableGracefulRestart",
    "external_ips": "externalIPs",
    "disable_mp": "disableMP",
    "allocation": "serviceAllocation",
}


def field_name(name: str) -> str:
    """A field of ironlb's domain model as the CRDs (ironlb's and MetalLB's) spell it: ``hold_time`` is
    ``holdTime`` (the :data:`~ironlb.config.fields.Spelling` of resources)."""
    if name in _SPELLED:
        return _SPELLED[name]
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)
