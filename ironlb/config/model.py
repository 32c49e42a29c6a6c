"""Domain types of ironlb's configuration: pools, advertisements, peers, as MetalLB's CRDs model them.

Every input (MetalLB's legacy ConfigMap, parsed strictly by pydantic in
``ironlb.config.wire``; ironlb.io resources; MetalLB's CRDs that ``ironlb convert``
migrates) is converted into these frozen dataclasses once, at the edge.
Everything inside ironlb -- the allocator, the announcement decisions, the
election -- sees only these types: ``ipaddress`` objects, tuples, no pydantic.

The model is advertisement-centric (MetalLB 0.13+): a pool is a set of
addresses and the Services it admits; advertisements select pools and say how
they are announced (layer 2 from which nodes on which interfaces, BGP from which
nodes to which peers). A pool may be announced by layer 2, BGP, both, or by
nobody (allocated from, announced by nobody: ``ironlb plan`` says so). The
legacy ConfigMap is one way to write such a config (``ironlb.config.build``);
``ironlb.config.legacy`` says what of a config it cannot express.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Protocol = Literal["layer2", "bgp"]
"""How the legacy ConfigMap says which advertisements a pool has (its ``protocol``)."""
Family = Literal[4, 6]
SelectorOperator = Literal["In", "NotIn", "Exists", "DoesNotExist"]


@dataclass(frozen=True, order=True)
class AddressRange:
    """An inclusive range of addresses of one family; a CIDR is stored as its range."""

    first: IPAddress
    last: IPAddress
    text: str = field(compare=False, default="")
    """The range as the user wrote it, for messages."""

    @property
    def family(self) -> Family:
        return 4 if self.first.version == 4 else 6

    @property
    def size(self) -> int:
        return int(self.last) - int(self.first) + 1

    def __contains__(self, ip: object) -> bool:
        if not isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return ip.version == self.first.version and int(self.first) <= int(ip) <= int(self.last)

    def overlaps(self, other: AddressRange) -> bool:
        return (
            self.first.version == other.first.version
            and int(self.first) <= int(other.last)
            and int(other.first) <= int(self.last)
        )

    def networks(self) -> Iterator[IPNetwork]:
        """The CIDR blocks that exactly cover this range."""
        yield from ipaddress.summarize_address_range(self.first, self.last)


@dataclass(frozen=True)
class Community:
    """A BGP community, resolved from aliases and well-known names.

    ``value`` is canonical: ``"A:B"`` (standard, 16-bit halves) or ``"A:B:C"``
    (large community, 32-bit parts). Well-known names are stored as their
    numeric form (``no-export`` is ``65535:65281``).
    """

    value: str

    @property
    def is_large(self) -> bool:
        return self.value.count(":") == 2


# ---- label selectors -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SelectorRequirement:
    key: str
    operator: SelectorOperator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels

    def __str__(self) -> str:
        """kubectl's selector syntax: ``zone in (a,b)``, ``zone notin (a)``, ``zone``, ``!zone``."""
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        return f"{self.key} {self.operator.lower()} ({','.join(self.values)})"


@dataclass(frozen=True)
class LabelSelector:
    """A Kubernetes label selector: every match-label and every expression must hold (empty: everything)."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[SelectorRequirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            e.matches(labels) for e in self.match_expressions
        )

    @property
    def everything(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def __str__(self) -> str:
        """kubectl's selector syntax (``zone=a,rack in (1,2)``); ``(everything)`` for an empty selector."""
        parts = [f"{k}={v}" for k, v in self.match_labels] + [str(e) for e in self.match_expressions]
        return ",".join(parts) or "(everything)"


def selectors_match(selectors: tuple[LabelSelector, ...], labels: Mapping[str, str]) -> bool:
    """MetalLB's rule for lists of selectors: OR'ed, and an empty list selects everything."""
    return not selectors or any(s.matches(labels) for s in selectors)


def selects_everything(selectors: tuple[LabelSelector, ...]) -> bool:
    """Whether the OR of ``selectors`` matches every label set (no selector, or an empty one)."""
    return not selectors or any(s.everything for s in selectors)


def _selectors_text(selectors: tuple[LabelSelector, ...]) -> str:
    return "; ".join(str(s) for s in selectors)


