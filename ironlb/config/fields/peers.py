"""Item rules for a BGP peer and a BFD profile, and what a peer's keepalive means next to its hold time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ironlb.config.fields.checks import Checks, Problem, Spelling
from ironlb.config.fields.scalars import (
    asn,
    hold_time,
    in_range,
    keepalive_time,
    or_default,
    port,
    required_ip,
    router_id,
    source_address,
)
from ironlb.config.fields.selectors import SelectorFields, label_selectors
from ironlb.config.model import BfdProfile, Peer

BFD_RANGES: dict[str, tuple[int, int]] = {
    "receive_interval": (10, 60000),
    "transmit_interval": (10, 60000),
    "detect_multiplier": (2, 255),
    "echo_interval": (10, 60000),
    "minimum_ttl": (1, 254),
}
"""MetalLB's documented BFD ranges (milliseconds for intervals), by domain field."""


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
            receive_interval=or_default(raw.receive_interval, d.receive_interval),
            transmit_interval=or_default(raw.transmit_interval, d.transmit_interval),
            detect_multiplier=or_default(raw.detect_multiplier, d.detect_multiplier),
            echo_interval=or_default(raw.echo_interval, d.echo_interval),
            echo_mode=bool(raw.echo_mode),
            passive_mode=bool(raw.passive_mode),
            minimum_ttl=or_default(raw.minimum_ttl, d.minimum_ttl),
        ),
        c.problems,
    )
