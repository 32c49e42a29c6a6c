"""MetalLB CRDs → ironlb's :class:`~ironlb.config.model.Config`: the pure mapping behind ``ironlb convert``.

Since MetalLB 0.13 users configure MetalLB with CRDs, not the legacy ConfigMap
ironlb reads. This module maps a set of CRD objects onto one domain ``Config``
and reports, with its source, everything the legacy format cannot express. It
does no I/O; ``ironlb.cli.convert`` reads the files and prints.

How MetalLB's model maps onto the legacy one:

- An ``IPAddressPool`` becomes an address pool; its protocol comes from the
  advertisements that select it (by name in ``ipAddressPools``, by label in
  ``ipAddressPoolSelectors``, or all pools when an advertisement names none,
  as in MetalLB). L2 only → ``layer2``; BGP only → ``bgp`` with one
  ``bgp-advertisement`` per ``BGPAdvertisement``; both → an error unless
  ``prefer`` says which protocol wins (an ironlb pool has one protocol).
- A pool no advertisement selects: MetalLB allocates from it but announces
  nothing; ironlb needs a protocol. It becomes ``prefer`` if given, else
  ``layer2``, with a warning. ``layer2`` is the least surprising choice: its
  reach is the node's own L2 segment (ARP/NDP answers for addresses MetalLB
  already handed out from this pool), whereas ``bgp`` would push routes for
  them to every peer, i.e. into networks beyond the cluster.
- A deprecated ``AddressPool`` (v1alpha1, v1beta1) is what the legacy format
  was modelled on: it becomes an address pool with its own ``protocol`` and
  ``bgpAdvertisements`` (communities resolved like a BGPAdvertisement's), with
  a warning that the kind is deprecated. As in MetalLB, no L2Advertisement or
  BGPAdvertisement selects it, and it shares one name space with the
  IPAddressPools (a clash is an error) and one address space (overlaps are
  errors, found by the round trip below). A layer2 AddressPool answers on
  every interface, so ``l2.interfaces`` stays empty when there is one.
- Pools are ordered by name: MetalLB tries auto-assign pools in alphabetical
  order when no ``serviceAllocation.priority`` is set, ironlb in config order.
- ``L2Advertisement.interfaces`` becomes ironlb's one global ``l2.interfaces``;
  lossless only when every L2Advertisement in use lists the same interfaces.
- ``Community`` aliases become ``bgp-communities``; ``BFDProfile`` becomes a
  ``bfd-profiles`` entry; ``BGPPeer`` (v1beta1 and v1beta2) becomes a peer.
- Rules spanning items (overlapping pools, duplicate peers, aggregation
  lengths) are left to ironlb's own parser: the config is rendered with
  ``render_config`` and parsed back; its errors are mapped back to the CRD
  objects, and the parsed config must equal the built one, so the printed
  config is exactly what ironlb will run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ironlb.config import fields
from ironlb.config.model import AddressPool, BgpAdvertisement, Community, Config, L2Settings, Protocol
from ironlb.metallb import crds
from ironlb.metallb.crds import (
    BGPAdvertisementSpec,
    L2AdvertisementSpec,
    Obj,
    field_name,
)
from ironlb.metallb.decoding import Decoded, decode_all
from ironlb.metallb.documents import Manifest
from ironlb.metallb.findings import Finding, Source
from ironlb.metallb.peers import convert_peer
from ironlb.metallb.pools import Pool, address_pools, bgp_advertisement, ip_address_pools
from ironlb.metallb.profiles import bfd_profiles, communities
from ironlb.metallb.report import Report
from ironlb.metallb.roundtrip import Sources, round_trip

EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


@dataclass(frozen=True)
class Conversion:
    """The converted config (``None`` when there are errors) and every finding, in a stable order."""

    config: Config | None
    findings: tuple[Finding, ...]


def convert(manifests: Sequence[Manifest], *, prefer: Protocol | None = None) -> Conversion:
    """Map MetalLB CRD objects to a ``Config``; never raises on any input."""
    r = Report()
    decoded = decode_all(r, manifests)
    if not any(decoded.objects.values()) and not decoded.broken and not r.failed:
        r.add("error", "input", "", "no MetalLB configuration found (IPAddressPool, BGPPeer, ...)")
    built = _build(r, decoded, prefer)
    if built is None or not round_trip(r, *built):
        return Conversion(None, tuple(r.findings))
    return Conversion(built[0], tuple(r.findings))


def _build(r: Report, decoded: Decoded, prefer: Protocol | None) -> tuple[Config, Sources] | None:
    """The config and where each of its items came from; ``None`` when anything is an error."""
    objects, broken = decoded.objects, decoded.broken
    aliases = communities(r, objects["Community"])
    profiles = bfd_profiles(r, objects["BFDProfile"])
    pools, layout, interfaces = _pools(r, decoded, aliases, prefer)
    known_profiles = {p.name for p in profiles} | broken.get("BFDProfile", set())
    peers = []
    for obj in objects["BGPPeer"]:
        peer = convert_peer(r, obj.source, obj.spec, known_profiles)
        if peer is not None:
            peers.append((obj.source, peer))
    if r.failed:
        return None
    config = Config(
        pools=tuple(layout.pools),
        peers=tuple(p for _, p in peers),
        bgp_communities=tuple(sorted((name, c) for name, (c, _) in aliases.items())),
        bfd_profiles=tuple(profiles),
        l2=L2Settings(interfaces),
    )
    sources = Sources(
        pools=[pools[p.name].source for p in layout.pools],
        ads=layout.ad_sources,
        ad_fields=layout.ad_fields,
        peers=[s for s, _ in peers],
        bfd=[o.source for o in objects["BFDProfile"]],
    )
    return config, sources


def _pools(
    r: Report, decoded: Decoded, aliases: dict[str, tuple[Community, Source]], prefer: Protocol | None
) -> tuple[dict[str, Pool], Layout, tuple[str, ...]]:
    """Every pool by name, the pools' layout (protocols, advertisements), and ``l2.interfaces``."""
    objects, broken = decoded.objects, decoded.broken
    pools = ip_address_pools(r, objects["IPAddressPool"], broken)
    legacy = address_pools(r, objects["AddressPool"], aliases, broken)
    l2_ads = _advertisements(r, objects["L2Advertisement"], pools, broken, legacy)
    bgp_ads = _advertisements(r, objects["BGPAdvertisement"], pools, broken, legacy)
    bgp_values: dict[str, BgpAdvertisement | None] = {}
    for ad in bgp_ads:
        assert isinstance(ad.spec, BGPAdvertisementSpec)
        bgp_values[ad.source.name] = bgp_advertisement(r, ad.source, "spec", ad.spec, aliases)
    all_pools = {**pools, **legacy}  # names are unique across both kinds (decode_all)
    layout = _protocols(r, all_pools, l2_ads, bgp_ads, bgp_values, prefer)
    interfaces = _interfaces(
        r,
        [(ad.source, _interface_names(ad)) for ad in l2_ads if ad.pools & layout.layer2]
        + [(p.source, ()) for p in legacy.values() if p.protocol == "layer2"],
    )
    for ad in l2_ads:
        _advertisement_lossy(r, ad, layout.layer2)
    for ad in bgp_ads:
        _advertisement_lossy(r, ad, layout.bgp)
    return all_pools, layout, interfaces