# ---- pools ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceAllocation:
    """Which Services a pool admits, and in which order pools are tried (MetalLB's ``serviceAllocation``).

    MetalLB's rule: when ``namespaces`` or ``namespace_selectors`` is set, the
    Service's namespace must be listed or its labels match one selector; when
    ``service_selectors`` is set, the Service's labels must match one of them.
    Pools are tried by ``priority`` (lower first), then pools without one.
    """

    priority: int | None = None
    namespaces: tuple[str, ...] = ()
    namespace_selectors: tuple[LabelSelector, ...] = ()
    service_selectors: tuple[LabelSelector, ...] = ()

    @property
    def limits_namespaces(self) -> bool:
        return bool(self.namespaces or self.namespace_selectors)

    def admits_namespace(self, namespace: str, namespace_labels: Mapping[str, str]) -> bool:
        """The namespace half of the rule (it depends on the namespace only, so callers may cache it)."""
        if not self.limits_namespaces:
            return True
        return namespace in self.namespaces or any(
            s.matches(namespace_labels) for s in self.namespace_selectors
        )

    def admits_service(self, service_labels: Mapping[str, str]) -> bool:
        return not self.service_selectors or any(s.matches(service_labels) for s in self.service_selectors)

    def refusal(
        self, namespace: str, namespace_labels: Mapping[str, str], service_labels: Mapping[str, str]
    ) -> str | None:
        """``None`` when a Service in ``namespace`` with ``service_labels`` is admitted, else why not."""
        reasons: list[str] = []
        if not self.admits_namespace(namespace, namespace_labels):
            wanted = []
            if self.namespaces:
                wanted.append(f"is not in namespaces [{', '.join(self.namespaces)}]")
            if self.namespace_selectors:
                wanted.append(
                    f"has no labels matching namespaceSelectors [{_selectors_text(self.namespace_selectors)}]"
                )
            reasons.append(f"namespace {namespace!r} " + " and ".join(wanted))
        if not self.admits_service(service_labels):
            selectors = _selectors_text(self.service_selectors)
            reasons.append(f"the Service's labels match none of serviceSelectors [{selectors}]")
        return "; ".join(reasons) or None


@dataclass(frozen=True)
class AddressPool:
    name: str
    ranges: tuple[AddressRange, ...]
    auto_assign: bool = True
    avoid_buggy_ips: bool = False
    allocation: ServiceAllocation | None = None
    """Which Services may get addresses from it (``None``: every Service), and its priority."""

    def contains(self, ip: IPAddress) -> bool:
        return any(ip in r for r in self.ranges)

    @property
    def families(self) -> frozenset[Family]:
        return frozenset(r.family for r in self.ranges)

    @property
    def priority(self) -> int | None:
        return self.allocation.priority if self.allocation is not None else None

    def admits_service(self, service_labels: Mapping[str, str]) -> bool:
        """The Service half of the rule (see :class:`ServiceAllocation`)."""
        return self.allocation is None or self.allocation.admits_service(service_labels)

    def refusal(
        self, namespace: str, namespace_labels: Mapping[str, str], service_labels: Mapping[str, str]
    ) -> str | None:
        """Why this pool does not admit the Service (``None``: it does)."""
        if self.allocation is None:
            return None
        return self.allocation.refusal(namespace, namespace_labels, service_labels)


# ---- advertisements ------------------------------------------------------------------------------


class _Selection:
    """What an advertisement (layer-2 or BGP) announces and from where: the IPs of ``pools`` (resolved
    pool names; empty: every pool), from the nodes its ``node_selectors`` select."""

    pools: tuple[str, ...]
    node_selectors: tuple[LabelSelector, ...]

    def selects_pool(self, pool: str) -> bool:
        return not self.pools or pool in self.pools

    def selects_node(self, node_labels: Mapping[str, str]) -> bool:
        return selectors_match(self.node_selectors, node_labels)


@dataclass(frozen=True)
class L2Advertisement(_Selection):
    """Answer ARP/NDP for the IPs of ``pools`` from one of the nodes selected, on ``interfaces``.

    ``pools`` are resolved pool names (an input resolves pool selectors when it
    decodes); empty means every pool. ``interfaces`` are shell-style globs; empty
    means the default set of eligible interfaces.
    """

    name: str
    pools: tuple[str, ...] = ()
    node_selectors: tuple[LabelSelector, ...] = ()
    interfaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class BgpAdvertisement(_Selection):
    """Announce the IPs of ``pools`` over BGP from the nodes selected, to ``peers``, with these attributes.

    ``pools``: resolved pool names, empty means every pool; ``peers``: peer names,
    empty means every peer of the node.
    """

    name: str = ""
    pools: tuple[str, ...] = ()
    aggregation_length: int = 32
    aggregation_length_v6: int = 128
    localpref: int | None = None
    communities: tuple[Community, ...] = ()
    node_selectors: tuple[LabelSelector, ...] = ()
    peers: tuple[str, ...] = ()

    @property
    def attributes(self) -> tuple[int, int, int | None, frozenset[Community]]:
        """What the route carries (two advertisements with equal attributes make the same routes)."""
        return (
            self.aggregation_length,
            self.aggregation_length_v6,
            self.localpref,
            frozenset(self.communities),
        )


@dataclass(frozen=True)
class ClusterIPAdvertisement:
    """ironlb's addition: announce the Service ClusterIP range over BGP (the Calico model)."""

    cidrs: tuple[IPNetwork, ...]
    local_routes: bool = True
    external_ips: bool = False
    communities: tuple[Community, ...] = ()
    localpref: int | None = None
    node_selectors: tuple[LabelSelector, ...] = ()
    peers: tuple[str, ...] = ()
    """Peer names; empty means every peer of the node."""
    name: str = ""


