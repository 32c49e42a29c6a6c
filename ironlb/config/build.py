"""Wire models → domain types, one item at a time, with the rules local to each item.

MetalLB's model: decode strictly into private wire structs, then convert to
domain types and validate. Each ``convert_*`` function here reports every
problem of its item with the item's path and returns the domain object, or
``None`` when the item is unusable. Rules that span items (unique names,
overlapping pools, duplicate peers) live in ``ironlb.config.rules``; a peer's
``bfd-profile`` is checked here against the profile names passed in.

Decisions, where MetalLB leaves room:

- ``aggregation-length`` (MetalLB ≥0.12, PR #1130): for each address entry, the
  aggregation length must not be shorter than the *widest* CIDR that entry
  summarizes to (for a CIDR, its own prefix; for a range, the shortest prefix of
  the CIDRs covering it). So ``10.0.0.0/24`` refuses ``aggregation-length: 16``
  and ``3.3.3.2-3.3.3.254`` (widest block ``/26``) accepts 26 and refuses 25.
  ``aggregation-length`` applies to IPv4 entries, ``aggregation-length-v6`` to IPv6.
- Two advertisements of one pool are duplicates when all their fields are equal
  (communities compared as a set, as MetalLB keeps them in a map).
- ``keepalive-time`` defaults to a third of the hold time in whole seconds; both
  are rounded down to whole seconds like MetalLB's hold time.
- ``cluster-ip-advertisement.external-ips`` defaults to ``false``: announcing
  ``spec.externalIPs`` routes addresses any namespace user can write, so it is
  opt-in.
- BFD profiles are accepted with MetalLB's documented ranges; the speaker runs
  FRR's bfdd for peers that name one (``speaker.bfd``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from ironlb.config import values
from ironlb.config.errors import Problems, join_path
from ironlb.config.model import (
    AddressPool,
    AddressRange,
    BfdProfile,
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Community,
    IPAddress,
    IPNetwork,
    L2Settings,
    NodeSelector,
    Peer,
    SelectorRequirement,
)
from ironlb.config.wire import (
    WireAddressPool,
    WireBfdProfile,
    WireBgpAdvertisement,
    WireClusterIPAdvertisement,
    WireL2,
    WireNodeSelector,
    WirePeer,
)

UINT32_MAX = 2**32 - 1

BFD_RANGES: dict[str, tuple[int, int]] = {
    "receive-interval": (10, 60000),
    "transmit-interval": (10, 60000),
    "detect-multiplier": (2, 255),
    "echo-interval": (10, 60000),
    "minimum-ttl": (1, 254),
}
"""MetalLB's documented BFD ranges (milliseconds for intervals)."""


def _in_range(p: Problems, path: str, value: int, low: int, high: int) -> bool:
    if not low <= value <= high:
        p.error(path, f"{value} is out of range ({low}..{high})")
        return False
    return True


def convert_communities(p: Problems, raw: dict[str, str]) -> dict[str, Community]:
    """``bgp-communities``: alias → literal community (no alias of an alias)."""
    out: dict[str, Community] = {}
    for name, text in raw.items():
        path = join_path("bgp-communities", name)
        if not name:
            p.error(path, "community alias name must not be empty")
            continue
        try:
            out[name] = values.parse_community_literal(text)
        except ValueError as exc:
            p.error(path, str(exc))
    return out


def convert_community_list(
    p: Problems, path: str, texts: Sequence[str], aliases: dict[str, Community], broken: frozenset[str]
) -> tuple[Community, ...]:
    """Resolve a list of communities; ``broken`` names aliases that exist but were already refused."""
    out: list[Community] = []
    for i, text in enumerate(texts):
        if text in broken and text not in aliases:
            continue
        try:
            c = values.parse_community(text, aliases)
        except ValueError as exc:
            p.error(join_path(path, i), str(exc))
            continue
        if c not in out:
            out.append(c)
    return tuple(out)


