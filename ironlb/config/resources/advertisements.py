"""L2Advertisement, BGPAdvertisement and ClusterIPAdvertisement objects → domain advertisements.

An advertisement selects pools by name (``ipAddressPools``) and by label
(``ipAddressPoolSelectors``, matched against the pools' labels now, when the config is
built: the domain holds pool names). Selecting none of the two means every pool
(MetalLB's rule), which the domain says with an empty ``pools``; an advertisement whose
names and selectors match no pool is *dropped* from the config (a warning: it announces
nothing), never kept with an empty ``pools``, which would mean every pool. Pools of the
ConfigMap have no labels; they are selected by name, or by "every pool".

Names that refer to other objects (pools, peers, community aliases) must exist in the
config (resources or ConfigMap), else it is an error; a BGPAdvertisement's aggregation
lengths are checked against every pool it selects, naming the pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ironlb.config import fields, values
from ironlb.config.fields import AdvertisementFields
from ironlb.config.model import (
    AddressRange,
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Community,
    L2Advertisement,
    LabelSelector,
)
from ironlb.config.resources.objects import Report, Resource
from ironlb.config.resources.schemaparts import SERVICE_SELECTORS_RULE
from ironlb.config.resources.wire import BGPAdvertisementSpec, ClusterIPAdvertisementSpec, field_name
from ironlb.config.result import ObjectRef

ALIASES_DEFINED_IN = "any Community object or the ConfigMap's bgp-communities"


@dataclass(frozen=True)
class PoolView:
    """What an advertisement sees of a pool: its name, labels (ConfigMap pools: none) and addresses."""

    name: str
    labels: Mapping[str, str]
    ranges: tuple[AddressRange, ...]


@dataclass(frozen=True)
class Context:
    """What advertisements may refer to, from every input."""

    pools: Sequence[PoolView]
    """Every usable pool, in config order."""
    pool_names: frozenset[str]
    """Every pool name defined (also of pools with errors: not reported again as unknown)."""
    peer_names: frozenset[str]
    aliases: Mapping[str, Community]
    broken_aliases: frozenset[str] = frozenset()
    check_references: bool = True
    """False while an input that may define the names (the ConfigMap) has errors of its own."""


def _unique(r: Report, ref: ObjectRef, path: str, items: Sequence[str]) -> tuple[str, ...]:
    """``items`` without repeats; a repeat is an error (the API server refuses it too: a set)."""
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        if item in first:
            r.error(ref, f"{path}[{i}]", f"duplicate of {path.rpartition('.')[2]}[{first[item]}]")
        else:
            first[item] = i
    return tuple(first)


def _selection(r: Report, res: Resource, ctx: Context) -> tuple[str, ...] | None:
    """The pools ``res`` selects: ``()`` for every pool, ``None`` for none (the advertisement is dropped)."""
    spec = res.spec
    names = _unique(r, res.ref, "spec.ipAddressPools", [str(n) for n in spec.ip_address_pools or ()])
    selectors, problems = fields.label_selectors(spec.ip_address_pool_selectors, field_name)
    r.fields(res.ref, ("spec", "ipAddressPoolSelectors"), problems)
    if not names and not spec.ip_address_pool_selectors:
        return ()
    for i, name in enumerate(spec.ip_address_pools or ()):
        if name not in ctx.pool_names and ctx.check_references:
            r.error(
                res.ref,
                f"spec.ipAddressPools[{i}]",
                f"no pool {name!r}: no IPAddressPool and no ConfigMap address pool has that name",
            )
    chosen = tuple(
        p.name for p in ctx.pools if p.name in names or any(s.matches(p.labels) for s in selectors or ())
    )
    if not chosen:
        r.warn(
            res.ref,
            "spec",
            "selects no pool (by ipAddressPools or ipAddressPoolSelectors): it announces nothing",
        )
        return None
    return chosen


def _common(
    r: Report, res: Resource, ctx: Context
) -> tuple[tuple[str, ...] | None, tuple[LabelSelector, ...] | None]:
    """The pools selected and the node selectors; MetalLB's ``serviceSelectors`` refused."""
    if res.spec.service_selectors:
        r.error(res.ref, "spec.serviceSelectors", SERVICE_SELECTORS_RULE["message"])
    pools = _selection(r, res, ctx)
    nodes, problems = fields.label_selectors(res.spec.node_selectors, field_name)
    r.fields(res.ref, ("spec", "nodeSelectors"), problems)
    return pools, nodes


