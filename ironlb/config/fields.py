"""The rules for the values of one config item, shared by every input of the configuration.

ironlb reads its configuration from more than one input: the legacy ConfigMap
(``ironlb.config.build``), MetalLB's CRDs that ``ironlb convert`` migrates
(``ironlb.metallb``), and ironlb.io resources next. Each input decodes its own
syntax; all of them ask these rules about the values, so that an ASN, a hold
time or a selector operator is defaulted, accepted and refused the same way,
with the same message, whatever the input.

A rule speaks about values, never about where they stand:

- value rules (:func:`asn`, :func:`port`, :func:`hold_time`, ...) return the
  checked value or raise ``ValueError`` with a message ready to show after
  ``path: `` (the convention of :mod:`ironlb.config.values`, whose parsers they
  build on);
- item rules (:func:`peer`, :func:`label_selectors`, :func:`bfd_profile`,
  :func:`address_ranges`, :func:`advertisement`, :func:`service_allocation`) check every field of one item
  and return the domain value (``None`` when a field is wrong) with every
  :class:`Problem`. A problem's ``field`` is its path below the item, the field
  name spelled by the caller's :data:`Spelling` (``my-asn`` in the ConfigMap,
  ``myASN`` in a CRD); the caller puts it under the item's own path.

What spans items (unique names, overlapping pools, duplicate peers, a peer's
``bfd-profile`` naming a profile) is each input's to check, because its message
names the input's own objects.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ParamSpec, Protocol, TypeVar

from ironlb.config import values
from ironlb.config.model import (
    AddressRange,
    BfdProfile,
    BgpAdvertisement,
    Community,
    IPAddress,
    LabelSelector,
    Peer,
    SelectorOperator,
    SelectorRequirement,
    ServiceAllocation,
)
from ironlb.config.model import Protocol as PoolProtocol

UINT32_MAX = 2**32 - 1
DEFAULT_PEER_PORT = 179
DEFAULT_HOLD_TIME = 90

BFD_RANGES: dict[str, tuple[int, int]] = {
    "receive_interval": (10, 60000),
    "transmit_interval": (10, 60000),
    "detect_multiplier": (2, 255),
    "echo_interval": (10, 60000),
    "minimum_ttl": (1, 254),
}
"""MetalLB's documented BFD ranges (milliseconds for intervals), by domain field."""

Spelling = Callable[[str], str]
"""How an input writes a field of the domain model: ``"my_asn"`` is ``"my-asn"`` in the ConfigMap,
``"myASN"`` in a CRD."""

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in an item, at ``field`` below the item."""

    field: FieldPath
    message: str
    warning: bool = False


T = TypeVar("T")
P = ParamSpec("P")


class Checks:
    """Collects the problems of one item, spelling its field names for the input being read.

    A place is a field name of the domain model (spelled), optionally followed by
    indices and map keys below it (as written): ``("addresses", 2)``.
    """

    def __init__(self, spell: Spelling) -> None:
        self.spell = spell
        self.problems: list[Problem] = []

    def _path(self, where: str | FieldPath) -> FieldPath:
        if isinstance(where, str):
            return (self.spell(where),)
        head, *rest = where
        return (self.spell(head) if isinstance(head, str) else head, *rest)

    def error(self, where: str | FieldPath, message: str) -> None:
        self.problems.append(Problem(self._path(where), message))

    def warn(self, where: str | FieldPath, message: str) -> None:
        self.problems.append(Problem(self._path(where), message, warning=True))

    def value(
        self, where: str | FieldPath, rule: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        """``rule(*args)``, or ``None`` with the rule's message as an error at ``where``."""
        try:
            return rule(*args, **kwargs)
        except ValueError as exc:
            self.error(where, str(exc))
            return None

    def nested(self, where: str | FieldPath, found: tuple[T, list[Problem]]) -> T:
        """A sub-item's value, its problems moved under ``where``."""
        value, problems = found
        base = self._path(where)
        self.problems += [replace(p, field=base + p.field) for p in problems]
        return value

    @property
    def failed(self) -> bool:
        return any(not p.warning for p in self.problems)


