"""The ConfigMap's wire models → domain types, one item at a time.

MetalLB's model: decode strictly into private wire structs, then convert to
domain types and validate. Each ``build_*`` function here asks the shared field
rules (:mod:`ironlb.config.fields`, which every input uses) about its item,
reports every problem with the item's path in the ConfigMap's spelling
(``peers[0].my-asn``) and returns the domain object, or ``None`` when the item
is unusable. Rules that span items (unique names, overlapping pools, duplicate
peers) live in ``ironlb.config.rules``; a peer's ``bfd-profile`` is checked here
against the profile names passed in.

How the ConfigMap's pool-centric format becomes the advertisement-centric domain
(:func:`legacy_pool_advertisements`, which ``ironlb.config.legacy`` also uses to
project a config back onto this format, so both directions name things alike):

- a ``layer2`` pool P gets one ``L2Advertisement`` named P for P alone, from
  every node, on the interfaces of ``l2.interfaces`` (empty: the default set);
- a ``bgp`` pool P gets one ``BgpAdvertisement`` per ``bgp-advertisements``
  entry (one with the defaults when there is none), named P for the first and
  P-1, P-2, ... for the next ones, for P alone, from every node, to every peer;
- a peer is named ``peer-<address>``, or ``peer-<address>-<n>`` for the n-th
  peer with the same address (n from 2) (:func:`peer_names`): stable as long as
  peers of one address keep their order;
- ``cluster-ip-advertisement`` is named ``cluster-ip-advertisement``;
- no pool limits which Services it admits (the format has no such setting).

Decisions of the ConfigMap format, where MetalLB leaves room:

- Two advertisements of one pool are duplicates when all their fields are equal
  (communities compared as a set, as MetalLB keeps them in a map).
- ``cluster-ip-advertisement.external-ips`` defaults to ``false``: announcing
  ``spec.externalIPs`` routes addresses any namespace user can write, so it is
  opt-in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

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
CLUSTER_IP_ADVERTISEMENT = "cluster-ip-advertisement"
"""The name of the ConfigMap's one ClusterIP advertisement."""


def bgp_advertisement_name(pool: str, index: int) -> str:
    """The name of the ``index``-th BGP advertisement of ConfigMap pool ``pool``: P, P-1, P-2..."""
    return pool if index == 0 else f"{pool}-{index}"


def peer_names(peers: Sequence[model.Peer]) -> list[str]:
    """The names of ConfigMap peers, in order: ``peer-<address>``, ``peer-<address>-<n>`` for repeats."""
    seen: dict[model.IPAddress, int] = {}
    out: list[str] = []
    for peer in peers:
        n = seen[peer.peer_address] = seen.get(peer.peer_address, 0) + 1
        out.append(f"peer-{peer.peer_address}" + (f"-{n}" if n > 1 else ""))
    return out


@dataclass(frozen=True)
class LegacyPool:
    """A ConfigMap pool: the domain pool, its protocol, and (bgp) its advertisements' attributes."""

    pool: model.AddressPool
    protocol: model.Protocol
    bgp_advertisements: tuple[model.BgpAdvertisement, ...] = ()
    """As written (names and pools are set by :func:`legacy_pool_advertisements`); empty: one default."""


def legacy_pool_advertisements(
    pool: LegacyPool, interfaces: tuple[str, ...]
) -> tuple[tuple[model.L2Advertisement, ...], tuple[model.BgpAdvertisement, ...]]:
    """The advertisements a ConfigMap pool stands for (see the module docstring)."""
    name = pool.pool.name
    if pool.protocol == "layer2":
        return (model.L2Advertisement(name=name, pools=(name,), interfaces=interfaces),), ()
    ads = pool.bgp_advertisements or (model.BgpAdvertisement(),)
    return (), tuple(
        replace(ad, name=bgp_advertisement_name(name, i), pools=(name,), node_selectors=(), peers=())
        for i, ad in enumerate(ads)
    )


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
) -> LegacyPool | None:
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
    domain = model.AddressPool(
        name=pool.name,
        ranges=ranges,
        auto_assign=True if pool.auto_assign is None else pool.auto_assign,
        avoid_buggy_ips=bool(pool.avoid_buggy_ips),
    )
    return LegacyPool(domain, protocol, ads)


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
        key = ad.attributes
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
    raw = fields.ClusterIPFields(
        cip.cidrs, cip.local_routes, cip.external_ips, cip.communities, cip.localpref, cip.node_selectors
    )
    ad, problems = fields.cluster_ip_advertisement(
        raw,
        aliases.defined,
        field_name,
        name=CLUSTER_IP_ADVERTISEMENT,
        broken=aliases.broken,
        defined_in=ALIASES,
    )
    report(p, CLUSTER_IP_ADVERTISEMENT, problems)
    return ad


def build_l2(p: Problems, l2: WireL2) -> tuple[str, ...] | None:
    """``l2.interfaces``: the interfaces of every layer2 pool's advertisement (empty: the default set)."""
    interfaces, problems = fields.interface_patterns(l2.interfaces)
    report(p, join_path("l2", "interfaces"), problems)
    return None if problems else interfaces
