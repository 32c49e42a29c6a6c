"""What of a config the legacy ConfigMap format can say: the projection onto it, and every loss by name.

The ConfigMap is pool-centric: each pool has one ``protocol``; a ``layer2`` pool
is answered for from any eligible node on the one ``l2.interfaces`` list, a
``bgp`` pool is announced from every node with a session to every peer, with the
pool's ``bgp-advertisements``; every pool admits every Service; there is one
``cluster-ip-advertisement``. The domain (``ironlb.config.model``) says more.
:func:`legacy_config` maps a domain config onto what the ConfigMap can hold and
names, object by object and field by field, everything that does not survive:

- a pool announced by both protocols: an error, unless ``prefer`` picks one
  (a warning naming the advertisements dropped);
- a pool no advertisement selects (allocated from, announced by nobody): the
  ConfigMap needs a protocol, so it becomes ``prefer`` or ``layer2`` (a warning;
  layer 2 reaches only the node's own segment, BGP would push routes beyond it);
- node selectors of an advertisement, per-advertisement peers, L2Advertisements
  whose interface lists differ (the ConfigMap's one list is their union when all
  name some, else every interface), service allocation, a peer's graceful-restart
  setting or password Secret, ClusterIP advertisements past the first or with
  peers: lossy (a peer's ``graceful_restart: true`` only a note: the speaker's
  default does it).

The projection is itself a domain config, shaped exactly as the ConfigMap build
(``ironlb.config.build``) makes one, so ``render_config`` writes it and parsing
that text gives it back unchanged; projecting it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ironlb.config import build
from ironlb.config.model import (
    AddressPool,
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Config,
    L2Advertisement,
    Peer,
    Protocol,
    selects_everything,
)

Severity = Literal["error", "lossy", "warning", "note"]
"""As ``ironlb convert`` reports it: ``error`` blocks the output, ``lossy`` needs consent."""
Kind = Literal["AddressPool", "L2Advertisement", "BGPAdvertisement", "Peer", "ClusterIPAdvertisement"]

EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
PASSWORD_HINT = (
    "ironlb reads a ConfigMap peer's MD5 password from its password field or from the Secret "
    "ironlb-bgp-passwords in ironlb-system (one key per peer address, IPv6 ':' written '_'), mounted into "
    "the speaker at --bgp-password-dir, e.g. kubectl -n ironlb-system create secret generic "
    "ironlb-bgp-passwords --from-literal={address}=PASSWORD"
)


@dataclass(frozen=True)
class Loss:
    """One thing of the domain config the ConfigMap cannot say, on one object (``index`` in its tuple)."""

    severity: Severity
    kind: Kind
    index: int
    name: str
    field: str
    """The domain field (``node_selectors``, ``allocation.priority``); empty: the whole object."""
    message: str

    def __str__(self) -> str:
        where = f"{self.kind}/{self.name}" + (f": {self.field}" if self.field else "")
        return f"{self.severity}: {where}: {self.message}"


@dataclass(frozen=True)
class Legacy:
    """A config as the ConfigMap holds it, and what did not make it there."""

    config: Config
    losses: tuple[Loss, ...] = ()
    bgp_origins: dict[tuple[int, int], int] = field(default_factory=dict)
    """(pool index, ``bgp-advertisements`` index) → index of the domain BGP advertisement it came from."""

    @property
    def exact(self) -> bool:
        """Nothing but notes: the ConfigMap says what the domain config says."""
        return all(loss.severity == "note" for loss in self.losses)


class NotExpressible(ValueError):
    """The config says something the legacy ConfigMap cannot (``losses`` say what)."""

    def __init__(self, losses: Sequence[Loss]) -> None:
        self.losses = tuple(losses)
        super().__init__("; ".join(str(loss) for loss in self.losses))


def pool_protocol(config: Config, pool: str) -> Protocol | None:
    """The ConfigMap protocol of ``pool``: ``layer2`` or ``bgp`` when one kind of advertisement selects it."""
    l2, bgp = bool(config.l2_advertisements_for(pool)), bool(config.bgp_advertisements_for(pool))
    if l2 == bgp:
        return None
    return "layer2" if l2 else "bgp"


def legacy_config(config: Config, prefer: Protocol | None = None) -> Legacy:
    """``config`` projected onto the ConfigMap format, with every loss (see the module docstring)."""
    losses: list[Loss] = []
    protocols = _protocols(config, prefer, losses)
    interfaces = _interfaces(config, protocols, losses)
    _advertisement_losses(config, protocols, losses)
    pools, origins = _pools(config, protocols, losses)
    l2_ads: list[L2Advertisement] = []
    bgp_ads: list[BgpAdvertisement] = []
    for pool in pools:
        l2, bgp = build.legacy_pool_advertisements(pool, interfaces)
        l2_ads += l2
        bgp_ads += bgp
    projected = Config(
        pools=tuple(p.pool for p in pools),
        peers=_peers(config, losses),
        bgp_communities=config.bgp_communities,
        bfd_profiles=config.bfd_profiles,
        l2_advertisements=tuple(l2_ads),
        bgp_advertisements=tuple(bgp_ads),
        cluster_ip_advertisements=_cluster_ip(config, losses),
    )
    return Legacy(projected, tuple(losses), origins)


def _names(kind: str, ads: Sequence[L2Advertisement | BgpAdvertisement]) -> str:
    return ", ".join(f"{kind}/{ad.name}" for ad in ads)


def _protocols(config: Config, prefer: Protocol | None, losses: list[Loss]) -> dict[str, Protocol]:
    """Each pool's one protocol (absent: both protocols and no ``prefer``, an error)."""
    out: dict[str, Protocol] = {}
    for i, pool in enumerate(config.pools):
        l2 = config.l2_advertisements_for(pool.name)
        bgp = config.bgp_advertisements_for(pool.name)

        def loss(severity: Severity, message: str, i: int = i, pool: AddressPool = pool) -> None:
            losses.append(Loss(severity, "AddressPool", i, pool.name, "", message))

        if l2 and bgp:
            both = f"{_names('L2Advertisement', l2)}, {_names('BGPAdvertisement', bgp)}"
            if prefer is None:
                loss(
                    "error",
                    f"selected by both layer-2 and BGP advertisements ({both}); a ConfigMap pool has one "
                    "protocol: pass --prefer bgp or --prefer layer2, or split the pool",
                )
                continue
            dropped = ", ".join(ad.name for ad in (l2 if prefer == "bgp" else bgp))
            other = "L2Advertisement" if prefer == "bgp" else "BGPAdvertisement"
            loss(
                "warning",
                f"selected by both protocols; --prefer {prefer}: announced by {prefer} only, "
                f"not by {other} {dropped}",
            )
            out[pool.name] = prefer
        elif l2 or bgp:
            out[pool.name] = "layer2" if l2 else "bgp"
        else:
            protocol = prefer or "layer2"
            how = "ARP/NDP answers on the local network" if protocol == "layer2" else "BGP to every peer"
            loss(
                "warning",
                "no L2Advertisement or BGPAdvertisement selects this pool: ironlb allocates from it but "
                f"announces nothing; a ConfigMap pool needs a protocol and uses {protocol} ({how}"
                f"{', from --prefer' if prefer else ''}). Pass --prefer to choose, or add the advertisement "
                "that selects it",
            )
            out[pool.name] = protocol
    return out


