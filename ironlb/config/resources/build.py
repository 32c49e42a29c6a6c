"""ironlb.io objects, on top of the ConfigMap's config, → one domain :class:`~ironlb.config.model.Config`.

The rules that span objects live here, over both inputs at once:

- a pool, BFD profile, Community alias or peer name is defined once: an object named
  like an item of the ConfigMap is an error (a ConfigMap peer is named
  ``peer-<address>``, see :func:`ironlb.config.build.peer_names`);
- no address is in two pools (ConfigMap pools and IPAddressPools together);
- no two peers have the same address, port, source address and node selectors;
- a name an object refers to (a pool, a peer, a BFD profile, a community alias) exists,
  in either input.

The ConfigMap is self-contained (decoded on its own, exactly as without resources); objects
may refer to what it defines. While the ConfigMap has errors of its own, references into
it cannot be judged, so unknown names are not reported (the config is refused anyway).

The merged config lists the ConfigMap's items first, in its order, then each kind's objects
by name; a pool without a ``priority`` is tried in that order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ironlb.config.model import AddressPool, AddressRange, BfdProfile, Community, Config, Peer
from ironlb.config.resources import advertisements as ads
from ironlb.config.resources import items
from ironlb.config.resources.objects import Objects, Report
from ironlb.config.result import ObjectRef
from ironlb.config.rules import overlaps, peer_key, show_range


@dataclass
class _Pools:
    usable: list[items.Pool] = field(default_factory=list)
    ranges: list[tuple[ObjectRef, tuple[AddressRange, ...]]] = field(default_factory=list)


def merge(r: Report, base: Config, base_ok: bool, objs: Objects, namespace: str) -> Config:
    """``base`` (the ConfigMap's config; empty without one) and the objects, judged together."""
    kinds = objs.by_kind
    aliases = _aliases(r, base, objs)
    profiles = _profiles(r, base, objs)
    pools = _pools(r, base, objs)
    peers = _peers(r, base, base_ok, objs, namespace)
    pool_views = [ads.PoolView(p.name, {}, p.ranges) for p in base.pools] + [
        ads.PoolView(p.pool.name, p.labels, p.pool.ranges) for p in pools.usable
    ]
    ctx = ads.Context(
        pools=pool_views,
        pool_names=frozenset(p.name for p in base.pools) | objs.defined("IPAddressPool"),
        peer_names=frozenset(p.name for p in base.peers) | objs.defined("BGPPeer"),
        aliases={**dict(base.bgp_communities), **{name: c for name, (c, _) in aliases.items()}},
        broken_aliases=frozenset(objs.undecodable.get("Community", set())),
        check_references=base_ok,
    )
    l2 = [ads.l2_advertisement(r, res, ctx) for res in kinds["L2Advertisement"]]
    bgp = [ads.bgp_advertisement(r, res, ctx) for res in kinds["BGPAdvertisement"]]
    cips = [ads.cluster_ip_advertisement(r, res, ctx) for res in kinds["ClusterIPAdvertisement"]]
    return Config(
        pools=base.pools + tuple(p.pool for p in pools.usable),
        peers=base.peers + tuple(peers),
        bgp_communities=base.bgp_communities + tuple((name, c) for name, (c, _) in aliases.items()),
        bfd_profiles=base.bfd_profiles + tuple(profiles),
        l2_advertisements=base.l2_advertisements + tuple(ad for ad in l2 if ad is not None),
        bgp_advertisements=base.bgp_advertisements + tuple(ad for ad in bgp if ad is not None),
        cluster_ip_advertisements=base.cluster_ip_advertisements + tuple(ad for ad in cips if ad is not None),
    )


def _clash(r: Report, ref: ObjectRef, path: str, what: str, name: str, where: str) -> None:
    r.error(
        ref,
        path,
        f"{what} {name!r} is also defined in the ConfigMap ({where}); a {what} is defined once, in the "
        "ConfigMap or as a resource: rename or remove one",
    )


def _aliases(r: Report, base: Config, objs: Objects) -> dict[str, tuple[Community, ObjectRef]]:
    found = items.aliases(r, objs.by_kind["Community"])
    defined = dict(base.bgp_communities)
    for name, (_, ref) in list(found.items()):
        if name in defined:
            obj = next(res for res in objs.by_kind["Community"] if res.ref == ref)
            index = next(i for i, a in enumerate(obj.spec.communities or ()) if a.name == name)
            _clash(
                r,
                ref,
                f"spec.communities[{index}].name",
                "community alias",
                name,
                f"bgp-communities[{name!r}]",
            )
            del found[name]
    return found


def _profiles(r: Report, base: Config, objs: Objects) -> list[BfdProfile]:
    defined = {p.name: i for i, p in enumerate(base.bfd_profiles)}
    out = []
    for res in objs.by_kind["BFDProfile"]:
        if res.ref.name in defined:
            _clash(
                r,
                res.ref,
                "metadata.name",
                "BFD profile",
                res.ref.name,
                f"bfd-profiles[{defined[res.ref.name]}]",
            )
        profile = items.bfd_profile(r, res)
        if profile is not None:
            out.append(profile)
    return out


def _pools(r: Report, base: Config, objs: Objects) -> _Pools:
    out = _Pools()
    defined = {p.name: i for i, p in enumerate(base.pools)}
    for res in objs.by_kind["IPAddressPool"]:
        if res.ref.name in defined:
            _clash(
                r, res.ref, "metadata.name", "pool", res.ref.name, f"address-pools[{defined[res.ref.name]}]"
            )
        pool, ranges = items.pool(r, res)
        out.ranges.append((res.ref, ranges))
        if pool is not None:
            out.usable.append(pool)
    _overlaps(r, base.pools, out.ranges)
    return out


def _overlaps(
    r: Report, base: tuple[AddressPool, ...], mine: list[tuple[ObjectRef, tuple[AddressRange, ...]]]
) -> None:
    """No address in two entries, across the ConfigMap's pools and the IPAddressPools (within the ConfigMap:
    checked by its parser). The error goes to the later entry (the ConfigMap's come first)."""
    where: list[tuple[ObjectRef | None, str, str]] = []  # (object, field, pool name); None: the ConfigMap
    flat: list[AddressRange] = []
    for i, pool in enumerate(base):
        for j, entry in enumerate(pool.ranges):
            where.append((None, f"address-pools[{i}].addresses[{j}]", pool.name))
            flat.append(entry)
    for ref, ranges in mine:
        for j, entry in enumerate(ranges):
            where.append((ref, f"spec.addresses[{j}]", ref.name))
            flat.append(entry)
    for later, earlier in overlaps(flat):
        later_ref, path, _ = where[later]
        other_ref, other_path, other_pool = where[earlier]
        if later_ref is None:
            continue  # both in the ConfigMap: its parser said so
        place = f"the ConfigMap's {other_path}" if other_ref is None else f"{other_ref} {other_path}"
        r.error(
            later_ref,
            path,
            f"{show_range(flat[later])} overlaps {show_range(flat[earlier])} of pool {other_pool!r} "
            f"({place})",
        )


def _peers(r: Report, base: Config, base_ok: bool, objs: Objects, namespace: str) -> list[Peer]:
    names = {p.name: i for i, p in enumerate(base.peers)}
    known_profiles = {p.name for p in base.bfd_profiles} | objs.defined("BFDProfile")
    first: dict[object, str] = {peer_key(p): f"the ConfigMap's peers[{i}]" for i, p in enumerate(base.peers)}
    out = []
    for res in objs.by_kind["BGPPeer"]:
        if res.ref.name in names:
            _clash(r, res.ref, "metadata.name", "peer", res.ref.name, f"peers[{names[res.ref.name]}]")
        profile = res.spec.bfd_profile
        if profile and profile not in known_profiles and base_ok:
            r.error(
                res.ref,
                "spec.bfdProfile",
                f"no BFDProfile {profile!r}: no BFDProfile and no ConfigMap bfd-profiles entry has that name",
            )
        peer = items.peer(r, res, namespace)
        if peer is None:
            continue
        key = peer_key(peer)
        if key in first:
            r.error(
                res.ref,
                "spec",
                f"duplicate peer {peer.peer_address} port {peer.peer_port} (same address, port, source "
                f"address and node selectors as {first[key]})",
            )
            continue
        first[key] = str(res.ref)
        out.append(peer)
    return out
