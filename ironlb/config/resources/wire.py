"""Wire models of the ``ironlb.io/v1beta1`` config kinds: each object's ``spec``, decoded strictly.

The edge for resources, as :mod:`ironlb.config.wire` is for the ConfigMap: pydantic v2
models with the CRDs' camelCase names as aliases (:func:`field_name` spells them),
``extra="forbid"`` (an unknown field is an error naming its path, with a "did you mean"),
strict types, every field optional so that the decoder says what is missing in its own
words. The fields are the CRDs' (:mod:`ironlb.config.resources.schema`; a test keeps the
two equal), which are MetalLB 0.16's plus ``ClusterIPAdvertisement``; MetalLB fields
ironlb refuses (``vrf``, ``serviceSelectors``...) are declared so that they are refused by
name, never pruned or reported as unknown.

The models MetalLB's CRDs have in the same shape (selectors, pools, BFD profiles,
communities...) are also the models of ``ironlb convert`` (:mod:`ironlb.metallb.crds`),
which validates them keeping unknown fields instead of refusing them: one declaration of
each shape, two ways to read it.

Objects come from the API server (JSON: plain values) or from files read with
:mod:`ironlb.config.yamlload` (plain scalars wrapped): the ``Text``/``Int``/``Bool`` types
of :mod:`ironlb.config.wire` take both.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ironlb.config.wire import Bool, Int, SelectorRequirement, Text

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
    """A field of ironlb's domain model (or of the models here) as the CRDs (ironlb's and MetalLB's) spell
    it: ``hold_time`` is ``holdTime`` (the :data:`~ironlb.config.fields.Spelling` of resources)."""
    if name in _SPELLED:
        return _SPELLED[name]
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


class CrdWire(BaseModel):
    """The base of every spec model here and in :mod:`ironlb.metallb.crds`: aliases spelled by
    :func:`field_name`, unknown fields refused (``ironlb convert`` validates with ``extra="allow"``)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, populate_by_name=True, alias_generator=field_name
    )


class LabelSelector(CrdWire):
    """``metav1.LabelSelector``, and MetalLB v1beta1's own ``NodeSelector``: same shape."""

    match_labels: dict[Text, Text] | None = None
    match_expressions: list[SelectorRequirement] | None = None


class ServiceAllocation(CrdWire):
    priority: Int | None = None
    namespaces: list[Text] | None = None
    namespace_selectors: list[LabelSelector] | None = None
    service_selectors: list[LabelSelector] | None = None


class IPAddressPoolSpec(CrdWire):
    addresses: list[Text] | None = None
    auto_assign: Bool | None = None
    avoid_buggy_ips: Bool | None = None
    service_allocation: ServiceAllocation | None = None


class PoolSelection(CrdWire):
    """The pools and nodes an advertisement (layer-2 or BGP) selects."""

    ip_address_pools: list[Text] | None = None
    ip_address_pool_selectors: list[LabelSelector] | None = None
    node_selectors: list[LabelSelector] | None = None


class BgpAttributes(CrdWire):
    """The announcement attributes of a ``BGPAdvertisement`` (and of a MetalLB ``AddressPool``'s
    ``bgpAdvertisements[]`` item)."""

    aggregation_length: Int | None = None
    aggregation_length_v6: Int | None = None
    local_pref: Int | None = None
    communities: list[Text] | None = None


class _Advertisement(PoolSelection):
    service_selectors: list[LabelSelector] | None = None
    """MetalLB's; refused when not empty."""


class L2AdvertisementSpec(_Advertisement):
    interfaces: list[Text] | None = None


class BGPAdvertisementSpec(BgpAttributes, _Advertisement):
    peers: list[Text] | None = None


class SecretReference(CrdWire):
    name: Text | None = None
    namespace: Text | None = None


class BGPPeerSpec(CrdWire):
    my_asn: Int | None = None
    peer_asn: Int | None = None
    peer_address: Text | None = None
    peer_port: Int | None = None
    source_address: Text | None = None
    router_id: Text | None = None
    hold_time: Text | None = None
    keepalive_time: Text | None = None
    connect_time: Text | None = None
    node_selectors: list[LabelSelector] | None = None
    password: Text | None = None
    password_secret: SecretReference | None = None
    bfd_profile: Text | None = None
    ebgp_multihop: Bool | None = None
    enable_graceful_restart: Bool | None = None
    disable_mp: Bool | None = None
    dual_stack_address_family: Bool | None = None
    vrf: Text | None = None
    interface: Text | None = None
    dynamic_asn: Text | None = None
    local_asn: Int | None = None


class BFDProfileSpec(CrdWire):
    receive_interval: Int | None = None
    transmit_interval: Int | None = None
    detect_multiplier: Int | None = None
    echo_interval: Int | None = None
    echo_mode: Bool | None = None
    passive_mode: Bool | None = None
    minimum_ttl: Int | None = None


class CommunityAlias(CrdWire):
    name: Text | None = None
    value: Text | None = None


class CommunitySpec(CrdWire):
    communities: list[CommunityAlias] | None = None


class ClusterIPAdvertisementSpec(CrdWire):
    cidrs: list[Text] | None = None
    local_routes: Bool | None = None
    external_ips: Bool | None = None
    communities: list[Text] | None = None
    local_pref: Int | None = None
    node_selectors: list[LabelSelector] | None = None
    peers: list[Text] | None = None


class Metadata(BaseModel):
    """The parts of ``metadata`` the decoder reads (uid, annotations, managedFields... are not config)."""

    model_config = ConfigDict(
        extra="ignore", strict=True, frozen=True, populate_by_name=True, alias_generator=field_name
    )
    name: Text | None = None
    namespace: Text | None = None
    labels: dict[Text, Text] | None = None
    generation: Int | None = None
    resource_version: Text | None = None


SPECS: dict[str, type[CrdWire]] = {
    "IPAddressPool": IPAddressPoolSpec,
    "L2Advertisement": L2AdvertisementSpec,
    "BGPAdvertisement": BGPAdvertisementSpec,
    "BGPPeer": BGPPeerSpec,
    "BFDProfile": BFDProfileSpec,
    "Community": CommunitySpec,
    "ClusterIPAdvertisement": ClusterIPAdvertisementSpec,
}
"""The config kinds and their spec models (the kinds of :data:`ironlb.config.resources.schema.KINDS`)."""
