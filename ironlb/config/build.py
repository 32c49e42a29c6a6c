"""The ConfigMap's wire models → domain types, one item at a time.

MetalLB's model: decode strictly into private wire structs, then convert to
domain types and validate. Each ``build_*`` function here asks the shared field
rules (:mod:`ironlb.config.fields`, which every input uses) about its item,
reports every problem with the item's path in the ConfigMap's spelling
(``peers[0].my-asn``) and returns the domain object, or ``None`` when the item
is unusable. Rules that span items (unique names, overlapping pools, duplicate
peers) live in ``ironlb.config.rules``; a peer's ``bfd-profile`` is checked here
against the profile names passed in.

Decisions of the ConfigMap format, where MetalLB leaves room:

- Two advertisements of one pool are duplicates when all their fields are equal
  (communities compared as a set, as MetalLB keeps them in a map).
- ``cluster-ip-advertisement.external-ips`` defaults to ``false``: announcing
  ``spec.externalIPs`` routes addresses any namespace user can write, so it is
  opt-in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ironlb.config import fields, model, values
from ironlb.config.errors import Problems, join_path
from ironlb.config.fields import AdvertisementFields
from ironlb.config.wire import (
    WireAddressPool,
    WireBfdProfile,
    WireBgpAdvertisement,
    WireClusterIPAdvertisement,
    WireL2,
    WirePeer,
    field_name,
)

ALIASES = "bgp-communities"


def report(p: Problems, path: str, problems: Iterable[fields.Problem]) -> None:
    """The field rules' problems of the item at ``path``."""
    for problem in problems:
        where = join_path(path, *problem.field)
        if problem.warning:
            p.warn(where, problem.message)
        else:
            p.error(where, problem.message)


@dataclass(frozen=True)
class Aliases:
    """``bgp-communities``: the aliases that parsed, and the names of those refused (already reported)."""

    defined: dict[str, model.Community]
    broken: frozenset[str] = frozenset()


def build_communities(p: Problems, raw: dict[str, str], names: set[str]) -> Aliases:
    """``bgp-communities``: alias → literal community (no alias of an alias); ``names``: every alias
    name in the document, also of those that did not decode."""
    out: dict[str, model.Community] = {}
    for name, text in raw.items():
        path = join_path(ALIASES, name)
        if not name:
            p.error(path, "community alias name must not be empty")
            continue
        try:
            out[name] = values.parse_community_literal(text)
        except ValueError as exc:
            p.error(path, str(exc))
    return Aliases(out, frozenset((names | set(raw)) - set(out)))


def pool_ranges(p: Problems, index: int, pool: WireAddressPool) -> tuple[model.AddressRange, ...]:
    """The address entries of a pool that parse, reporting the others (and host-bit warnings)."""
    ranges, problems = fields.address_ranges(pool.addresses, field_name)
    report(p, join_path("address-pools", index), problems)
    return ranges


def build_pool(
    p: Problems,
    index: int,
    pool: WireAddressPool,
    ranges: tuple[model.AddressRange, ...],
    aliases: Aliases,
) -> model.AddressPool | None:
    """One pool, given its parsed ``ranges`` (from :func:`pool_ranges`)."""
    path = join_path("address-pools", index)
    ok = len(ranges) == len(pool.addresses or ()) > 0
    if not pool.name:
        p.error(join_path(path, "name"), "required field is missing")
    try:
        protocol = fields.protocol(pool.protocol)
    except ValueError as exc:
        p.error(join_path(path, "protocol"), str(exc))
        protocol = None
    ads: tuple[model.BgpAdvertisement, ...] | None = ()
    if pool.bgp_advertisements and protocol == "layer2":
        p.error(join_path(path, "bgp-advertisements"), "bgp-advertisements are not allowed in a layer2 pool")
        ok = False
    elif pool.bgp_advertisements:
        ads = _advertisements(p, path, pool.bgp_advertisements, ranges, aliases)
    if not ok or ads is None or not pool.name or protocol is None:
        return None
    return model.AddressPool(
        name=pool.name,
        protocol=protocol,
        ranges=ranges,
        auto_assign=True if pool.auto_assign is None else pool.auto_assign,
        avoid_buggy_ips=bool(pool.avoid_buggy_ips),
        bgp_advertisements=ads,
    )