def _convert_advertisement(
    p: Problems,
    path: str,
    ad: WireBgpAdvertisement,
    ranges: Sequence[AddressRange],
    aliases: dict[str, Community],
    broken: frozenset[str],
) -> BgpAdvertisement | None:
    ok = True
    length = 32 if ad.aggregation_length is None else ad.aggregation_length
    length6 = 128 if ad.aggregation_length_v6 is None else ad.aggregation_length_v6
    ok &= _in_range(p, join_path(path, "aggregation-length"), length, 0, 32)
    ok &= _in_range(p, join_path(path, "aggregation-length-v6"), length6, 0, 128)
    if ok:
        for r in ranges:
            if r.family == 4:
                key, want = "aggregation-length", length
            else:
                key, want = "aggregation-length-v6", length6
            widest = values.widest_prefix(r)
            if want < widest:
                ok = False
                p.error(
                    join_path(path, key),
                    f"{want} is shorter than prefix /{widest} of {r.text or str(r.first)!r} in this pool "
                    "(aggregating beyond the pool's own addresses is not allowed)",
                )
    if ad.localpref is not None:
        ok &= _in_range(p, join_path(path, "localpref"), ad.localpref, 0, UINT32_MAX)
    errors_before = len(p.errors)
    communities = convert_community_list(
        p, join_path(path, "communities"), ad.communities or (), aliases, broken
    )
    if not ok or len(p.errors) != errors_before:
        return None
    return BgpAdvertisement(length, length6, ad.localpref, communities)


def pool_ranges(p: Problems, index: int, pool: WireAddressPool) -> tuple[AddressRange, ...]:
    """The address entries of a pool that parse, reporting the others (and host-bit warnings)."""
    path = join_path("address-pools", index)
    ranges: list[AddressRange] = []
    if not pool.addresses:
        p.error(join_path(path, "addresses"), "a pool needs at least one address, CIDR or range")
    for i, text in enumerate(pool.addresses or ()):
        try:
            r, masked = values.parse_address_entry(text)
        except ValueError as exc:
            p.error(join_path(path, "addresses", i), str(exc))
            continue
        if masked:
            p.warn(
                join_path(path, "addresses", i),
                f"{text!r} has host bits set; using {next(r.networks())} (as MetalLB does)",
            )
        ranges.append(r)
    return tuple(ranges)


def convert_pool(
    p: Problems,
    index: int,
    pool: WireAddressPool,
    ranges: tuple[AddressRange, ...],
    aliases: dict[str, Community],
    broken: frozenset[str],
) -> AddressPool | None:
    """One pool, given its parsed ``ranges`` (from :func:`pool_ranges`)."""
    path = join_path("address-pools", index)
    ok = True
    if not pool.name:
        p.error(join_path(path, "name"), "required field is missing")
        ok = False
    protocol = pool.protocol
    if protocol is None or protocol == "":
        p.error(join_path(path, "protocol"), "required field is missing (layer2 or bgp)")
        ok = False
    elif protocol not in ("layer2", "bgp"):
        p.error(join_path(path, "protocol"), f"unknown protocol {protocol!r} (expected layer2 or bgp)")
        ok = False
    if not pool.addresses or len(ranges) != len(pool.addresses):
        ok = False
    ads: list[BgpAdvertisement] = []
    if pool.bgp_advertisements and protocol == "layer2":
        p.error(join_path(path, "bgp-advertisements"), "bgp-advertisements are not allowed in a layer2 pool")
        ok = False
    elif pool.bgp_advertisements:
        seen: dict[tuple[int, int, int | None, frozenset[Community]], int] = {}
        for i, wad in enumerate(pool.bgp_advertisements):
            ad_path = join_path(path, "bgp-advertisements", i)
            ad = _convert_advertisement(p, ad_path, wad, ranges, aliases, broken)
            if ad is None:
                ok = False
                continue
            key = (ad.aggregation_length, ad.aggregation_length_v6, ad.localpref, frozenset(ad.communities))
            if key in seen:
                p.error(ad_path, f"duplicate of bgp-advertisements[{seen[key]}]")
                ok = False
                continue
            seen[key] = i
            ads.append(ad)
    if not ok or pool.name is None or protocol not in ("layer2", "bgp"):
        return None
    return AddressPool(
        name=pool.name,
        protocol="layer2" if protocol == "layer2" else "bgp",
        ranges=ranges,
        auto_assign=True if pool.auto_assign is None else pool.auto_assign,
        avoid_buggy_ips=bool(pool.avoid_buggy_ips),
        bgp_advertisements=tuple(ads),
    )


