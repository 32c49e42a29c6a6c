"""MetalLB ``IPAddressPool`` and deprecated ``AddressPool`` objects → pools, for ``ironlb.metallb.mapping``.

Both kinds become ironlb address pools and are read the same way (addresses,
``autoAssign``, ``avoidBuggyIPs``, MetalLB's defaults). They differ in how they
are announced: an IPAddressPool by the advertisements that select it (resolved
in ``mapping``), with its ``serviceAllocation``; an AddressPool by its own
``protocol`` and ``bgpAdvertisements``, exactly the legacy format's pool.
Advertisement attributes (aggregation lengths, ``localPref``, communities with
their ``Community`` aliases) are read by one function for a BGPAdvertisement
and for an AddressPool's ``bgpAdvertisements[i]``. Checks that span pools
(overlaps) are left to ironlb's parser (``roundtrip``); the shared name space
is enforced where objects are decoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ironlb.config import fields
from ironlb.config.errors import join_path
from ironlb.config.fields import AdvertisementFields
from ironlb.config.model import AddressRange, BgpAdvertisement, Community, Protocol, ServiceAllocation
from ironlb.config.resources.wire import BgpAttributes, IPAddressPoolSpec, field_name
from ironlb.metallb.crds import AddressPoolSpec, Obj
from ironlb.metallb.findings import Source
from ironlb.metallb.report import Report

COMMUNITY_OBJECTS = "any Community object of the input"


@dataclass(frozen=True)
class Pool:
    source: Source
    labels: dict[str, str]
    ranges: tuple[AddressRange, ...]
    auto_assign: bool
    avoid_buggy_ips: bool
    allocation: ServiceAllocation | None = None
    protocol: Protocol | None = None
    """An AddressPool's own protocol; ``None`` for an IPAddressPool (its advertisements decide)."""
    bgp_ads: tuple[tuple[str, BgpAdvertisement], ...] = ()
    """An AddressPool's ``bgpAdvertisements``, each with its field path (``spec.bgpAdvertisements[i]``)."""


def ip_address_pools(r: Report, objs: list[Obj], broken: dict[str, set[str]]) -> dict[str, Pool]:
    """The IPAddressPools that convert; the names of those that do not are added to ``broken``."""
    out: dict[str, Pool] = {}
    for obj in objs:
        spec: IPAddressPoolSpec = obj.spec
        ranges = _ranges(r, obj.source, spec.addresses)
        allocation: ServiceAllocation | None = None
        if spec.service_allocation is not None:
            allocation, problems = fields.service_allocation(spec.service_allocation, field_name)
            r.problems(obj.source, "spec.serviceAllocation", problems)
        if ranges is not None and (allocation is not None or spec.service_allocation is None):
            auto = True if spec.auto_assign is None else spec.auto_assign
            out[obj.source.name] = Pool(
                obj.source, obj.labels, ranges, auto, bool(spec.avoid_buggy_ips), allocation
            )
        else:
            broken.setdefault("IPAddressPool", set()).add(obj.source.name)
    return out


def address_pools(
    r: Report, objs: list[Obj], aliases: dict[str, tuple[Community, Source]], broken: dict[str, set[str]]
) -> dict[str, Pool]:
    """The deprecated AddressPools that convert; the names of those that do not are added to ``broken``."""
    out: dict[str, Pool] = {}
    for obj in objs:
        spec: AddressPoolSpec = obj.spec
        r.add(
            "warning",
            obj.source,
            "",
            "AddressPool is deprecated in MetalLB (replaced there by IPAddressPool plus "
            "L2Advertisement or BGPAdvertisement); converted one to one into an ironlb address pool",
        )
        ranges = _ranges(r, obj.source, spec.addresses)
        ok = ranges is not None
        protocol: Protocol | None = None
        try:
            protocol = fields.protocol(spec.protocol)
        except ValueError as exc:
            r.add("error", obj.source, "spec.protocol", str(exc))
            ok = False
        ads: list[tuple[str, BgpAdvertisement]] = []
        if spec.bgp_advertisements and protocol == "layer2":
            r.add(
                "error",
                obj.source,
                "spec.bgpAdvertisements",
                "not allowed in a layer2 AddressPool (MetalLB refuses it too): set protocol: bgp or "
                "remove them",
            )
            ok = False
        elif protocol == "bgp":
            for i, item in enumerate(spec.bgp_advertisements or ()):
                base = join_path("spec.bgpAdvertisements", i)
                ad = bgp_advertisement(r, obj.source, base, item, aliases, ranges or ())
                if ad is None:
                    ok = False
                else:
                    ads.append((base, ad))
        if ok and ranges is not None and protocol is not None:
            auto = True if spec.auto_assign is None else spec.auto_assign
            out[obj.source.name] = Pool(
                obj.source, obj.labels, ranges, auto, bool(spec.avoid_buggy_ips), None, protocol, tuple(ads)
            )
        else:
            broken.setdefault("AddressPool", set()).add(obj.source.name)
    return out


def _ranges(r: Report, source: Source, addresses: list[str] | None) -> tuple[AddressRange, ...] | None:
    """A pool's ``spec.addresses``, or ``None`` when any entry is wrong (each reported)."""
    ranges, problems = fields.address_ranges(addresses, field_name)
    r.problems(source, "spec", problems)
    return None if any(not p.warning for p in problems) else ranges


def bgp_advertisement(
    r: Report,
    source: Source,
    base: str,
    spec: BgpAttributes,
    aliases: dict[str, tuple[Community, Source]],
    ranges: Sequence[AddressRange] = (),
) -> BgpAdvertisement | None:
    """A BGPAdvertisement's attributes (``base``: ``spec``), or an AddressPool's ``bgpAdvertisements[i]``.

    ``ranges``: the pool's addresses when known (an AddressPool's own), for the aggregation
    lengths; a BGPAdvertisement's pools are checked by the round trip.
    """
    raw = AdvertisementFields(
        aggregation_length=spec.aggregation_length,
        aggregation_length_v6=spec.aggregation_length_v6,
        localpref=spec.local_pref or None,  # MetalLB: 0 (omitempty) means "not set"
        communities=spec.communities,
    )
    known = {name: community for name, (community, _) in aliases.items()}
    ad, problems = fields.advertisement(raw, ranges, known, field_name, defined_in=COMMUNITY_OBJECTS)
    r.problems(source, base, problems)
    return ad
