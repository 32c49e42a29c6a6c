"""Value rules: each checks (and defaults) one value, returning it or raising ``ValueError`` with a
message ready to show after ``path: `` (the convention of :mod:`ironlb.config.values`, whose parsers
they build on)."""

from __future__ import annotations

import ipaddress

from ironlb.config import values
from ironlb.config.model import IPAddress, SelectorOperator
from ironlb.config.model import Protocol as PoolProtocol

UINT32_MAX = 2**32 - 1
DEFAULT_PEER_PORT = 179
DEFAULT_HOLD_TIME = 90


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


def or_default(value: int | None, default: int) -> int:
    """``value``, or ``default`` when the input left it out (``None``; 0 is a value)."""
    return default if value is None else value
