"""Parsers for the scalar values of the config: addresses, ranges, durations, communities, labels.

Each parser is a pure function from the user's text to a domain value that raises
``ValueError`` whose message is ready to show after ``path: ``. They follow what
MetalLB's Go code accepts (``net.ParseCIDR``, ``net.ParseIP``,
``time.ParseDuration``, ``strconv.ParseUint``) rather than Python's more lenient
``ipaddress``/``int`` parsing (netmask suffixes, zone ids, ``+1``, ``1_0`` are refused).

Decisions (documented here, relied on by the tests):

- A CIDR with host bits set (``10.0.0.7/24``) is accepted and masked, exactly as
  MetalLB's ``net.ParseCIDR`` does, so legacy configs keep working; the caller
  gets a warning to show (``ironlb validate`` prints it).
- A range ``a-a`` (one address) is allowed; ``b-a`` with ``b > a`` is refused.
- Communities: ``A:B`` with 16-bit halves (MetalLB). ironlb additions: well-known
  names (``no-export``, ``no-advertise``, ``no-export-subconfed`` alias
  ``local-as``, ``no-peer`` alias ``nopeer``) stored in numeric form, and large
  communities ``A:B:C`` or ``large:A:B:C`` with 32-bit parts.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Literal

from ironlb.config.model import AddressRange, Community, IPAddress, IPNetwork

WELL_KNOWN_COMMUNITIES: dict[str, str] = {
    "no-export": "65535:65281",
    "no-advertise": "65535:65282",
    "no-export-subconfed": "65535:65283",
    "local-as": "65535:65283",
    "no-peer": "65535:65284",
    "nopeer": "65535:65284",
}

_DIGITS = re.compile(r"[0-9]+")
_IP_CHARS = re.compile(r"[0-9A-Fa-f:.]+")


def parse_ip(text: str) -> IPAddress:
    """An IPv4 or IPv6 address, as Go's ``net.ParseIP`` reads it (no zone, no brackets)."""
    s = text.strip()
    if not _IP_CHARS.fullmatch(s):
        raise ValueError(f"{text!r} is not a valid IP address")
    try:
        return ipaddress.ip_address(s)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid IP address") from None