def _peers(r: Report, ref: ObjectRef, names: Sequence[str] | None, ctx: Context) -> tuple[str, ...]:
    out = _unique(r, ref, "spec.peers", [str(n) for n in names or ()])
    for i, name in enumerate(names or ()):
        if name not in ctx.peer_names and ctx.check_references:
            r.error(
                ref,
                f"spec.peers[{i}]",
                f"no peer {name!r}: no BGPPeer has that name (a ConfigMap peer is named peer-<address>)",
            )
    return out


def l2_advertisement(r: Report, res: Resource, ctx: Context) -> L2Advertisement | None:
    """One L2Advertisement; ``None`` when it is wrong (reported) or selects no pool."""
    errors = r.count()
    pools, nodes = _common(r, res, ctx)
    interfaces, problems = fields.interface_patterns(res.spec.interfaces)
    r.fields(res.ref, ("spec", "interfaces"), problems)
    if r.count() != errors or res.broken or pools is None or nodes is None:
        return None
    return L2Advertisement(res.ref.name, pools, nodes, interfaces)


def bgp_advertisement(r: Report, res: Resource, ctx: Context) -> BgpAdvertisement | None:
    """One BGPAdvertisement; ``None`` when it is wrong (reported) or selects no pool."""
    spec: BGPAdvertisementSpec = res.spec
    errors = r.count()
    pools, nodes = _common(r, res, ctx)
    communities = _unique(r, res.ref, "spec.communities", [str(c) for c in spec.communities or ()])
    raw = AdvertisementFields(
        spec.aggregation_length, spec.aggregation_length_v6, spec.local_pref, communities
    )
    ad, problems = fields.advertisement(
        raw,
        (),
        ctx.aliases,
        field_name,
        name=res.ref.name,
        pools=pools or (),
        broken=ctx.broken_aliases,
        defined_in=ALIASES_DEFINED_IN,
    )
    r.fields(res.ref, ("spec",), problems)
    peers = _peers(r, res.ref, spec.peers, ctx)
    if pools is not None:
        _aggregation(r, res.ref, spec, [p for p in ctx.pools if not pools or p.name in pools])
    if r.count() != errors or res.broken or ad is None or pools is None or nodes is None:
        return None
    return BgpAdvertisement(
        ad.name,
        ad.pools,
        ad.aggregation_length,
        ad.aggregation_length_v6,
        ad.localpref,
        ad.communities,
        nodes,
        peers,
    )


def _aggregation(r: Report, ref: ObjectRef, spec: BGPAdvertisementSpec, pools: Sequence[PoolView]) -> None:
    """No aggregation wider than an address entry of a selected pool (MetalLB's rule), naming the pool.

    Lengths out of range are the field rules' to report; they are not compared here."""
    lengths = {
        4: ("aggregationLength", 32 if spec.aggregation_length is None else spec.aggregation_length, 32),
        6: (
            "aggregationLengthV6",
            128 if spec.aggregation_length_v6 is None else spec.aggregation_length_v6,
            128,
        ),
    }
    for pool in pools:
        for entry in pool.ranges:
            key, want, most = lengths[entry.family]
            widest = values.widest_prefix(entry)
            if 0 <= want <= most and want < widest:
                r.error(
                    ref,
                    f"spec.{key}",
                    f"{want} is shorter than prefix /{widest} of {entry.text or str(entry.first)!r} in pool "
                    f"{pool.name!r} (aggregating beyond the pool's own addresses is not allowed)",
                )


def cluster_ip_advertisement(r: Report, res: Resource, ctx: Context) -> ClusterIPAdvertisement | None:
    spec: ClusterIPAdvertisementSpec = res.spec
    errors = r.count()
    communities = _unique(r, res.ref, "spec.communities", [str(c) for c in spec.communities or ()])
    raw = fields.ClusterIPFields(
        spec.cidrs, spec.local_routes, spec.external_ips, communities, spec.local_pref, spec.node_selectors
    )
    ad, problems = fields.cluster_ip_advertisement(
        raw,
        ctx.aliases,
        field_name,
        name=res.ref.name,
        broken=ctx.broken_aliases,
        defined_in=ALIASES_DEFINED_IN,
    )
    r.fields(res.ref, ("spec",), problems)
    peers = _peers(r, res.ref, spec.peers, ctx)
    if r.count() != errors or res.broken or ad is None:
        return None
    return replace(ad, peers=peers)
