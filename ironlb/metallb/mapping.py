"""MetalLB CRDs → ironlb's :class:`~ironlb.config.model.Config`: the pure mapping behind ``ironlb convert``.

Since MetalLB 0.13 users configure MetalLB with CRDs. ironlb's domain model is
MetalLB's (pools, advertisements that select them, peers), so the mapping is
mostly one to one: it builds the domain config from the objects
(:attr:`Conversion.model`, alone from :func:`to_model`: what ``ironlb convert``
writes as resources), then projects it onto the legacy ConfigMap that
``ironlb convert --to configmap`` prints (:attr:`Conversion.config`, by
:func:`ironlb.config.legacy.legacy_config`), and reports with its source every
setting the ConfigMap cannot carry. It does no I/O; ``ironlb.cli.convert``
reads the files and prints.

- An ``IPAddressPool`` becomes a pool with its ``serviceAllocation``; an
  ``L2Advertisement`` or ``BGPAdvertisement`` keeps its name, node selectors,
  interfaces or peers and attributes, and the pools it selects (by name in
  ``ipAddressPools``, by label in ``ipAddressPoolSelectors``, or all
  IPAddressPools when it names none, as in MetalLB). One that selects nothing
  is left out (a note).
- A deprecated ``AddressPool`` (v1alpha1, v1beta1) is what the legacy format
  was modelled on: a pool with one L2Advertisement, or one BGPAdvertisement per
  ``bgpAdvertisements`` item (communities resolved like a BGPAdvertisement's),
  named as the ConfigMap build names them, with a warning that the kind is
  deprecated. As in MetalLB, no L2Advertisement or BGPAdvertisement selects it,
  and it shares one name space with the IPAddressPools (a clash is an error)
  and one address space (overlaps are errors, found by the round trip below).
- Pools are ordered by name: MetalLB tries auto-assign pools in alphabetical
  order when no ``serviceAllocation.priority`` is set, ironlb in config order.
- ``Community`` aliases become ``bgp-communities``; ``BFDProfile`` becomes a
  BFD profile; ``BGPPeer`` (v1beta1 and v1beta2) becomes a peer.
- Projected onto the ConfigMap, a pool selected by both kinds of advertisement
  is an error unless ``prefer`` says which protocol wins; one no advertisement
  selects becomes ``prefer`` or ``layer2`` with a warning (MetalLB allocates
  from it but announces nothing); everything else the ConfigMap cannot say is
  lossy (see ``ironlb.config.legacy``), reported on the object it came from.
- Rules spanning items (overlapping pools, duplicate peers, aggregation
  lengths) are left to ironlb's own parser: the ConfigMap is rendered and
  parsed back; its errors are mapped back to the CRD objects, and the parsed
  config must equal the projection, so the printed config is exactly what
  ironlb will run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ironlb.config import fields
from ironlb.config.build import bgp_advertisement_name
from ironlb.config.errors import join_path
from ironlb.config.legacy import legacy_config
from ironlb.config.model import (
    AddressPool,
    BgpAdvertisement,
    Community,
    Config,
    L2Advertisement,
    Protocol,
)
from ironlb.config.resources.wire import field_name
from ironlb.metallb.crds import L2AdvertisementSpec, Obj
from ironlb.metallb.decoding import Decoded, decode_all
from ironlb.metallb.documents import Manifest
from ironlb.metallb.findings import Finding, Source
from ironlb.metallb.peers import convert_peer
from ironlb.metallb.pools import Pool, address_pools, bgp_advertisement, ip_address_pools
from ironlb.metallb.profiles import bfd_profiles, communities
from ironlb.metallb.report import Report
from ironlb.metallb.roundtrip import Sources, round_trip


@dataclass(frozen=True)
class Conversion:
    """The converted config and every finding, in a stable order.

    ``config`` is the legacy ConfigMap's (``None`` when there are errors);
    ``model`` is the MetalLB objects as ironlb's domain config, before that
    projection (``None`` when the objects themselves have errors).
    """

    config: Config | None
    findings: tuple[Finding, ...]
    model: Config | None = None


def to_model(manifests: Sequence[Manifest]) -> Conversion:
    """Map MetalLB CRD objects to ironlb's domain ``Config`` (:attr:`Conversion.model`), with the findings
    about the objects themselves; no projection onto the ConfigMap (``config`` is ``None``). What
    ``ironlb convert`` writes as ``ironlb.io`` resources. Never raises on any input."""
    r = Report()
    built = _model(r, manifests)
    return Conversion(None, tuple(r.findings), None if built is None else built[0])


NOTHING_FOUND = (
    "no MetalLB configuration found (IPAddressPool, BGPPeer, ...); from a cluster where ironlb is installed "
    "too, name MetalLB's kinds with their group (kubectl get ipaddresspools.metallb.io,...): the short "
    "names list ironlb's"
)


def _model(r: Report, manifests: Sequence[Manifest]) -> tuple[Config, Sources] | None:
    decoded = decode_all(r, manifests)
    if not any(decoded.objects.values()) and not decoded.broken and not r.failed:
        r.add("error", "input", "", NOTHING_FOUND)
    return _build(r, decoded)


def convert(manifests: Sequence[Manifest], *, prefer: Protocol | None = None) -> Conversion:
    """Map MetalLB CRD objects to a ``Config``, projected onto the ConfigMap; never raises on any input."""
    r = Report()
    built = _model(r, manifests)
    if built is None:
        return Conversion(None, tuple(r.findings))
    model, sources = built
    legacy = legacy_config(model, prefer)
    for loss in legacy.losses:
        where, path = sources.of(loss)
        r.add(loss.severity, where, path, loss.message)
    if r.failed or not round_trip(r, legacy, sources):
        return Conversion(None, tuple(r.findings), model)
    return Conversion(legacy.config, tuple(r.findings), model)


def _build(r: Report, decoded: Decoded) -> tuple[Config, Sources] | None:
    """The domain config and where each of its items came from; ``None`` when anything is an error."""
    objects, broken = decoded.objects, decoded.broken
    aliases = communities(r, objects["Community"])
    profiles = bfd_profiles(r, objects["BFDProfile"])
    pools = ip_address_pools(r, objects["IPAddressPool"], broken)
    legacy = address_pools(r, objects["AddressPool"], aliases, broken)
    all_pools = {**pools, **legacy}  # names are unique across both kinds (decode_all)
    ads = _Advertisements()
    ads.selecting(r, objects["L2Advertisement"], pools, broken, legacy, aliases)
    ads.selecting(r, objects["BGPAdvertisement"], pools, broken, legacy, aliases)
    ads.own(legacy)
    known_profiles = {p.name for p in profiles} | broken.get("BFDProfile", set())
    peers = []
    for obj in objects["BGPPeer"]:
        peer = convert_peer(r, obj.source, obj.spec, known_profiles)
        if peer is not None:
            peers.append((obj.source, peer))
    _unknown_peers(r, ads, {s.name for s, _ in peers} | broken.get("BGPPeer", set()))
    if r.failed:
        return None
    names = sorted(all_pools)
    config = Config(
        pools=tuple(_pool(all_pools[name]) for name in names),
        peers=tuple(p for _, p in peers),
        bgp_communities=tuple(sorted((name, c) for name, (c, _) in aliases.items())),
        bfd_profiles=tuple(profiles),
        l2_advertisements=tuple(ad for ad, _ in ads.l2),
        bgp_advertisements=tuple(ad for ad, _ in ads.bgp),
    )
    sources = Sources(
        pools=[all_pools[name].source for name in names],
        l2=[where for _, where in ads.l2],
        bgp=[where for _, where in ads.bgp],
        peers=[s for s, _ in peers],
        bfd=[o.source for o in objects["BFDProfile"]],
    )
    return config, sources


def _pool(pool: Pool) -> AddressPool:
    return AddressPool(pool.source.name, pool.ranges, pool.auto_assign, pool.avoid_buggy_ips, pool.allocation)


# --- advertisements -------------------------------------------------------------------------------


@dataclass
class _Advertisements:
    """The domain advertisements, each with where it came from (an object, or a field of an AddressPool)."""

    l2: list[tuple[L2Advertisement, tuple[Source, str]]] = field(default_factory=list)
    bgp: list[tuple[BgpAdvertisement, tuple[Source, str]]] = field(default_factory=list)

    def selecting(
        self,
        r: Report,
        objs: list[Obj],
        pools: dict[str, Pool],
        broken: dict[str, set[str]],
        legacy: dict[str, Pool],
        aliases: dict[str, tuple[Community, Source]],
    ) -> None:
        """L2Advertisements or BGPAdvertisements, each with the IPAddressPools it selects."""
        for obj in objs:
            chosen = _selected_pools(r, obj, pools, broken, legacy)
            if chosen is None:
                continue
            if not chosen[1]:
                r.add("note", obj.source, "", "selects no IPAddressPool in the input; nothing to convert")
                continue
            every, names = chosen
            selected = () if every and not legacy else names
            spec = obj.spec
            nodes, problems = fields.label_selectors(spec.node_selectors, field_name)
            r.problems(obj.source, "spec.nodeSelectors", problems)
            if isinstance(spec, L2AdvertisementSpec):
                interfaces = tuple(dict.fromkeys(str.__str__(i) for i in spec.interfaces or ()))
                ad = L2Advertisement(obj.source.name, selected, nodes or (), interfaces)
                self.l2.append((ad, (obj.source, "spec")))
                continue
            attrs = bgp_advertisement(r, obj.source, "spec", spec, aliases)
            if attrs is not None and nodes is not None:
                peers = tuple(dict.fromkeys(str.__str__(p) for p in spec.peers or ()))
                bgp = BgpAdvertisement(
                    obj.source.name,
                    selected,
                    attrs.aggregation_length,
                    attrs.aggregation_length_v6,
                    attrs.localpref,
                    attrs.communities,
                    nodes,
                    peers,
                )
                self.bgp.append((bgp, (obj.source, "spec")))

    def own(self, legacy: dict[str, Pool]) -> None:
        """The advertisements of the deprecated AddressPools, named as the ConfigMap build names them
        (``-addresspool`` added when an advertisement object already has that name)."""
        for name in sorted(legacy):
            pool = legacy[name]
            if pool.protocol == "layer2":
                ad_name = self._free_name(self.l2, name)
                self.l2.append((L2Advertisement(ad_name, (name,)), (pool.source, "spec")))
                continue
            items = pool.bgp_ads or (("spec", BgpAdvertisement()),)
            seen: set[object] = set()
            for i, (base, attrs) in enumerate(items):
                if attrs.attributes in seen:
                    continue  # a repeated item (MetalLB keeps them in a map)
                seen.add(attrs.attributes)
                ad_name = self._free_name(self.bgp, bgp_advertisement_name(name, i))
                ad = BgpAdvertisement(
                    ad_name,
                    (name,),
                    attrs.aggregation_length,
                    attrs.aggregation_length_v6,
                    attrs.localpref,
                    attrs.communities,
                )
                self.bgp.append((ad, (pool.source, base)))

    @staticmethod
    def _free_name(
        ads: Sequence[tuple[L2Advertisement | BgpAdvertisement, tuple[Source, str]]], name: str
    ) -> str:
        taken = {ad.name for ad, _ in ads}
        return name if name not in taken else f"{name}-addresspool"


def _selected_pools(
    r: Report, obj: Obj, pools: dict[str, Pool], broken: dict[str, set[str]], legacy: dict[str, Pool]
) -> tuple[bool, tuple[str, ...]] | None:
    """Whether ``obj`` selects every IPAddressPool, and the names of those it selects (never an AddressPool,
    as in MetalLB); ``None`` when its pool selectors are wrong."""
    spec = obj.spec
    names = [str.__str__(n) for n in spec.ip_address_pools or ()]
    wanted, problems = fields.label_selectors(spec.ip_address_pool_selectors, field_name)
    r.problems(obj.source, "spec.ipAddressPoolSelectors", problems)
    if wanted is None:
        return None
    unbroken = broken.get("IPAddressPool", set())
    for i, name in enumerate(names):
        if name in legacy or name in broken.get("AddressPool", set()):
            r.add(
                "warning",
                obj.source,
                join_path("spec.ipAddressPools", i),
                f"{name!r} is an AddressPool: it has its own protocol and advertisements select only "
                "IPAddressPools (in MetalLB too); remove it here",
            )
        elif name not in pools and name not in unbroken:
            r.add(
                "warning",
                obj.source,
                join_path("spec.ipAddressPools", i),
                f"no IPAddressPool {name!r} in the input (MetalLB would announce nothing for it "
                "either); add its manifest if it exists",
            )
    every = not names and not spec.ip_address_pool_selectors
    chosen = tuple(
        sorted(
            name
            for name, pool in pools.items()
            if every or name in names or any(s.matches(pool.labels) for s in wanted)
        )
    )
    return every, chosen


def _unknown_peers(r: Report, ads: _Advertisements, known: set[str]) -> None:
    """A BGPAdvertisement's ``peers`` entry naming no BGPPeer of the input: a warning (MetalLB announces to
    the peers that exist)."""
    for ad, (source, _) in ads.bgp:
        for i, name in enumerate(ad.peers):
            if name not in known:
                r.add(
                    "warning",
                    source,
                    join_path("spec.peers", i),
                    f"no BGPPeer {name!r} in the input: nothing is announced to it; "
                    "add its manifest if it exists",
                )