# --- advertisements and protocols -----------------------------------------------------------------


@dataclass(frozen=True)
class Advertisement:
    source: Source
    spec: L2AdvertisementSpec | BGPAdvertisementSpec
    pools: frozenset[str]
    """Names of the pools this advertisement selects."""


def _advertisements(
    r: Report, objs: list[Obj], pools: dict[str, Pool], broken: dict[str, set[str]], legacy: dict[str, Pool]
) -> list[Advertisement]:
    """Each advertisement with the IPAddressPools it selects (never an AddressPool, as in MetalLB)."""
    out = []
    for obj in objs:
        spec = obj.spec
        names = [str.__str__(n) for n in spec.ip_address_pools or ()]
        wanted, problems = fields.label_selectors(spec.ip_address_pool_selectors, field_name)
        r.problems(obj.source, "spec.ipAddressPoolSelectors", problems)
        if wanted is None:
            continue
        unbroken = broken.get("IPAddressPool", set())
        for i, name in enumerate(names):
            if name in legacy or name in broken.get("AddressPool", set()):
                r.add(
                    "warning",
                    obj.source,
                    crds.join("spec.ipAddressPools", i),
                    f"{name!r} is an AddressPool: it has its own protocol and advertisements select only "
                    "IPAddressPools (in MetalLB too); remove it here",
                )
            elif name not in pools and name not in unbroken:
                r.add(
                    "warning",
                    obj.source,
                    crds.join("spec.ipAddressPools", i),
                    f"no IPAddressPool {name!r} in the input (MetalLB would announce nothing for it "
                    "either); add its manifest if it exists",
                )
        everything = not names and not spec.ip_address_pool_selectors
        chosen = frozenset(
            name
            for name, pool in pools.items()
            if everything or name in names or any(s.matches(pool.labels) for s in wanted)
        )
        out.append(Advertisement(obj.source, spec, chosen))
    return out