def _used(config: Config, ad: L2Advertisement | BgpAdvertisement, protocols: dict[str, Protocol]) -> bool:
    """Whether ``ad`` selects a pool the ConfigMap announces with the ad's protocol."""
    mine: Protocol = "layer2" if isinstance(ad, L2Advertisement) else "bgp"
    return any(ad.selects_pool(p.name) and protocols.get(p.name) == mine for p in config.pools)


def _interfaces(config: Config, protocols: dict[str, Protocol], losses: list[Loss]) -> tuple[str, ...]:
    """The one ``l2.interfaces`` list for the L2Advertisements in use; a loss on each that differs."""
    used = [(i, ad) for i, ad in enumerate(config.l2_advertisements) if _used(config, ad, protocols)]
    if not used:
        return ()
    if len({frozenset(ad.interfaces) for _, ad in used}) == 1:
        return used[0][1].interfaces
    chosen: tuple[str, ...] = ()
    if all(ad.interfaces for _, ad in used):
        chosen = tuple(sorted({n for _, ad in used for n in ad.interfaces}))
    shown = ", ".join(chosen) if chosen else "every interface"
    for i, ad in used:
        if frozenset(ad.interfaces) != frozenset(chosen):
            wanted = ", ".join(ad.interfaces) if ad.interfaces else "every interface"
            losses.append(
                Loss(
                    "lossy",
                    "L2Advertisement",
                    i,
                    ad.name,
                    "interfaces",
                    "the ConfigMap has one interface list for all layer2 pools (l2.interfaces): it answers "
                    f"on {shown}, not only on {wanted}, for this advertisement's pools",
                )
            )
    return chosen


_NODE_SELECTORS = {
    "L2Advertisement": "the ConfigMap elects the announcing node among all eligible nodes, per IP, and "
    "cannot limit a pool to some nodes; label nodes that must never answer "
    f"with {EXCLUDE_LABEL}=true (this applies to every pool)",
    "BGPAdvertisement": "the ConfigMap announces bgp pools from every node that has a session (the peers' "
    "node-selectors still apply) and cannot limit one advertisement to some nodes; if the limit holds "
    "for every pool, put it on the BGPPeers' nodeSelectors",
}