def convert_node_selectors(
    p: Problems, path: str, selectors: Sequence[WireNodeSelector] | None
) -> tuple[NodeSelector, ...] | None:
    out: list[NodeSelector] = []
    ok = True
    for i, sel in enumerate(selectors or ()):
        sel_path = join_path(path, i)
        labels: list[tuple[str, str]] = []
        for key, value in (sel.match_labels or {}).items():
            lpath = join_path(sel_path, "match-labels", key)
            try:
                values.check_label_key(key)
                values.check_label_value(value)
            except ValueError as exc:
                p.error(lpath, str(exc))
                ok = False
                continue
            labels.append((key, value))
        exprs: list[SelectorRequirement] = []
        for j, expr in enumerate(sel.match_expressions or ()):
            epath = join_path(sel_path, "match-expressions", j)
            req = _convert_requirement(p, epath, expr.key, expr.operator, expr.values)
            if req is None:
                ok = False
            else:
                exprs.append(req)
        out.append(NodeSelector(tuple(sorted(labels)), tuple(exprs)))
    return tuple(out) if ok else None


def _convert_requirement(
    p: Problems, path: str, key: str | None, operator: str | None, vals: list[str] | None
) -> SelectorRequirement | None:
    ok = True
    if not key:
        p.error(join_path(path, "key"), "required field is missing")
        ok = False
    else:
        try:
            values.check_label_key(key)
        except ValueError as exc:
            p.error(join_path(path, "key"), str(exc))
            ok = False
    for op in values.OPERATORS:
        if operator == op:
            break
    else:
        p.error(
            join_path(path, "operator"),
            f"{operator!r} is not a valid operator (expected one of {', '.join(values.OPERATORS)})"
            if operator
            else "required field is missing (In, NotIn, Exists or DoesNotExist)",
        )
        return None
    if op in ("In", "NotIn") and not vals:
        p.error(join_path(path, "values"), f"operator {op} needs at least one value")
        ok = False
    if op in ("Exists", "DoesNotExist") and vals:
        p.error(join_path(path, "values"), f"operator {op} takes no values")
        ok = False
    for i, v in enumerate(vals or ()):
        try:
            values.check_label_value(v)
        except ValueError as exc:
            p.error(join_path(path, "values", i), str(exc))
            ok = False
    if not ok or not key:
        return None
    return SelectorRequirement(key, op, tuple(vals or ()))


def _asn(p: Problems, path: str, value: int | None, what: str) -> int | None:
    if value is None:
        p.error(path, f"required field is missing ({what})")
        return None
    if value == 0:
        p.error(path, f"{what} must not be 0")
        return None
    if not _in_range(p, path, value, 1, UINT32_MAX):
        return None
    return value


def _ip(p: Problems, path: str, text: str | None) -> IPAddress | None:
    if text is None or text == "":
        return None
    try:
        return values.parse_ip(text)
    except ValueError as exc:
        p.error(path, str(exc))
        return None