@dataclass
class Layout:
    pools: list[AddressPool] = field(default_factory=list)
    layer2: set[str] = field(default_factory=set)
    bgp: set[str] = field(default_factory=set)
    ad_sources: dict[tuple[int, int], Source] = field(default_factory=dict)
    """(pool index, bgp-advertisement index) → the BGPAdvertisement (or AddressPool) it came from."""
    ad_fields: dict[tuple[int, int], str] = field(default_factory=dict)
    """(pool index, bgp-advertisement index) → its field in an AddressPool (``spec.bgpAdvertisements[i]``)."""

    def advertisements(
        self, candidates: list[tuple[Source, str, BgpAdvertisement | None]]
    ) -> tuple[BgpAdvertisement, ...]:
        """The next pool's advertisements (valid, without repeats), remembering where each came from."""
        index = len(self.pools)
        ads: list[BgpAdvertisement] = []
        for source, base, value in candidates:
            if value is not None and value not in ads:
                self.ad_sources[index, len(ads)] = source
                if base:
                    self.ad_fields[index, len(ads)] = base
                ads.append(value)
        return tuple(ads)


def _protocols(
    r: Report,
    pools: dict[str, Pool],
    l2_ads: list[Advertisement],
    bgp_ads: list[Advertisement],
    bgp_values: dict[str, BgpAdvertisement | None],
    prefer: Protocol | None,
) -> Layout:
    """Each pool with its one protocol and, for bgp, its advertisements (with where they came from)."""
    layout = Layout()
    for name in sorted(pools):
        pool = pools[name]
        l2 = [ad for ad in l2_ads if name in ad.pools]
        bgp = [ad for ad in bgp_ads if name in ad.pools]
        protocol = _protocol(r, pool, l2, bgp, prefer)
        if protocol is None:
            continue
        candidates = [(ad.source, "", bgp_values.get(ad.source.name)) for ad in bgp]
        if pool.protocol is not None:  # an AddressPool: its own advertisements
            candidates = [(pool.source, base, value) for base, value in pool.bgp_ads]
        ads = layout.advertisements(candidates) if protocol == "bgp" else ()
        (layout.bgp if protocol == "bgp" else layout.layer2).add(name)
        layout.pools.append(
            AddressPool(name, protocol, pool.ranges, pool.auto_assign, pool.avoid_buggy_ips, ads)
        )
    return layout


