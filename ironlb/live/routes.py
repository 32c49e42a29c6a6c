"""The BGP routes before and after a config change, computed only where they can differ.

Why: every node's BGP decision walks every Service (``ironlb.announce.bgp.planned_bgp``);
for 10,000 Services and a few nodes that is most of a second per side, and a plan needs
two sides. Most changes (a pool grown, shrunk, added, its service allocation changed) leave
the BGP settings alone: peers, ClusterIP advertisements, communities and BFD profiles are
equal on both sides. Then a Service whose IPs and pool are the same on both sides, and whose
pool the same BGPAdvertisements select, sends the same routes, and only the prefixes of the
Services that change can differ.
Those prefixes may be shared (an aggregation length shorter than the host route, a shared
IP), so every Service with an address inside one of them is computed too: a route is the
merge of all its contributors, and all of them are there. Everything else is equal on both
sides and left out of both. When a setting of every node differs (a peer, a ClusterIP
advertisement...), both sides are computed whole.

``tests/live/test_routes.py`` checks over generated configs and Services that the difference
is the same either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ironlb.announce.bgp import NodeRoutes, planned_bgp
from ironlb.announce.inputs import AnnounceInputs, ServiceInfo
from ironlb.config.model import Config, IPAddress

Assigned = Mapping[str, tuple[IPAddress, ...]]


@dataclass(frozen=True)
class BgpSides:
    before: tuple[NodeRoutes, ...]
    after: tuple[NodeRoutes, ...]
    services: frozenset[str] | None
    """The Services both sides were computed for; ``None``: all of them (a BGP setting changed)."""


def bgp_settings(config: Config) -> tuple[object, ...]:
    """What decides every node's BGP sessions and routes whatever the pools: peers, ClusterIP
    advertisements, community names, BFD profiles."""
    return (config.peers, config.cluster_ip_advertisements, config.bgp_communities, config.bfd_profiles)


def pool_advertising(config: Config, pool: str | None) -> tuple[object, ...]:
    """What decides the routes of a pool's IPs: the attributes, node selectors and peers of each
    BGPAdvertisement selecting it (their names only label the routes)."""
    if pool is None:
        return ()
    return tuple(
        (
            ad.aggregation_length,
            ad.aggregation_length_v6,
            ad.localpref,
            ad.communities,
            ad.node_selectors,
            ad.peers,
        )
        for ad in config.bgp_advertisements_for(pool)
    )


def _pool_names(config: Config, ips: Iterable[IPAddress]) -> tuple[str | None, ...]:
    return tuple(p.name if (p := config.pool_of(ip)) is not None else None for ip in ips)


def _lengths(config: Config) -> dict[int, frozenset[int]]:
    """Per IP version, every prefix length a route can have: the aggregation lengths and the host's."""
    v4 = {32} | {ad.aggregation_length for ad in config.bgp_advertisements}
    v6 = {128} | {ad.aggregation_length_v6 for ad in config.bgp_advertisements}
    return {4: frozenset(v4), 6: frozenset(v6)}


def _keys(ip: IPAddress, lengths: Mapping[int, frozenset[int]]) -> Iterable[tuple[int, int, int]]:
    """The prefixes ``ip`` falls into, one per length, as (version, length, network bits)."""
    bits = ip.max_prefixlen
    value = int(ip)
    for length in lengths[ip.version]:
        yield ip.version, length, value >> (bits - length)


def _addresses(svc: ServiceInfo, before: Assigned, after: Assigned) -> Iterable[IPAddress]:
    yield from before.get(svc.key, ())
    yield from after.get(svc.key, ())
    yield from svc.external_ips
    yield from svc.cluster_ips


def changed_services(
    before_config: Config, after_config: Config, before: Assigned, after: Assigned, keys: Iterable[str]
) -> set[str]:
    """The Services whose IPs, the pool of their IPs or that pool's BGPAdvertisements differ."""
    out: set[str] = set()
    advertising: dict[tuple[str | None, str | None], bool] = {}
    for key in keys:
        b, a = before.get(key, ()), after.get(key, ())
        if set(b) != set(a):
            out.add(key)
            continue
        for pair in zip(_pool_names(before_config, b), _pool_names(after_config, b), strict=True):
            same = advertising.get(pair)
            if same is None:
                same = advertising[pair] = pair[0] == pair[1] and pool_advertising(
                    before_config, pair[0]
                ) == pool_advertising(after_config, pair[1])
            if not same:
                out.add(key)
                break
    return out


def _affected(inputs: AnnounceInputs, changed: set[str], before: Assigned, after: Assigned) -> frozenset[str]:
    """``changed`` plus every Service with an address inside a prefix a changed one touches."""
    lengths = _lengths(inputs.config)
    touched: set[tuple[int, int, int]] = set()
    for svc in inputs.services:
        if svc.key in changed:
            for ip in _addresses(svc, before, after):
                touched.update(_keys(ip, lengths))
    if not touched:
        return frozenset(changed)
    return frozenset(
        svc.key
        for svc in inputs.services
        if svc.key in changed
        or any(k in touched for ip in _addresses(svc, before, after) for k in _keys(ip, lengths))
    )


def bgp_sides(
    before_inputs: AnnounceInputs,
    after_inputs: AnnounceInputs,
    before: Assigned,
    after: Assigned,
    also: Iterable[str] = (),
) -> BgpSides:
    """The routes of every node before (``before_inputs.config``, IPs ``before``) and after.

    ``also``: Services to compute in any case (so that all their announcements are known)."""
    if bgp_settings(before_inputs.config) != bgp_settings(after_inputs.config):
        return BgpSides(planned_bgp(before_inputs, before), planned_bgp(after_inputs, after), None)
    keys = [s.key for s in before_inputs.services]
    changed = changed_services(before_inputs.config, after_inputs.config, before, after, keys) | set(also)
    subset = _affected(before_inputs, changed, before, after)
    services = tuple(s for s in before_inputs.services if s.key in subset)
    return BgpSides(
        planned_bgp(replace(before_inputs, services=services), before),
        planned_bgp(replace(after_inputs, services=services), after),
        subset,
    )
