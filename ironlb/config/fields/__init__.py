"""The rules for the values of one config item, shared by every input of the configuration.

ironlb reads its configuration from more than one input: the legacy ConfigMap
(``ironlb.config.build``), MetalLB's CRDs that ``ironlb convert`` migrates
(``ironlb.metallb``), and ironlb.io resources next. Each input decodes its own
syntax; all of them ask these rules about the values, so that an ASN, a hold
time or a selector operator is defaulted, accepted and refused the same way,
with the same message, whatever the input.

A rule speaks about values, never about where they stand (one module per concept: ``checks``,
``scalars``, ``selectors``, ``peers``, ``pools``; every name is importable from here):

- value rules (:func:`asn`, :func:`port`, :func:`hold_time`, ...) return the
  checked value or raise ``ValueError`` with a message ready to show after
  ``path: `` (the convention of :mod:`ironlb.config.values`, whose parsers they
  build on);
- item rules (:func:`peer`, :func:`label_selectors`, :func:`bfd_profile`,
  :func:`address_ranges`, :func:`advertisement`, :func:`service_allocation`,
  :func:`cluster_ip_advertisement`) check every field of one item
  and return the domain value (``None`` when a field is wrong) with every
  :class:`Problem`. A problem's ``field`` is its path below the item, the field
  name spelled by the caller's :data:`Spelling` (``my-asn`` in the ConfigMap,
  ``myASN`` in a CRD); the caller puts it under the item's own path.

What spans items (unique names, overlapping pools, duplicate peers, a peer's
``bfd-profile`` naming a profile) is each input's to check, because its message
names the input's own objects.
"""

from __future__ import annotations

from ironlb.config.fields.checks import Checks, FieldPath, Problem, Spelling
from ironlb.config.fields.peers import (
    BFD_RANGES,
    BfdFields,
    PeerFields,
    bfd_profile,
    keepalive_ignored,
    keepalive_message,
    peer,
)
from ironlb.config.fields.pools import (
    INTERFACE_PATTERN,
    AdvertisementFields,
    AllocationFields,
    ClusterIPFields,
    address_ranges,
    advertisement,
    cluster_ip_advertisement,
    community_list,
    interface_patterns,
    namespace_name,
    service_allocation,
)
from ironlb.config.fields.scalars import (
    DEFAULT_HOLD_TIME,
    DEFAULT_PEER_PORT,
    UINT32_MAX,
    asn,
    hold_time,
    in_range,
    keepalive_time,
    label,
    label_key,
    localpref,
    operator,
    optional_ip,
    or_default,
    port,
    protocol,
    required_ip,
    router_id,
    source_address,
)
from ironlb.config.fields.selectors import (
    RequirementFields,
    SelectorFields,
    label_selector,
    label_selectors,
    requirement,
)

__all__ = [
    "BFD_RANGES",
    "DEFAULT_HOLD_TIME",
    "DEFAULT_PEER_PORT",
    "INTERFACE_PATTERN",
    "UINT32_MAX",
    "AdvertisementFields",
    "AllocationFields",
    "BfdFields",
    "Checks",
    "ClusterIPFields",
    "FieldPath",
    "PeerFields",
    "Problem",
    "RequirementFields",
    "SelectorFields",
    "Spelling",
    "address_ranges",
    "advertisement",
    "asn",
    "bfd_profile",
    "cluster_ip_advertisement",
    "community_list",
    "hold_time",
    "in_range",
    "interface_patterns",
    "keepalive_ignored",
    "keepalive_message",
    "keepalive_time",
    "label",
    "label_key",
    "label_selector",
    "label_selectors",
    "localpref",
    "namespace_name",
    "operator",
    "optional_ip",
    "or_default",
    "peer",
    "port",
    "protocol",
    "required_ip",
    "requirement",
    "router_id",
    "service_allocation",
    "source_address",
]
