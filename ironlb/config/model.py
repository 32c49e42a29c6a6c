"""Domain types of ironlb's configuration.

The wire format (MetalLB's legacy ConfigMap, parsed strictly by pydantic in
``ironlb.config.wire``) is converted into these frozen dataclasses once, at the
edge. Everything inside ironlb -- the allocator, the announcement decisions, the
election -- sees only these types: ``ipaddress`` objects, tuples, no pydantic.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Protocol = Literal["layer2", "bgp"]
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


@dataclass(frozen=True)
class BgpAdvertisement:
    aggregation_length: int = 32
    aggregation_length_v6: int = 128
    localpref: int | None = None
    communities: tuple[Community, ...] = ()


@dataclass(frozen=True)
class AddressPool:
    name: str
    protocol: Protocol
    ranges: tuple[AddressRange, ...]
    auto_assign: bool = True
    avoid_buggy_ips: bool = False
    bgp_advertisements: tuple[BgpAdvertisement, ...] = ()
    """For bgp pools; empty means one default advertisement (MetalLB's rule)."""

    def contains(self, ip: IPAddress) -> bool:
        return any(ip in r for r in self.ranges)

    @property
    def families(self) -> frozenset[Family]:
        return frozenset(r.family for r in self.ranges)

    def effective_advertisements(self) -> tuple[BgpAdvertisement, ...]:
        """The advertisements to make for a bgp pool (one default when none is configured)."""
        if self.protocol != "bgp":
            return ()
        return self.bgp_advertisements or (BgpAdvertisement(),)


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


@dataclass(frozen=True)
class NodeSelector:
    """A Kubernetes label selector: every match-label and every expression must hold."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[SelectorRequirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            e.matches(labels) for e in self.match_expressions
        )


def selectors_match(selectors: tuple[NodeSelector, ...], labels: Mapping[str, str]) -> bool:
    """MetalLB's rule for lists of node selectors: OR'ed, and an empty list selects every node."""
    return not selectors or any(s.matches(labels) for s in selectors)


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
    node_selectors: tuple[NodeSelector, ...] = ()
    bfd_profile: str | None = None
    ebgp_multihop: bool = False

    @property
    def is_ibgp(self) -> bool:
        return self.my_asn == self.peer_asn

    def selects(self, node_labels: Mapping[str, str]) -> bool:
        return selectors_match(self.node_selectors, node_labels)


@dataclass(frozen=True)
class ClusterIPAdvertisement:
    """ironlb's addition: announce the Service ClusterIP range over BGP (the Calico model)."""

    cidrs: tuple[IPNetwork, ...]
    local_routes: bool = True
    external_ips: bool = False
    communities: tuple[Community, ...] = ()
    localpref: int | None = None
    node_selectors: tuple[NodeSelector, ...] = ()


@dataclass(frozen=True)
class L2Settings:
    """Interfaces (shell-style globs) where layer-2 answers are given; empty means the default set."""

    interfaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    pools: tuple[AddressPool, ...] = ()
    peers: tuple[Peer, ...] = ()
    bgp_communities: tuple[tuple[str, Community], ...] = ()
    bfd_profiles: tuple[BfdProfile, ...] = ()
    cluster_ip_advertisement: ClusterIPAdvertisement | None = None
    l2: L2Settings = L2Settings()

    def pool(self, name: str) -> AddressPool | None:
        for p in self.pools:
            if p.name == name:
                return p
        return None

    def pool_of(self, ip: IPAddress) -> AddressPool | None:
        """The pool containing ``ip`` (pools never overlap, so at most one)."""
        for p in self.pools:
            if p.contains(ip):
                return p
        return None
