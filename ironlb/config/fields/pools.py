"""Item rules for what an address pool holds (ranges), how it is advertised (BGP advertisement,
communities, the interfaces of layer 2), which Services it serves (namespace and Service
selectors), and the CIDRs a ClusterIP advertisement announces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ironlb.config import values
from ironlb.config.fields.checks import Checks, Problem, Spelling
from ironlb.config.fields.scalars import in_range, localpref, or_default
from ironlb.config.fields.selectors import SelectorFields, label_selectors
from ironlb.config.model import (
    AddressRange,
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Community,
    IPNetwork,
    ServiceAllocation,
)


def address_ranges(
    addresses: Sequence[str] | None, spell: Spelling
) -> tuple[tuple[AddressRange, ...], list[Problem]]:
    """A pool's address entries: the ones that parse (all of them unless there are errors).

    A CIDR with host bits set is masked, as MetalLB does, with a warning.
    """
    c = Checks(spell)
    if not addresses:
        c.error("addresses", "a pool needs at least one CIDR or range")
    out: list[AddressRange] = []
    for i, text in enumerate(addresses or ()):
        parsed = c.value(("addresses", i), values.parse_address_entry, text)
        if parsed is None:
            continue
        entry, masked = parsed
        if masked:
            c.warn(
                ("addresses", i),
                f"{text!r} has host bits set; using {next(entry.networks())} (as MetalLB does)",
            )
        out.append(entry)
    return tuple(out), c.problems


INTERFACE_PATTERN = "must be an interface name or glob (no spaces or '/')"
"""What an interface pattern must be (also the CRD's rule, so the API server says the same)."""


def interface_patterns(texts: Sequence[str] | None) -> tuple[tuple[str, ...], list[Problem]]:
    """Where layer-2 answers are given: interface names or shell globs (``eth0``, ``bond*``), without
    repeats; problems at their index."""
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for i, text in enumerate(texts or ()):
        if not text or any(c.isspace() for c in text) or "/" in text:
            problems.append(Problem((i,), INTERFACE_PATTERN))
        elif text in first:
            problems.append(Problem((i,), f"duplicate of interfaces[{first[text]}]"))
        else:
            first[text] = i
    return tuple(first), problems


def _cluster_cidrs(c: Checks, texts: Sequence[str] | None) -> tuple[IPNetwork, ...]:
    """A ClusterIP advertisement's ``cidrs``: at least one, none overlapping another (host bits
    masked, with a warning). An overlap names the earlier entry by its index as written."""
    if not texts:
        c.error("cidrs", "at least one CIDR is required")
    kept: list[tuple[int, IPNetwork]] = []
    for i, text in enumerate(texts or ()):
        parsed = c.value(("cidrs", i), values.parse_cidr, text)
        if parsed is None:
            continue
        net, masked = parsed
        if masked:
            c.warn(("cidrs", i), f"{text!r} has host bits set; using {net}")
        clash = next(((j, other) for j, other in kept if _overlap(net, other)), None)
        if clash is not None:
            c.error(("cidrs", i), f"{net} overlaps {clash[1]} (cidrs[{clash[0]}])")
        else:
            kept.append((i, net))
    return tuple(net for _, net in kept)


@dataclass(frozen=True)
class ClusterIPFields:
    """A ClusterIP advertisement as any input decodes it (``None``: not given)."""

    cidrs: Sequence[str] | None = None
    local_routes: bool | None = None
    external_ips: bool | None = None
    communities: Sequence[str] | None = None
    localpref: int | None = None
    node_selectors: Sequence[SelectorFields] | None = None


def cluster_ip_advertisement(
    raw: ClusterIPFields,
    aliases: Mapping[str, Community],
    spell: Spelling,
    *,
    name: str,
    broken: frozenset[str] = frozenset(),
    defined_in: str,
) -> tuple[ClusterIPAdvertisement | None, list[Problem]]:
    """A ClusterIP advertisement with its defaults (local routes on, external IPs off). Peers are the
    caller's to add (the legacy ConfigMap has none)."""
    c = Checks(spell)
    cidrs = _cluster_cidrs(c, raw.cidrs)
    communities = c.nested(
        "communities", community_list(raw.communities, aliases, broken=broken, defined_in=defined_in)
    )
    c.value("localpref", localpref, raw.localpref)
    selectors = c.nested("node_selectors", label_selectors(raw.node_selectors, spell))
    if c.failed or selectors is None:
        return None, c.problems
    ad = ClusterIPAdvertisement(
        cidrs=cidrs,
        local_routes=True if raw.local_routes is None else raw.local_routes,
        external_ips=bool(raw.external_ips),
        communities=communities,
        localpref=raw.localpref,
        node_selectors=selectors,
        name=name,
    )
    return ad, c.problems


def _overlap(a: IPNetwork, b: IPNetwork) -> bool:
    if a.version != b.version:
        return False
    return int(a.network_address) <= int(b.broadcast_address) and int(b.network_address) <= int(
        a.broadcast_address
    )


def community_list(
    texts: Sequence[str] | None,
    aliases: Mapping[str, Community],
    *,
    broken: frozenset[str] = frozenset(),
    defined_in: str,
) -> tuple[tuple[Community, ...], list[Problem]]:
    """Communities (aliases first, then literals), without repeats; problems at their index.

    ``broken`` names aliases that exist but were refused (already reported: skipped);
    ``defined_in`` says where aliases are defined, for the message about an unknown one.
    """
    out: list[Community] = []
    problems: list[Problem] = []
    for i, text in enumerate(texts or ()):
        if text in broken and text not in aliases:
            continue
        try:
            community = values.parse_community(text, aliases, defined_in=defined_in)
        except ValueError as exc:
            problems.append(Problem((i,), str(exc)))
            continue
        if community not in out:
            out.append(community)
    return tuple(out), problems


@dataclass(frozen=True)
class AdvertisementFields:
    """A BGP advertisement's attributes as any input decodes them (``None``: not given)."""

    aggregation_length: int | None = None
    aggregation_length_v6: int | None = None
    localpref: int | None = None
    communities: Sequence[str] | None = None


def advertisement(
    raw: AdvertisementFields,
    ranges: Sequence[AddressRange],
    aliases: Mapping[str, Community],
    spell: Spelling,
    *,
    name: str = "",
    pools: tuple[str, ...] = (),
    broken: frozenset[str] = frozenset(),
    defined_in: str,
) -> tuple[BgpAdvertisement | None, list[Problem]]:
    """A BGP advertisement's attributes: aggregation no wider than any address entry of ``ranges``.

    ``ranges`` (of the pools it selects) may be empty when the pools are not known yet (checked
    again once they are). ``name`` and ``pools`` are carried as given; node selectors and peers
    are the caller's to add (the legacy ConfigMap has neither).
    """
    c = Checks(spell)
    length = c.value("aggregation_length", in_range, or_default(raw.aggregation_length, 32), 0, 32)
    length6 = c.value("aggregation_length_v6", in_range, or_default(raw.aggregation_length_v6, 128), 0, 128)
    if length is not None and length6 is not None:
        for r in ranges:
            key, want = (
                ("aggregation_length", length) if r.family == 4 else ("aggregation_length_v6", length6)
            )
            widest = values.widest_prefix(r)
            if want < widest:
                c.error(
                    key,
                    f"{want} is shorter than prefix /{widest} of {r.text or str(r.first)!r} in this pool "
                    "(aggregating beyond the pool's own addresses is not allowed)",
                )
    pref = c.value("localpref", localpref, raw.localpref)
    communities = c.nested(
        "communities", community_list(raw.communities, aliases, broken=broken, defined_in=defined_in)
    )
    if c.failed or length is None or length6 is None:
        return None, c.problems
    ad = BgpAdvertisement(
        name=name,
        pools=pools,
        aggregation_length=length,
        aggregation_length_v6=length6,
        localpref=pref,
        communities=communities,
    )
    return ad, c.problems


class AllocationFields(Protocol):
    """A pool's ``serviceAllocation`` as any input decodes it (``None``: not given)."""

    @property
    def priority(self) -> int | None: ...
    @property
    def namespaces(self) -> Sequence[str] | None: ...
    @property
    def namespace_selectors(self) -> Sequence[SelectorFields] | None: ...
    @property
    def service_selectors(self) -> Sequence[SelectorFields] | None: ...


def namespace_name(text: str) -> str:
    """A namespace name: a DNS-1123 label (lower-case letters, digits and '-', at most 63)."""
    values.check_dns_label(text, "namespace name")
    return text


def service_allocation(
    raw: AllocationFields, spell: Spelling
) -> tuple[ServiceAllocation | None, list[Problem]]:
    """Which Services a pool admits; ``None`` when any part is wrong (an empty one admits every Service)."""
    c = Checks(spell)
    namespaces: list[str] = []
    for i, text in enumerate(raw.namespaces or ()):
        ns = c.value(("namespaces", i), namespace_name, text)
        if ns is not None and ns not in namespaces:
            namespaces.append(ns)
    ns_selectors = c.nested("namespace_selectors", label_selectors(raw.namespace_selectors, spell))
    svc_selectors = c.nested("service_selectors", label_selectors(raw.service_selectors, spell))
    if raw.priority is not None:
        c.value("priority", in_range, raw.priority, 0, 2**31 - 1)
    if c.failed:
        return None, c.problems
    allocation = ServiceAllocation(
        priority=raw.priority,
        namespaces=tuple(namespaces),
        namespace_selectors=ns_selectors or (),
        service_selectors=svc_selectors or (),
    )
    return allocation, c.problems