def _advertisements(
    p: Problems,
    path: str,
    wads: list[WireBgpAdvertisement],
    ranges: tuple[model.AddressRange, ...],
    aliases: Aliases,
) -> tuple[model.BgpAdvertisement, ...] | None:
    """A pool's ``bgp-advertisements``, each checked, duplicates refused; ``None`` when any is wrong."""
    out: list[model.BgpAdvertisement] = []
    ok = True
    seen: dict[tuple[int, int, int | None, frozenset[model.Community]], int] = {}
    for i, wad in enumerate(wads):
        ad_path = join_path(path, "bgp-advertisements", i)
        raw = AdvertisementFields(
            wad.aggregation_length, wad.aggregation_length_v6, wad.localpref, wad.communities
        )
        ad, problems = fields.advertisement(
            raw, ranges, aliases.defined, field_name, broken=aliases.broken, defined_in=ALIASES
        )
        report(p, ad_path, problems)
        if ad is None:
            ok = False
            continue
        key = (ad.aggregation_length, ad.aggregation_length_v6, ad.localpref, frozenset(ad.communities))
        if key in seen:
            p.error(ad_path, f"duplicate of bgp-advertisements[{seen[key]}]")
            ok = False
            continue
        seen[key] = i
        out.append(ad)
    return tuple(out) if ok else None


def build_peer(p: Problems, index: int, wire: WirePeer, bfd_profiles: set[str]) -> model.Peer | None:
    """One peer; ``bfd_profiles`` holds the names a ``bfd-profile`` may refer to."""
    path = join_path("peers", index)
    peer, problems = fields.peer(wire, field_name)
    report(p, path, problems)
    if wire.bfd_profile and wire.bfd_profile not in bfd_profiles:
        p.error(
            join_path(path, "bfd-profile"), f"bfd profile {wire.bfd_profile!r} does not exist in bfd-profiles"
        )
        return None
    return peer


def build_bfd_profile(p: Problems, index: int, wire: WireBfdProfile) -> model.BfdProfile | None:
    profile, problems = fields.bfd_profile(wire.name, wire, field_name)
    report(p, join_path("bfd-profiles", index), problems)
    return profile


def build_cluster_ip(
    p: Problems, cip: WireClusterIPAdvertisement, aliases: Aliases
) -> model.ClusterIPAdvertisement | None:
    path = "cluster-ip-advertisement"
    errors_before = len(p.errors)
    cidrs = _cidrs(p, join_path(path, "cidrs"), cip.cidrs)
    communities, problems = fields.community_list(
        cip.communities, aliases.defined, broken=aliases.broken, defined_in=ALIASES
    )
    report(p, join_path(path, "communities"), problems)
    try:
        fields.localpref(cip.localpref)
    except ValueError as exc:
        p.error(join_path(path, "localpref"), str(exc))
    selectors, problems = fields.label_selectors(cip.node_selectors, field_name)
    report(p, join_path(path, "node-selectors"), problems)
    if len(p.errors) != errors_before or selectors is None:
        return None
    return model.ClusterIPAdvertisement(
        cidrs=cidrs,
        local_routes=True if cip.local_routes is None else cip.local_routes,
        external_ips=bool(cip.external_ips),
        communities=communities,
        localpref=cip.localpref,
        node_selectors=selectors,
    )


def _cidrs(p: Problems, path: str, texts: list[str] | None) -> tuple[model.IPNetwork, ...]:
    """The ClusterIP CIDRs: at least one, none overlapping another (host bits masked, with a warning)."""
    cidrs: list[model.IPNetwork] = []
    if not texts:
        p.error(path, "at least one CIDR is required")
    for i, text in enumerate(texts or ()):
        cpath = join_path(path, i)
        try:
            net, masked = values.parse_cidr(text)
        except ValueError as exc:
            p.error(cpath, str(exc))
            continue
        if masked:
            p.warn(cpath, f"{text!r} has host bits set; using {net}")
        for j, other in enumerate(cidrs):
            if net.version == other.version and net.overlaps(other):  # type: ignore[arg-type, unused-ignore]
                p.error(cpath, f"{net} overlaps {other} (cidrs[{j}])")
                break
        else:
            cidrs.append(net)
    return tuple(cidrs)


def build_l2(p: Problems, l2: WireL2) -> model.L2Settings | None:
    errors_before = len(p.errors)
    seen: dict[str, int] = {}
    for i, pattern in enumerate(l2.interfaces or ()):
        ipath = join_path("l2", "interfaces", i)
        if not pattern:
            p.error(ipath, "interface pattern must not be empty")
        elif any(c.isspace() for c in pattern) or "/" in pattern:
            p.error(ipath, f"{pattern!r} is not a valid interface name or glob (no spaces or '/')")
        elif pattern in seen:
            p.error(ipath, f"duplicate of interfaces[{seen[pattern]}]")
        else:
            seen[pattern] = i
    if len(p.errors) != errors_before:
        return None
    return model.L2Settings(tuple(seen))