def _protocol(
    r: Report, pool: Pool, l2: list[Advertisement], bgp: list[Advertisement], prefer: Protocol | None
) -> Protocol | None:
    """The protocol of a pool selected by the advertisements ``l2`` and ``bgp``; ``None``: an error."""
    if pool.protocol is not None:  # an AddressPool: advertisements never select it
        return pool.protocol
    if l2 and bgp:
        both = ", ".join(str(ad.source.kind + "/" + ad.source.name) for ad in l2 + bgp)
        if prefer is None:
            r.add(
                "error",
                pool.source,
                "",
                f"selected by both layer-2 and BGP advertisements ({both}); an "
                "ironlb pool has one protocol: pass --prefer bgp or --prefer layer2, or split the pool",
            )
            return None
        dropped = ", ".join(ad.source.name for ad in (l2 if prefer == "bgp" else bgp))
        other = "L2Advertisement" if prefer == "bgp" else "BGPAdvertisement"
        r.add(
            "warning",
            pool.source,
            "",
            f"selected by both protocols; --prefer {prefer}: announced by "
            f"{prefer} only, not by {other} {dropped}",
        )
        return prefer
    if l2 or bgp:
        return "layer2" if l2 else "bgp"
    protocol = prefer or "layer2"
    how = "ARP/NDP answers on the local network" if protocol == "layer2" else "BGP to every peer"
    r.add(
        "warning",
        pool.source,
        "",
        f"no L2Advertisement or BGPAdvertisement selects this pool: "
        f"MetalLB allocates from it but announces nothing; ironlb needs a protocol and uses "
        f"{protocol} ({how}{', from --prefer' if prefer else ''}). Pass --prefer to choose, or add "
        "the advertisement that selects it",
    )
    return protocol


def _interface_names(ad: Advertisement) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str.__str__(i) for i in getattr(ad.spec, "interfaces", None) or ()))


def _interfaces(r: Report, lists: list[tuple[Source, tuple[str, ...]]]) -> tuple[str, ...]:
    """The one ``l2.interfaces`` list for the L2Advertisements (and layer2 AddressPools: all) in use."""
    if not lists:
        return ()
    if len({frozenset(names) for _, names in lists}) == 1:
        return lists[0][1]
    chosen: tuple[str, ...] = ()
    if all(names for _, names in lists):
        chosen = tuple(sorted({n for _, names in lists for n in names}))
    shown = ", ".join(chosen) if chosen else "every interface"
    for source, names in lists:
        if frozenset(names) != frozenset(chosen):
            wanted = ", ".join(names) if names else "every interface"
            r.add(
                "lossy",
                source,
                "spec.interfaces",
                f"ironlb has one interface list for all layer2 pools (l2.interfaces): it answers on "
                f"{shown}, not only on {wanted}, for this advertisement's pools",
            )
    return chosen


_NODE_SELECTORS_LOSSY = {
    "L2Advertisement": "ironlb elects the announcing node among all eligible nodes, per IP, and cannot limit "
    "a pool to some nodes; label nodes that must never answer "
    f"with {EXCLUDE_LABEL}=true (this applies to every pool)",
    "BGPAdvertisement": "ironlb announces bgp pools from every node that has a session (BGPPeer "
    "nodeSelectors still apply) and cannot limit one advertisement to some nodes; if the limit holds "
    "for every pool, put it on the BGPPeers' nodeSelectors",
}


def _advertisement_lossy(r: Report, ad: Advertisement, converted: set[str]) -> None:
    """What an advertisement asks that ironlb cannot do, for ``converted`` (the pools of its protocol)."""
    if not ad.pools & converted:
        if not ad.pools:
            r.add("note", ad.source, "", "selects no IPAddressPool in the input; nothing to convert")
        return  # else its pools became the other protocol (--prefer): reported on each pool
    if ad.spec.node_selectors:
        r.add("lossy", ad.source, "spec.nodeSelectors", _NODE_SELECTORS_LOSSY[ad.source.kind])
    if isinstance(ad.spec, BGPAdvertisementSpec) and ad.spec.peers:
        r.add(
            "lossy",
            ad.source,
            "spec.peers",
            "ironlb announces every bgp pool to every peer of the node; "
            "a per-advertisement peer list cannot be expressed",
        )