def _advertisement_losses(config: Config, protocols: dict[str, Protocol], losses: list[Loss]) -> None:
    """Node selectors and per-advertisement peers of the advertisements the ConfigMap keeps."""
    every_peer = {p.name for p in config.peers}
    ads: list[tuple[Kind, int, L2Advertisement | BgpAdvertisement]] = [
        ("L2Advertisement", i, ad) for i, ad in enumerate(config.l2_advertisements)
    ]
    ads += [("BGPAdvertisement", i, ad) for i, ad in enumerate(config.bgp_advertisements)]
    for kind, i, ad in ads:
        if not _used(config, ad, protocols):
            continue
        if not selects_everything(ad.node_selectors):
            losses.append(Loss("lossy", kind, i, ad.name, "node_selectors", _NODE_SELECTORS[kind]))
        if isinstance(ad, BgpAdvertisement) and ad.peers and not every_peer <= set(ad.peers):
            losses.append(
                Loss(
                    "lossy",
                    kind,
                    i,
                    ad.name,
                    "peers",
                    "the ConfigMap announces every bgp pool to every peer of the node; "
                    "a per-advertisement peer list cannot be expressed",
                )
            )


def _pools(
    config: Config, protocols: dict[str, Protocol], losses: list[Loss]
) -> tuple[list[build.LegacyPool], dict[tuple[int, int], int]]:
    """The ConfigMap pools (those with a protocol), and where each ``bgp-advertisements`` entry came from."""
    out: list[build.LegacyPool] = []
    origins: dict[tuple[int, int], int] = {}
    for i, pool in enumerate(config.pools):
        _allocation_losses(i, pool, losses)
        protocol = protocols.get(pool.name)
        if protocol is None:
            continue
        ads: list[BgpAdvertisement] = []
        if protocol == "bgp":
            seen: dict[object, int] = {}
            for j, ad in enumerate(config.bgp_advertisements):
                if ad.selects_pool(pool.name) and ad.attributes not in seen:
                    seen[ad.attributes] = len(ads)
                    origins[len(out), len(ads)] = j
                    ads.append(ad)
        out.append(build.LegacyPool(replace(pool, allocation=None), protocol, tuple(ads)))
    return out, origins


_ALLOCATION_FIELDS = ("priority", "namespaces", "namespace_selectors", "service_selectors")


def _allocation_losses(index: int, pool: AddressPool, losses: list[Loss]) -> None:
    if pool.allocation is None:
        return
    for name in _ALLOCATION_FIELDS:
        if getattr(pool.allocation, name) in (None, ()):
            continue
        message = (
            "the ConfigMap has no pool priority: it tries auto-assign pools in config order; move this pool "
            "in address-pools to change the order"
            if name == "priority"
            else "the ConfigMap cannot limit a pool to namespaces or Services: any Service may get an "
            "address from this pool; set auto-assign: false and annotate the Services that should use it "
            "with ironlb.io/address-pool"
        )
        losses.append(Loss("lossy", "AddressPool", index, pool.name, f"allocation.{name}", message))


def _peers(config: Config, losses: list[Loss]) -> tuple[Peer, ...]:
    """The peers under their ConfigMap names, without what the ConfigMap cannot hold."""
    out: list[Peer] = []
    names = build.peer_names(config.peers)
    for i, (peer, name) in enumerate(zip(config.peers, names, strict=True)):

        def loss(
            severity: Severity, where: str, message: str, i: int = i, shown: str = peer.name or name
        ) -> None:
            losses.append(Loss(severity, "Peer", i, shown, where, message))

        if peer.graceful_restart is True:
            loss(
                "note",
                "graceful_restart",
                "the ConfigMap has no per-peer graceful restart: the speaker's --bgp-graceful-restart "
                "decides for every peer (default 120 s)",
            )
        elif peer.graceful_restart is False:
            loss(
                "lossy",
                "graceful_restart",
                "the ConfigMap cannot turn graceful restart off for one peer: the speaker's "
                "--bgp-graceful-restart decides for every peer (0 turns it off)",
            )
        if peer.password_secret is not None:
            address = str(peer.peer_address).replace(":", "_")
            loss(
                "lossy",
                "password_secret",
                f"not carried over (Secret {peer.password_secret.name}); "
                + PASSWORD_HINT.format(address=address),
            )
        out.append(replace(peer, name=name, graceful_restart=None, password_secret=None))
    return tuple(out)


def _cluster_ip(config: Config, losses: list[Loss]) -> tuple[ClusterIPAdvertisement, ...]:
    """The first ClusterIP advertisement, to every peer; the others are losses."""
    every_peer = {p.name for p in config.peers}
    for i, cip in enumerate(config.cluster_ip_advertisements):
        if i and replace(cip, name="") != replace(config.cluster_ip_advertisements[0], name=""):
            losses.append(
                Loss(
                    "lossy",
                    "ClusterIPAdvertisement",
                    i,
                    cip.name,
                    "",
                    "the ConfigMap has one cluster-ip-advertisement; only the first "
                    f"({config.cluster_ip_advertisements[0].name}) is kept",
                )
            )
        elif cip.peers and not every_peer <= set(cip.peers):
            losses.append(
                Loss(
                    "lossy",
                    "ClusterIPAdvertisement",
                    i,
                    cip.name,
                    "peers",
                    "the ConfigMap announces the ClusterIP range to every peer of the node; a peer list "
                    "cannot be expressed",
                )
            )
    if not config.cluster_ip_advertisements:
        return ()
    first = config.cluster_ip_advertisements[0]
    return (replace(first, peers=(), name=build.CLUSTER_IP_ADVERTISEMENT),)