def convert_peer(p: Problems, index: int, peer: WirePeer, bfd_profiles: set[str]) -> Peer | None:
    """One peer; ``bfd_profiles`` holds the names a ``bfd-profile`` may refer to."""
    path = join_path("peers", index)
    errors_before = len(p.errors)
    my_asn = _asn(p, join_path(path, "my-asn"), peer.my_asn, "local ASN")
    peer_asn = _asn(p, join_path(path, "peer-asn"), peer.peer_asn, "peer ASN")
    address = _ip(p, join_path(path, "peer-address"), peer.peer_address)
    if not peer.peer_address:
        p.error(join_path(path, "peer-address"), "required field is missing")
    port = 179 if peer.peer_port is None else peer.peer_port
    _in_range(p, join_path(path, "peer-port"), port, 1, 65535)
    hold: int | None = 90
    if peer.hold_time:
        try:
            hold = values.parse_hold_time(peer.hold_time)
        except ValueError as exc:
            p.error(join_path(path, "hold-time"), str(exc))
            hold = None
    keepalive = (hold or 0) // 3
    if peer.keepalive_time:
        try:
            keepalive = values.parse_keepalive_time(peer.keepalive_time)
        except ValueError as exc:
            p.error(join_path(path, "keepalive-time"), str(exc))
        else:
            if hold is not None and keepalive > hold:
                p.error(
                    join_path(path, "keepalive-time"),
                    f"keepalive time {keepalive}s must not exceed the hold time {hold}s",
                )
    router_id = _ip(p, join_path(path, "router-id"), peer.router_id)
    if router_id is not None and router_id.version != 4:
        p.error(join_path(path, "router-id"), f"router ID {peer.router_id!r} must be an IPv4 address")
    source = _ip(p, join_path(path, "source-address"), peer.source_address)
    if source is not None and address is not None and source.version != address.version:
        p.error(
            join_path(path, "source-address"),
            f"source address {source} and peer address {address} are of different families",
        )
    selectors = convert_node_selectors(p, join_path(path, "node-selectors"), peer.node_selectors)
    if peer.bfd_profile and peer.bfd_profile not in bfd_profiles:
        p.error(
            join_path(path, "bfd-profile"), f"bfd profile {peer.bfd_profile!r} does not exist in bfd-profiles"
        )
    multihop = bool(peer.ebgp_multihop)
    if multihop and my_asn is not None and my_asn == peer_asn:
        p.error(
            join_path(path, "ebgp-multihop"), "ebgp-multihop is only for eBGP peers (my-asn equals peer-asn)"
        )
    if len(p.errors) != errors_before or my_asn is None or peer_asn is None or address is None:
        return None
    assert selectors is not None
    return Peer(
        my_asn=my_asn,
        peer_asn=peer_asn,
        peer_address=address,
        peer_port=port,
        hold_time=float(hold or 0),
        keepalive_time=float(keepalive),
        router_id=router_id if isinstance(router_id, ipaddress.IPv4Address) else None,
        source_address=source,
        password=peer.password or None,
        node_selectors=selectors,
        bfd_profile=peer.bfd_profile or None,
        ebgp_multihop=multihop,
    )


def convert_bfd_profile(p: Problems, index: int, prof: WireBfdProfile) -> BfdProfile | None:
    path = join_path("bfd-profiles", index)
    ok = True
    if not prof.name:
        p.error(join_path(path, "name"), "required field is missing")
        ok = False
    defaults = BfdProfile(name="")
    numbers = {
        "receive-interval": prof.receive_interval,
        "transmit-interval": prof.transmit_interval,
        "detect-multiplier": prof.detect_multiplier,
        "echo-interval": prof.echo_interval,
        "minimum-ttl": prof.minimum_ttl,
    }
    for key, value in numbers.items():
        if value is not None:
            low, high = BFD_RANGES[key]
            ok &= _in_range(p, join_path(path, key), value, low, high)
    if not ok or not prof.name:
        return None
    return BfdProfile(
        name=prof.name,
        receive_interval=prof.receive_interval or defaults.receive_interval,
        transmit_interval=prof.transmit_interval or defaults.transmit_interval,
        detect_multiplier=prof.detect_multiplier or defaults.detect_multiplier,
        echo_interval=prof.echo_interval or defaults.echo_interval,
        echo_mode=bool(prof.echo_mode),
        passive_mode=bool(prof.passive_mode),
        minimum_ttl=prof.minimum_ttl or defaults.minimum_ttl,
    )


def convert_cluster_ip(
    p: Problems, cip: WireClusterIPAdvertisement, aliases: dict[str, Community], broken: frozenset[str]
) -> ClusterIPAdvertisement | None:
    path = "cluster-ip-advertisement"
    errors_before = len(p.errors)
    cidrs: list[IPNetwork] = []
    if not cip.cidrs:
        p.error(join_path(path, "cidrs"), "at least one CIDR is required")
    for i, text in enumerate(cip.cidrs or ()):
        cpath = join_path(path, "cidrs", i)
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
    communities = convert_community_list(
        p, join_path(path, "communities"), cip.communities or (), aliases, broken
    )
    if cip.localpref is not None:
        _in_range(p, join_path(path, "localpref"), cip.localpref, 0, UINT32_MAX)
    selectors = convert_node_selectors(p, join_path(path, "node-selectors"), cip.node_selectors)
    if len(p.errors) != errors_before or selectors is None:
        return None
    return ClusterIPAdvertisement(
        cidrs=tuple(cidrs),
        local_routes=True if cip.local_routes is None else cip.local_routes,
        external_ips=bool(cip.external_ips),
        communities=communities,
        localpref=cip.localpref,
        node_selectors=selectors,
    )


def convert_l2(p: Problems, l2: WireL2) -> L2Settings | None:
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
    return L2Settings(tuple(seen))