# ---- BGP peers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BfdProfile:
    """MetalLB's BFD profile; the speaker runs FRR's bfdd for peers that name one (``speaker.bfd``)."""

    name: str
    receive_interval: int = 300
    transmit_interval: int = 300
    detect_multiplier: int = 3
    echo_interval: int = 50
    echo_mode: bool = False
    passive_mode: bool = False
    minimum_ttl: int = 254


@dataclass(frozen=True)
class SecretRef:
    """A Secret in ironlb's namespace holding a peer's password (MetalLB: ``kubernetes.io/basic-auth``,
    key ``password``); the speaker reads it, the config only names it."""

    name: str


@dataclass(frozen=True)
class Peer:
    my_asn: int
    peer_asn: int
    peer_address: IPAddress
    peer_port: int = 179
    hold_time: float = 90.0
    """Seconds; 0 disables keepalives."""
    keepalive_time: float = 30.0
    router_id: ipaddress.IPv4Address | None = None
    source_address: IPAddress | None = None
    password: str | None = field(default=None, repr=False)
    node_selectors: tuple[LabelSelector, ...] = ()
    bfd_profile: str | None = None
    ebgp_multihop: bool = False
    graceful_restart: bool | None = None
    """``None``: the speaker's ``--bgp-graceful-restart`` decides; ``False``: never for this peer."""
    password_secret: SecretRef | None = None
    name: str = ""
    """How advertisements name the peer (a resource's name; ``peer-<address>`` for a ConfigMap peer,
    see ``ironlb.config.build.peer_names``)."""

    @property
    def is_ibgp(self) -> bool:
        return self.my_asn == self.peer_asn

    def selects(self, node_labels: Mapping[str, str]) -> bool:
        return selectors_match(self.node_selectors, node_labels)


# ---- the whole config ----------------------------------------------------------------------------


POOL_OF_MEMO = 1 << 16


@dataclass(frozen=True)
class Config:
    pools: tuple[AddressPool, ...] = ()
    peers: tuple[Peer, ...] = ()
    bgp_communities: tuple[tuple[str, Community], ...] = ()
    bfd_profiles: tuple[BfdProfile, ...] = ()
    l2_advertisements: tuple[L2Advertisement, ...] = ()
    bgp_advertisements: tuple[BgpAdvertisement, ...] = ()
    cluster_ip_advertisements: tuple[ClusterIPAdvertisement, ...] = ()

    def pool(self, name: str) -> AddressPool | None:
        return self._pools_by_name.get(name)

    def pool_of(self, ip: IPAddress) -> AddressPool | None:
        """The pool containing ``ip`` (pools never overlap, so at most one)."""
        memo = self._pool_of_ip
        if ip in memo:
            return memo[ip]
        found = next((p for p in self.pools if p.contains(ip)), None)
        if len(memo) < POOL_OF_MEMO:
            memo[ip] = found
        return found

    def peer(self, name: str) -> Peer | None:
        for p in self.peers:
            if p.name == name:
                return p
        return None

    def l2_advertisements_for(self, pool: str) -> tuple[L2Advertisement, ...]:
        """The L2Advertisements that select the pool named ``pool``, in config order."""
        return self._ads_by_pool[0].get(pool, ())

    def bgp_advertisements_for(self, pool: str) -> tuple[BgpAdvertisement, ...]:
        """The BGPAdvertisements that select the pool named ``pool``, in config order."""
        return self._ads_by_pool[1].get(pool, ())

    def unannounced_pools(self) -> tuple[AddressPool, ...]:
        """Pools no advertisement selects: their addresses are handed out but nobody announces them."""
        return tuple(
            p
            for p in self.pools
            if not self.l2_advertisements_for(p.name) and not self.bgp_advertisements_for(p.name)
        )

    # Lookups run per IP in every decision: index once per config (never part of equality).
    @cached_property
    def _pools_by_name(self) -> dict[str, AddressPool]:
        out: dict[str, AddressPool] = {}
        for p in self.pools:
            out.setdefault(p.name, p)
        return out

    @cached_property
    def _pool_of_ip(self) -> dict[IPAddress, AddressPool | None]:
        """``pool_of`` answers so far: every decision asks it for every Service's IP, once per node
        and side of a plan (ranges scanned 150,000 times for 10,000 Services); at most
        ``POOL_OF_MEMO`` remembered, so the allocator's probing cannot grow it without bound."""
        return {}

    @cached_property
    def _ads_by_pool(
        self,
    ) -> tuple[dict[str, tuple[L2Advertisement, ...]], dict[str, tuple[BgpAdvertisement, ...]]]:
        l2 = {p.name: tuple(a for a in self.l2_advertisements if a.selects_pool(p.name)) for p in self.pools}
        bgp = {
            p.name: tuple(a for a in self.bgp_advertisements if a.selects_pool(p.name)) for p in self.pools
        }
        return l2, bgp
