"""The scalar parsers: Go-compatible durations, CIDRs, ranges, communities, label syntax."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironlb.config.model import AddressRange, Community
from ironlb.config.values import (
    check_label_key,
    check_label_value,
    format_seconds,
    parse_address_entry,
    parse_cidr,
    parse_community,
    parse_community_literal,
    parse_go_duration,
    parse_hold_time,
    parse_ip,
    widest_prefix,
)

S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0),
        ("-0", 0),
        ("90s", 90 * S),
        ("1m30s", 90 * S),
        ("1h2m3s", 3723 * S),
        ("1.5h", 5400 * S),
        (".5s", S // 2),
        ("5.s", 5 * S),
        ("1500ms", 1500 * 1_000_000),
        ("3us", 3000),
        ("3µs", 3000),
        ("7ns", 7),
        ("-3s", -3 * S),
        ("+3s", 3 * S),
        ("1s500ms", 1500 * 1_000_000),
    ],
)
def test_go_duration(text: str, ns: int) -> None:
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize(
    "text", ["", "90", "s", "1x", "1 s", " 1s", "1s ", "1.2.3s", "--1s", "1m30", ".s", "1e3s"]
)
def test_go_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_go_duration(text)


@pytest.mark.parametrize(
    ("text", "seconds"), [("0s", 0), ("3s", 3), ("3.9s", 3), ("1h", 3600), ("2999ms", 0)]
)
def test_hold_time_rounds_down(text: str, seconds: int) -> None:
    if seconds == 0 and text != "0s":
        # 2.999s rounds down to 2s, which is below the 3s minimum
        with pytest.raises(ValueError, match="must be 0 or at least 3s"):
            parse_hold_time(text)
    else:
        assert parse_hold_time(text) == seconds


@given(st.integers(0, 10**6))
@settings(max_examples=100, derandomize=True)
def test_format_seconds_round_trips(seconds: int) -> None:
    assert parse_go_duration(format_seconds(seconds)) == seconds * S


@given(st.ip_addresses())
@settings(max_examples=100, derandomize=True)
def test_parse_ip_agrees_with_ipaddress(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assert parse_ip(str(ip)) == ip


@pytest.mark.parametrize("text", ["", "1.2.3", "01.2.3.4", "1.2.3.4/32", "fe80::1%eth0", "[::1]", "::g", " "])
def test_parse_ip_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a valid IP address"):
        parse_ip(text)


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), st.data())
@settings(max_examples=150, derandomize=True)
def test_cidr_masks_host_bits_like_go(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, data: st.DataObject
) -> None:
    length = data.draw(st.integers(0, ip.max_prefixlen))
    net, masked = parse_cidr(f"{ip}/{length}")
    assert net == ipaddress.ip_network(f"{ip}/{length}", strict=False)
    assert masked == (net.network_address != ip)
    r, masked_again = parse_address_entry(f"{ip}/{length}")
    assert (r.first, r.last, masked_again) == (net.network_address, net.broadcast_address, masked)
    assert widest_prefix(r) == length


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
@settings(max_examples=150, derandomize=True)
def test_range_covers_exactly_and_widest_prefix(a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    first, last = ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi)
    r, _ = parse_address_entry(f"{first} - {last}")
    assert (r.first, r.last, r.size) == (first, last, hi - lo + 1)
    nets = list(r.networks())
    assert sum(n.num_addresses for n in nets) == r.size
    assert widest_prefix(r) == min(n.prefixlen for n in nets)
    if lo != hi:
        with pytest.raises(ValueError, match="is after end"):
            parse_address_entry(f"{last}-{first}")


@pytest.mark.parametrize(
    "text", ["10.0.0.0/-1", "10.0.0.0/", "/24", "10.0.0.0/2 4", "10.0.0.0/0x10", "10.0.0.0/0024"]
)
def test_cidr_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a valid CIDR"):
        parse_cidr(text)


def test_single_address_range() -> None:
    r, _ = parse_address_entry("10.0.0.5-10.0.0.5")
    assert r == AddressRange(ipaddress.IPv4Address("10.0.0.5"), ipaddress.IPv4Address("10.0.0.5"))
    assert widest_prefix(r) == 32


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0:0", "0:0"),
        ("65535:65535", "65535:65535"),
        ("064512:010", "64512:10"),  # Go's ParseUint accepts leading zeros
        ("no-export", "65535:65281"),
        ("no-advertise", "65535:65282"),
        ("no-export-subconfed", "65535:65283"),
        ("local-as", "65535:65283"),
        ("no-peer", "65535:65284"),
        ("nopeer", "65535:65284"),
        ("1:2:3", "1:2:3"),
        ("large:4294967295:0:7", "4294967295:0:7"),
    ],
)
def test_community_literals(text: str, value: str) -> None:
    assert parse_community_literal(text) == Community(value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("65536:0", "first half 65536 does not fit in 16 bits"),
        ("0:65536", "second half 65536 does not fit in 16 bits"),
        ("1:", "second half '' is not a number"),
        ("-1:1", "first half '-1' is not a number"),
        ("1_0:1", "'1_0' is not a number"),
        ("١:1", "is not a number"),  # non-ASCII digits, which Python's int() would accept  # noqa: RUF001
        ("large:1:2", "expected A:B"),
        ("1:2:4294967296", "data 2 4294967296 does not fit in 32 bits"),
        ("a:b:c:d", "expected A:B"),
        ("no-export:1", "is not a number"),
    ],
)
def test_community_literal_rejects(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_community_literal(text)
    assert fragment in str(info.value)


def test_community_aliases_first() -> None:
    aliases = {"vpn": Community("1:1"), "no-export": Community("2:2")}
    assert parse_community("vpn", aliases) == Community("1:1")
    assert parse_community("no-export", aliases) == Community("2:2")
    assert parse_community("no-advertise", aliases) == Community("65535:65282")
    with pytest.raises(ValueError, match="unknown community alias 'nope'"):
        parse_community("nope", aliases)


@pytest.mark.parametrize(
    "key", ["rack", "kubernetes.io/hostname", "a.b-c_d", "x" * 63, "example.com/" + "y" * 63]
)
def test_label_keys_accepted(key: str) -> None:
    check_label_key(key)


@pytest.mark.parametrize("key", ["", "-a", "a-", "a b", "x" * 64, "/a", "Example.com/a", "a/", "a/b/c", "é"])
def test_label_keys_rejected(key: str) -> None:
    with pytest.raises(ValueError, match="invalid label key"):
        check_label_key(key)


@pytest.mark.parametrize(
    ("value", "ok"), [("", True), ("a", True), ("A-1.b_2", True), ("-a", False), ("a" * 64, False)]
)
def test_label_values(value: str, ok: bool) -> None:
    if ok:
        check_label_value(value)
    else:
        with pytest.raises(ValueError, match="invalid label value"):
            check_label_value(value)