# ---- value rules ---------------------------------------------------------------------------------


def in_range(value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range ({low}..{high})")
    return value


def asn(value: int | None, what: str) -> int:
    """A 4-byte AS number; ``what`` (``"peer ASN"``) names it in the messages."""
    if value is None:
        raise ValueError(f"required field is missing ({what})")
    if value == 0:
        raise ValueError(f"{what} must not be 0")
    return in_range(value, 1, UINT32_MAX)


def port(value: int | None) -> int:
    return in_range(DEFAULT_PEER_PORT if value is None else value, 1, 65535)


def hold_time(text: str | None) -> int:
    """Whole seconds (:func:`~ironlb.config.values.parse_hold_time`); 90 when not given."""
    return values.parse_hold_time(text) if text else DEFAULT_HOLD_TIME


def keepalive_time(text: str | None, hold: int | None) -> int:
    """Whole seconds, at most the hold time (when that is valid); a third of it when not given."""
    if not text:
        return (hold or 0) // 3
    keepalive = values.parse_keepalive_time(text)
    if hold is not None and keepalive > hold:
        raise ValueError(f"keepalive time {keepalive}s must not exceed the hold time {hold}s")
    return keepalive


def optional_ip(text: str | None) -> IPAddress | None:
    return values.parse_ip(text) if text else None


def required_ip(text: str | None) -> IPAddress:
    if not text:
        raise ValueError("required field is missing")
    return values.parse_ip(text)


def router_id(text: str | None) -> ipaddress.IPv4Address | None:
    rid = optional_ip(text)
    if rid is not None and not isinstance(rid, ipaddress.IPv4Address):
        raise ValueError(f"router ID {text!r} must be an IPv4 address")
    return rid


def source_address(text: str | None, peer_address: IPAddress | None) -> IPAddress | None:
    """The session's local address, of the peer address's family."""
    source = optional_ip(text)
    if source is not None and peer_address is not None and source.version != peer_address.version:
        raise ValueError(f"source address {source} and peer address {peer_address} are of different families")
    return source


def localpref(value: int | None) -> int | None:
    return None if value is None else in_range(value, 0, UINT32_MAX)


def protocol(text: str | None) -> PoolProtocol:
    if not text:
        raise ValueError("required field is missing (layer2 or bgp)")
    if text not in ("layer2", "bgp"):
        raise ValueError(f"unknown protocol {text!r} (expected layer2 or bgp)")
    return "layer2" if text == "layer2" else "bgp"


def label(key: str, value: str) -> tuple[str, str]:
    values.check_label_key(key)
    values.check_label_value(value)
    return key, value


def label_key(key: str | None) -> str:
    if not key:
        raise ValueError("required field is missing")
    values.check_label_key(key)
    return key


def operator(text: str | None) -> SelectorOperator:
    if not text:
        raise ValueError("required field is missing (In, NotIn, Exists or DoesNotExist)")
    for op in values.OPERATORS:
        if text == op:
            return op
    raise ValueError(f"{text!r} is not a valid operator (expected one of {', '.join(values.OPERATORS)})")


# ---- label selectors -----------------------------------------------------------------------------


class RequirementFields(Protocol):
    """A ``match-expressions`` item as any input decodes it."""

    @property
    def key(self) -> str | None: ...
    @property
    def operator(self) -> str | None: ...
    @property
    def values(self) -> Sequence[str] | None: ...


class SelectorFields(Protocol):
    """A Kubernetes label selector as any input decodes it."""

    @property
    def match_labels(self) -> Mapping[str, str] | None: ...
    @property
    def match_expressions(self) -> Sequence[RequirementFields] | None: ...


def requirement(raw: RequirementFields, spell: Spelling) -> tuple[SelectorRequirement | None, list[Problem]]:
    c = Checks(spell)
    key = c.value("key", label_key, raw.key)
    op = c.value("operator", operator, raw.operator)
    if op in ("In", "NotIn") and not raw.values:
        c.error("values", f"operator {op} needs at least one value")
    if op in ("Exists", "DoesNotExist") and raw.values:
        c.error("values", f"operator {op} takes no values")
    for i, text in enumerate(raw.values or ()):
        c.value(("values", i), values.check_label_value, text)
    if c.failed or key is None or op is None:
        return None, c.problems
    return SelectorRequirement(key, op, tuple(raw.values or ())), c.problems


def label_selector(raw: SelectorFields, spell: Spelling) -> tuple[LabelSelector | None, list[Problem]]:
    """Labels sorted, as the domain keeps them; ``None`` when any part is wrong."""
    c = Checks(spell)
    labels: list[tuple[str, str]] = []
    for key, value in (raw.match_labels or {}).items():
        pair = c.value(("match_labels", key), label, key, value)
        if pair is not None:
            labels.append(pair)
    exprs: list[SelectorRequirement] = []
    for j, expr in enumerate(raw.match_expressions or ()):
        req = c.nested(("match_expressions", j), requirement(expr, spell))
        if req is not None:
            exprs.append(req)
    if c.failed:
        return None, c.problems
    return LabelSelector(tuple(sorted(labels)), tuple(exprs)), c.problems


def label_selectors(
    raw: Sequence[SelectorFields] | None, spell: Spelling
) -> tuple[tuple[LabelSelector, ...] | None, list[Problem]]:
    """A list of selectors (OR'ed); ``None`` when any of them is wrong."""
    c = Checks(spell)
    out = [c.nested((i,), label_selector(sel, spell)) for i, sel in enumerate(raw or ())]
    if c.failed:
        return None, c.problems
    return tuple(s for s in out if s is not None), c.problems


# ---- items ---------------------------------------------------------------------------------------


class PeerFields(Protocol):
    """A BGP peer as any input decodes it (``None``: not given; a property: any sequence will do)."""

    my_asn: int | None
    peer_asn: int | None
    peer_address: str | None
    peer_port: int | None
    hold_time: str | None
    keepalive_time: str | None
    router_id: str | None
    source_address: str | None
    password: str | None
    bfd_profile: str | None
    ebgp_multihop: bool | None

    @property
    def node_selectors(self) -> Sequence[SelectorFields] | None: ...


def peer(raw: PeerFields, spell: Spelling) -> tuple[Peer | None, list[Problem]]:
    """One BGP peer; its ``bfd-profile`` is only carried (the caller checks that it exists)."""
    c = Checks(spell)
    my_asn = c.value("my_asn", asn, raw.my_asn, "local ASN")
    peer_asn = c.value("peer_asn", asn, raw.peer_asn, "peer ASN")
    address = c.value("peer_address", required_ip, raw.peer_address)
    peer_port = c.value("peer_port", port, raw.peer_port)
    hold = c.value("hold_time", hold_time, raw.hold_time)
    keepalive = c.value("keepalive_time", keepalive_time, raw.keepalive_time, hold)
    rid = c.value("router_id", router_id, raw.router_id)
    source = c.value("source_address", source_address, raw.source_address, address)
    selectors = c.nested("node_selectors", label_selectors(raw.node_selectors, spell))
    multihop = bool(raw.ebgp_multihop)
    if multihop and my_asn is not None and my_asn == peer_asn:
        c.error(
            "ebgp_multihop",
            f"{spell('ebgp_multihop')} is only for eBGP peers ({spell('my_asn')} equals {spell('peer_asn')})",
        )
    if c.failed or my_asn is None or peer_asn is None or address is None:
        return None, c.problems
    assert peer_port is not None and hold is not None and keepalive is not None  # else c.failed
    return (
        Peer(
            my_asn=my_asn,
            peer_asn=peer_asn,
            peer_address=address,
            peer_port=peer_port,
            hold_time=float(hold),
            keepalive_time=float(keepalive),
            router_id=rid,
            source_address=source,
            password=raw.password or None,
            node_selectors=selectors or (),
            bfd_profile=raw.bfd_profile or None,
            ebgp_multihop=multihop,
        ),
        c.problems,
    )


def keepalive_ignored(peer: Peer) -> bool:
    """Does ``peer`` ask for a keepalive interval other than the one the BGP backend uses (hold/3)?

    ExaBGP 5.0 has no keepalive setting: it sends keepalives every third of the negotiated hold
    time. Such a ``keepalive-time`` is accepted (MetalLB accepts it) and warned about.
    """
    return int(peer.keepalive_time) != int(peer.hold_time) // 3


def keepalive_message(peer: Peer, hold_name: str) -> str:
    """Why ``keepalive-time`` is not honoured (see :func:`keepalive_ignored`); ``hold_name``: the hold time
    field as the input spells it."""
    hold, keepalive = int(peer.hold_time), int(peer.keepalive_time)
    return (
        f"{keepalive}s is ignored: the ExaBGP backend has no keepalive setting and sends keepalives every "
        f"third of the negotiated hold time ({hold // 3}s with {hold_name} {hold}s)"
    )


class BfdFields(Protocol):
    """A BFD profile's settings as any input decodes them (``None``: MetalLB's default)."""

    receive_interval: int | None
    transmit_interval: int | None
    detect_multiplier: int | None
    echo_interval: int | None
    echo_mode: bool | None
    passive_mode: bool | None
    minimum_ttl: int | None


def bfd_profile(name: str | None, raw: BfdFields, spell: Spelling) -> tuple[BfdProfile | None, list[Problem]]:
    """A BFD profile within MetalLB's documented ranges, MetalLB's defaults for what is not set."""
    c = Checks(spell)
    if not name:
        c.error("name", "required field is missing")
    numbers = {
        "receive_interval": raw.receive_interval,
        "transmit_interval": raw.transmit_interval,
        "detect_multiplier": raw.detect_multiplier,
        "echo_interval": raw.echo_interval,
        "minimum_ttl": raw.minimum_ttl,
    }
    for key, number in numbers.items():
        if number is not None:
            c.value(key, in_range, number, *BFD_RANGES[key])
    if c.failed or not name:
        return None, c.problems
    d = BfdProfile(name)
    return (
        BfdProfile(
            name=name,
            receive_interval=_or(raw.receive_interval, d.receive_interval),
            transmit_interval=_or(raw.transmit_interval, d.transmit_interval),
            detect_multiplier=_or(raw.detect_multiplier, d.detect_multiplier),
            echo_interval=_or(raw.echo_interval, d.echo_interval),
            echo_mode=bool(raw.echo_mode),
            passive_mode=bool(raw.passive_mode),
            minimum_ttl=_or(raw.minimum_ttl, d.minimum_ttl),
        ),
        c.problems,
    )


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def address_ranges(
    addresses: Sequence[str] | None, spell: Spelling
) -> tuple[tuple[AddressRange, ...], list[Problem]]:
    """A pool's address entries: the ones that parse (all of them unless there are errors).

    A CIDR with host bits set is masked, as MetalLB does, with a warning.
    """
    c = Checks(spell)
    if not addresses:
        c.error("addresses", "a pool needs at least one CIDR or range")
    out: list[AddressRange] = []
    for i, text in enumerate(addresses or ()):
        parsed = c.value(("addresses", i), values.parse_address_entry, text)
        if parsed is None:
            continue
        entry, masked = parsed
        if masked:
            c.warn(
                ("addresses", i),
                f"{text!r} has host bits set; using {next(entry.networks())} (as MetalLB does)",
            )
        out.append(entry)
    return tuple(out), c.problems


def community_list(
    texts: Sequence[str] | None,
    aliases: Mapping[str, Community],
    *,
    broken: frozenset[str] = frozenset(),
    defined_in: str,
) -> tuple[tuple[Community, ...], list[Problem]]:
    """Communities (aliases first, then literals), without repeats; problems at their index.

    ``broken`` names aliases that exist but were refused (already reported: skipped);
    ``defined_in`` says where aliases are defined, for the message about an unknown one.
    """
    out: list[Community] = []
    problems: list[Problem] = []
    for i, text in enumerate(texts or ()):
        if text in broken and text not in aliases:
            continue
        try:
            community = values.parse_community(text, aliases, defined_in=defined_in)
        except ValueError as exc:
            problems.append(Problem((i,), str(exc)))
            continue
        if community not in out:
            out.append(community)
    return tuple(out), problems


@dataclass(frozen=True)
class AdvertisementFields:
    """A BGP advertisement's attributes as any input decodes them (``None``: not given)."""

    aggregation_length: int | None = None
    aggregation_length_v6: int | None = None
    localpref: int | None = None
    communities: Sequence[str] | None = None


def advertisement(
    raw: AdvertisementFields,
    ranges: Sequence[AddressRange],
    aliases: Mapping[str, Community],
    spell: Spelling,
    *,
    name: str = "",
    pools: tuple[str, ...] = (),
    broken: frozenset[str] = frozenset(),
    defined_in: str,
) -> tuple[BgpAdvertisement | None, list[Problem]]:
    """A BGP advertisement's attributes: aggregation no wider than any address entry of ``ranges``.

    ``ranges`` (of the pools it selects) may be empty when the pools are not known yet (checked
    again once they are). ``name`` and ``pools`` are carried as given; node selectors and peers
    are the caller's to add (the legacy ConfigMap has neither).
    """
    c = Checks(spell)
    length = c.value("aggregation_length", in_range, _or(raw.aggregation_length, 32), 0, 32)
    length6 = c.value("aggregation_length_v6", in_range, _or(raw.aggregation_length_v6, 128), 0, 128)
    if length is not None and length6 is not None:
        for r in ranges:
            key, want = (
                ("aggregation_length", length) if r.family == 4 else ("aggregation_length_v6", length6)
            )
            widest = values.widest_prefix(r)
            if want < widest:
                c.error(
                    key,
                    f"{want} is shorter than prefix /{widest} of {r.text or str(r.first)!r} in this pool "
                    "(aggregating beyond the pool's own addresses is not allowed)",
                )
    pref = c.value("localpref", localpref, raw.localpref)
    communities = c.nested(
        "communities", community_list(raw.communities, aliases, broken=broken, defined_in=defined_in)
    )
    if c.failed or length is None or length6 is None:
        return None, c.problems
    ad = BgpAdvertisement(
        name=name,
        pools=pools,
        aggregation_length=length,
        aggregation_length_v6=length6,
        localpref=pref,
        communities=communities,
    )
    return ad, c.problems


# ---- service allocation --------------------------------------------------------------------------


class AllocationFields(Protocol):
    """A pool's ``serviceAllocation`` as any input decodes it (``None``: not given)."""

    @property
    def priority(self) -> int | None: ...
    @property
    def namespaces(self) -> Sequence[str] | None: ...
    @property
    def namespace_selectors(self) -> Sequence[SelectorFields] | None: ...
    @property
    def service_selectors(self) -> Sequence[SelectorFields] | None: ...


def namespace_name(text: str) -> str:
    """A namespace name: a DNS-1123 label (lower-case letters, digits and '-', at most 63)."""
    values.check_dns_label(text, "namespace name")
    return text


def service_allocation(
    raw: AllocationFields, spell: Spelling
) -> tuple[ServiceAllocation | None, list[Problem]]:
    """Which Services a pool admits; ``None`` when any part is wrong (an empty one admits every Service)."""
    c = Checks(spell)
    namespaces: list[str] = []
    for i, text in enumerate(raw.namespaces or ()):
        ns = c.value(("namespaces", i), namespace_name, text)
        if ns is not None and ns not in namespaces:
            namespaces.append(ns)
    ns_selectors = c.nested("namespace_selectors", label_selectors(raw.namespace_selectors, spell))
    svc_selectors = c.nested("service_selectors", label_selectors(raw.service_selectors, spell))
    if raw.priority is not None:
        c.value("priority", in_range, raw.priority, 0, 2**31 - 1)
    if c.failed:
        return None, c.problems
    allocation = ServiceAllocation(
        priority=raw.priority,
        namespaces=tuple(namespaces),
        namespace_selectors=ns_selectors or (),
        service_selectors=svc_selectors or (),
    )
    return allocation, c.problems