def parse_cidr(text: str) -> tuple[IPNetwork, bool]:
    """A CIDR ``address/prefixlen``; returns the network and whether host bits were masked."""
    s = text.strip()
    addr, sep, length = s.partition("/")
    if not sep or not _DIGITS.fullmatch(length) or len(length) > 3 or not _IP_CHARS.fullmatch(addr):
        raise ValueError(f"{text!r} is not a valid CIDR")
    try:
        ip = ipaddress.ip_address(addr)
        net = ipaddress.ip_network(f"{ip}/{int(length)}", strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid CIDR") from None
    return net, net.network_address != ip


def parse_address_entry(text: str) -> tuple[AddressRange, bool]:
    """One entry of a pool's ``addresses``: a CIDR or a range ``a-b`` (spaces allowed around ``-``).

    Returns the range and whether host bits of a CIDR were masked.
    """
    if "-" not in text:
        try:
            net, masked = parse_cidr(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a valid CIDR or address range") from None
        return AddressRange(net.network_address, net.broadcast_address, text), masked
    start_text, _, end_text = text.partition("-")
    try:
        start = parse_ip(start_text)
    except ValueError:
        bad = start_text.strip()
        raise ValueError(f"invalid range {text!r}: start {bad!r} is not an IP address") from None
    try:
        end = parse_ip(end_text)
    except ValueError:
        raise ValueError(f"invalid range {text!r}: end {end_text.strip()!r} is not an IP address") from None
    if start.version != end.version:
        raise ValueError(f"invalid range {text!r}: mixes IPv{start.version} and IPv{end.version}")
    if start > end:  # type: ignore[operator]
        raise ValueError(f"invalid range {text!r}: start {start} is after end {end}")
    return AddressRange(start, end, text), False


def widest_prefix(r: AddressRange) -> int:
    """The shortest prefix length among the CIDRs that exactly cover ``r`` (MetalLB's "lowest mask")."""
    return min(n.prefixlen for n in r.networks())


_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # Go accepts both micro signs
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> int:
    """Go's ``time.ParseDuration`` in nanoseconds: ``"90s"``, ``"1m30s"``, ``"1.5h"``, ``"-3s"``, ``"0"``."""
    s = text
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    total = 0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None or m.group(1) in ("", "."):
            if m is None and _DIGITS.fullmatch(s[pos:]):
                raise ValueError(f"invalid duration {text!r}: missing unit (e.g. {s[pos:]}s)")
            raise ValueError(f"invalid duration {text!r}")
        number, unit = m.group(1), m.group(2)
        whole, _, frac = number.partition(".")
        scale = _UNITS_NS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        pos = m.end()
    if total > 2**63 - 1:
        raise ValueError(f"invalid duration {text!r}: out of range")
    return sign * total


def parse_hold_time(text: str) -> int:
    """BGP hold time in whole seconds (rounded down, as MetalLB does): 0, or at least 3."""
    seconds = _whole_seconds(text)
    if seconds != 0 and seconds < 3:
        raise ValueError(f"invalid hold time {text!r}: must be 0 or at least 3s")
    return seconds


def parse_keepalive_time(text: str) -> int:
    """BGP keepalive time in whole seconds (rounded down); not negative."""
    seconds = _whole_seconds(text)
    if seconds < 0:
        raise ValueError(f"invalid keepalive time {text!r}: must not be negative")
    return seconds


def _whole_seconds(text: str) -> int:
    ns = parse_go_duration(text)
    return int(ns / 1_000_000_000) if ns < 0 else ns // 1_000_000_000


def format_seconds(seconds: float) -> str:
    """A duration in the form Go prints and parses (``"1m30s"``), for rendering configs."""
    whole = int(seconds)
    if whole == 0:
        return "0s"
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + f"{s}s"


def _uint(text: str, bits: int, what: str, original: str) -> int:
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"invalid community {original!r}: {what} {text!r} is not a number")
    value = int(text)
    if value >= 1 << bits:
        raise ValueError(f"invalid community {original!r}: {what} {text} does not fit in {bits} bits")
    return value


def parse_community_literal(text: str) -> Community:
    """A community written out: ``A:B``, ``A:B:C``/``large:A:B:C``, or a well-known name."""
    if text in WELL_KNOWN_COMMUNITIES:
        return Community(WELL_KNOWN_COMMUNITIES[text])
    body = text[len("large:") :] if text.startswith("large:") else text
    parts = body.split(":")
    if len(parts) == 2 and not text.startswith("large:"):
        a = _uint(parts[0], 16, "first half", text)
        b = _uint(parts[1], 16, "second half", text)
        return Community(f"{a}:{b}")
    if len(parts) == 3:
        names = ("global admin", "data 1", "data 2")
        nums = [_uint(part, 32, name, text) for part, name in zip(parts, names, strict=True)]
        return Community(":".join(map(str, nums)))
    raise ValueError(f"invalid community {text!r}: expected A:B (16-bit halves), A:B:C (large) or a name")


def parse_community(
    text: str, aliases: Mapping[str, Community], *, defined_in: str = "bgp-communities"
) -> Community:
    """A community in an advertisement: an alias first (defined in ``defined_in``), else a literal."""
    if text in aliases:
        return aliases[text]
    if ":" not in text and text not in WELL_KNOWN_COMMUNITIES:
        raise ValueError(f"unknown community alias {text!r} (not in {defined_in}, not a well-known name)")
    return parse_community_literal(text)


_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def check_label_key(key: str) -> None:
    """Kubernetes label key syntax: optional ``prefix/`` (DNS subdomain) and a name of ≤63 characters."""
    prefix, sep, name = key.rpartition("/")
    if sep and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        raise ValueError(f"invalid label key {key!r}: prefix must be a DNS subdomain")
    if not name or len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        raise ValueError(
            f"invalid label key {key!r}: name must be 1-63 characters of [A-Za-z0-9-_.], "
            "starting and ending with a letter or digit"
        )


_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def check_dns_label(text: str, what: str) -> None:
    """A DNS-1123 label (namespace names): 1-63 lower-case letters, digits and '-', alphanumeric ends."""
    if len(text) > 63 or not _DNS_LABEL.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a valid {what}: 1-63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )


def is_dns_subdomain(text: str) -> bool:
    """A DNS-1123 subdomain (Kubernetes object names): at most 253 characters, dot-separated labels."""
    return len(text) <= 253 and _DNS_SUBDOMAIN.fullmatch(text) is not None


def check_dns_subdomain(text: str, what: str) -> None:
    """``text`` is a DNS-1123 subdomain (:func:`is_dns_subdomain`), else ``ValueError`` naming ``what``."""
    if not is_dns_subdomain(text):
        raise ValueError(
            f"{text!r} is not a valid {what}: at most 253 lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        )


def check_label_value(value: str) -> None:
    """Kubernetes label value syntax: empty, or ≤63 characters like a label name."""
    if value and (len(value) > 63 or not _LABEL_NAME.fullmatch(value)):
        raise ValueError(
            f"invalid label value {value!r}: must be at most 63 characters of [A-Za-z0-9-_.], "
            "starting and ending with a letter or digit"
        )


Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]
OPERATORS: tuple[Operator, ...] = ("In", "NotIn", "Exists", "DoesNotExist")
