"""ARP/NDP frame decoding and answers, checked against scapy; fuzzed with hypothesis."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6MLReport,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrHopByHop,
)
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet

from speaker.layer2 import frames
from speaker.layer2.frames import mac_text
from speaker.layer2.responder import solicited_node

MAC = bytes.fromhex("020000000001")
PEER = "02:00:00:00:00:99"
BCAST = "ff:ff:ff:ff:ff:ff"  # every frame gets an explicit dst: else scapy would resolve it on the host
T = frames.Templates.build(MAC)


def arp_request(target: str = "192.0.2.10", **eth: str) -> bytes:
    return bytes(
        Ether(src=PEER, dst=eth.get("dst", "ff:ff:ff:ff:ff:ff"))
        / ARP(op=1, hwsrc=PEER, psrc="192.0.2.1", pdst=target)
    )


def ns(target: str = "2001:db8::10", src: str = "2001:db8::1", hlim: int = 255, lladdr: bool = True) -> bytes:
    dst = str(ipaddress.IPv6Address(solicited_node(ipaddress.IPv6Address(target).packed)))
    pkt = (
        Ether(src=PEER, dst="33:33:ff:00:00:10") / IPv6(src=src, dst=dst, hlim=hlim) / ICMPv6ND_NS(tgt=target)
    )
    if lladdr:
        pkt = pkt / ICMPv6NDOptSrcLLAddr(lladdr=PEER)
    return bytes(pkt)


VALID = [arp_request(), arp_request(dst="02:00:00:00:00:01"), ns(), ns(lladdr=False)]


def test_arp_request_decoded_and_answered() -> None:
    d = frames.decode(arp_request())
    assert isinstance(d, frames.ArpRequest)
    assert str(d.target) == "192.0.2.10"
    reply = Ether(T.arp_reply_to(d))
    assert reply.dst == PEER and reply.src == "02:00:00:00:00:01"
    assert reply[ARP].op == 2
    assert reply[ARP].psrc == "192.0.2.10" and reply[ARP].hwsrc == "02:00:00:00:00:01"
    assert reply[ARP].pdst == "192.0.2.1" and reply[ARP].hwdst == PEER
    assert len(bytes(reply)) >= 60


def test_ns_decoded_and_answered_with_solicited_override_na() -> None:
    d = frames.decode(ns())
    assert isinstance(d, frames.NeighborSolicitation)
    assert str(d.target) == "2001:db8::10" and d.source_lladdr == bytes.fromhex("020000000099")
    na = Ether(T.neighbor_advert_to(d))
    assert na.dst == PEER
    assert na[IPv6].src == "2001:db8::10" and na[IPv6].dst == "2001:db8::1" and na[IPv6].hlim == 255
    adv = na[ICMPv6ND_NA]
    assert (adv.S, adv.O, adv.R) == (1, 1, 0) and adv.tgt == "2001:db8::10"
    assert adv.lladdr == "02:00:00:00:00:01"
    sent = adv.cksum
    del na[ICMPv6ND_NA].cksum
    assert Ether(bytes(na))[ICMPv6ND_NA].cksum == sent  # scapy agrees with our checksum


def test_gratuitous_frames() -> None:
    req, rep = (Ether(f) for f in T.gratuitous_arp(ipaddress.IPv4Address("192.0.2.10").packed))
    for f, op in ((req, 1), (rep, 2)):
        assert f.dst == "ff:ff:ff:ff:ff:ff" and f[ARP].op == op
        assert f[ARP].psrc == f[ARP].pdst == "192.0.2.10" and f[ARP].hwsrc == "02:00:00:00:00:01"
    una = Ether(T.unsolicited_na(ipaddress.IPv6Address("2001:db8::10").packed))
    assert una.dst == "33:33:00:00:00:01" and una[IPv6].dst == "ff02::1"
    assert (una[ICMPv6ND_NA].S, una[ICMPv6ND_NA].O) == (0, 1)


def test_solicited_node_group() -> None:
    got = solicited_node(ipaddress.IPv6Address("2001:db8::abcd:1234").packed)
    assert ipaddress.IPv6Address(got) == ipaddress.IPv6Address("ff02::1:ffcd:1234")


def gratuitous_arp_reply(ip: str = "192.0.2.10", mac: str = PEER) -> bytes:
    """What another speaker broadcasts when it takes ``ip`` (at every failover)."""
    return bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc=mac, psrc=ip, hwdst=mac, pdst=ip))


def dad_ns(target: str = "2001:db8::10", lladdr: bool = False) -> bytes:
    """Duplicate Address Detection: a host checking that ``target`` is free (unspecified source)."""
    return ns(target, src="::", lladdr=lladdr)


def ns_with_zero_length_option() -> bytes:
    pkt = (
        Ether(src=PEER, dst="33:33:ff:00:00:10")
        / IPv6(src="2001:db8::1", dst="ff02::1:ff00:10", hlim=255)
        / ICMPv6ND_NS(tgt="2001:db8::10")
        / ICMPv6NDOptSrcLLAddr(len=0, lladdr=PEER)
    )
    return bytes(pkt)  # scapy computes a valid checksum over it


def over_ipv6(payload: Packet) -> bytes:
    return bytes(Ether(src=PEER, dst=BCAST) / IPv6(src="2001:db8::1", dst="2001:db8::2", hlim=255) / payload)


def test_gratuitous_arp_reply_is_ignored_not_malformed() -> None:
    assert frames.decode(gratuitous_arp_reply()) == frames.Ignored(frames.IGNORE_ARP_OP)
    other = frames.Templates.build(bytes.fromhex("020000000002"))  # another speaker's announcement
    req, rep = other.gratuitous_arp(ipaddress.IPv4Address("192.0.2.10").packed)
    assert isinstance(frames.decode(req), frames.ArpRequest)
    assert frames.decode(rep) == frames.Ignored(frames.IGNORE_ARP_OP)


def test_dad_neighbor_solicitation_is_ignored_not_malformed() -> None:
    assert frames.decode(dad_ns()) == frames.Ignored(frames.IGNORE_DAD)
    # RFC 4861 7.1.1: a DAD probe must not carry a source link-layer address option
    assert frames.decode(dad_ns(lladdr=True)) == frames.Malformed(frames.MALFORMED_DAD_LLADDR)


def test_other_valid_traffic_is_ignored() -> None:
    na = Ether(src=PEER, dst=BCAST) / IPv6(src="2001:db8::1", dst="ff02::1") / ICMPv6ND_NA(tgt="2001:db8::1")
    cases = {
        bytes(na): frames.IGNORE_NOT_NS,
        over_ipv6(ICMPv6EchoRequest()): frames.IGNORE_NOT_NS,
        over_ipv6(UDP()): frames.IGNORE_NOT_ICMPV6,
        over_ipv6(IPv6ExtHdrHopByHop() / ICMPv6MLReport()): frames.IGNORE_NOT_ICMPV6,  # MLD report
        bytes(
            Ether(src=PEER, dst=BCAST) / IP(src="192.0.2.1", dst="192.0.2.2") / UDP()
        ): frames.IGNORE_ETHERTYPE,
        bytes(Ether(src=PEER, dst=BCAST) / Dot1Q(vlan=5) / ARP(op=1, hwsrc=PEER)): frames.IGNORE_VLAN,
        bytes(Ether(src=PEER, dst=BCAST) / ARP(op=8, hwsrc=PEER)): frames.IGNORE_ARP_OP,  # InARP
        bytes(Ether(src=PEER, dst=BCAST) / ARP(hwtype=6, hwsrc=PEER)): frames.IGNORE_ARP_PROTOCOL,
    }
    for frame, reason in cases.items():
        assert frames.decode(frame) == frames.Ignored(reason), reason


def test_truncated_and_invalid_frames_are_malformed() -> None:
    bad_ck = bytearray(ns())
    bad_ck[56] ^= 0xFF  # inside the ICMPv6 checksum
    bad_code = over_ipv6(ICMPv6ND_NS(code=1, tgt="2001:db8::2"))
    mcast_sender = bytes(Ether(src=PEER, dst=BCAST) / ARP(op=1, hwsrc="01:00:5e:00:00:01", pdst="192.0.2.10"))
    bad_version = bytearray(ns())
    bad_version[14] = 0x45
    cases = {
        b"\x00" * 5: frames.MALFORMED_TRUNCATED,
        arp_request()[:30]: frames.MALFORMED_TRUNCATED,
        arp_request()[:41]: frames.MALFORMED_TRUNCATED,
        bytes(Ether(src=PEER, dst=BCAST) / ARP(op=1, hwsrc=PEER, hwlen=8)): frames.MALFORMED_ARP_HEADER,
        mcast_sender: frames.MALFORMED_ARP_SOURCE,
        bytes(bad_version): frames.MALFORMED_IPV6_HEADER,
        ns()[:50]: frames.MALFORMED_TRUNCATED,
        ns()[:70]: frames.MALFORMED_TRUNCATED,
        bad_code: frames.MALFORMED_NS_CODE,
        ns(hlim=64): frames.MALFORMED_HOP_LIMIT,
        bytes(bad_ck): frames.MALFORMED_CHECKSUM,
        ns(target="ff02::1"): frames.MALFORMED_NS_TARGET,
        ns_with_zero_length_option(): frames.MALFORMED_NS_OPTION,
    }
    for frame, reason in cases.items():
        assert frames.decode(frame) == frames.Malformed(reason), reason


unicast_macs = st.binary(min_size=5, max_size=5).map(lambda m: b"\x02" + m)
ipv4s = st.integers(0, 2**32 - 1).map(lambda i: str(ipaddress.IPv4Address(i)))
ipv6s = st.integers(0, 2**128 - 1).map(lambda i: str(ipaddress.IPv6Address(i)))
unicast_ipv6s = ipv6s.filter(
    lambda a: not (ipaddress.IPv6Address(a).is_multicast or ipaddress.IPv6Address(a).is_unspecified)
)


@st.composite
def well_formed_frames(draw: st.DrawFn) -> bytes:
    """Valid traffic of the kinds a segment carries, built by scapy: ARP of any op, ICMPv6, DAD."""
    mac = mac_text(draw(unicast_macs))
    kind = draw(st.sampled_from(["arp", "ns", "dad", "icmpv6"]))
    if kind == "arp":
        op = draw(st.sampled_from([1, 2, 3, 4, 8, 9]))
        arp = ARP(op=op, hwsrc=mac, psrc=draw(ipv4s), hwdst=mac_text(draw(unicast_macs)), pdst=draw(ipv4s))
        return bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / arp)
    src = "::" if kind == "dad" else draw(unicast_ipv6s)
    ip = IPv6(src=src, dst=draw(ipv6s), hlim=255)
    if kind == "icmpv6":
        kinds = [ICMPv6ND_NA, ICMPv6ND_RS, ICMPv6ND_RA, ICMPv6EchoReply, ICMPv6EchoRequest]
        msg = draw(st.sampled_from(kinds))
        return bytes(Ether(src=mac, dst="33:33:00:00:00:01") / ip / msg())
    pkt = ip / ICMPv6ND_NS(tgt=draw(unicast_ipv6s))
    if kind == "ns" and draw(st.booleans()):
        pkt = pkt / ICMPv6NDOptSrcLLAddr(lladdr=mac)
    return bytes(Ether(src=mac, dst="33:33:00:00:00:01") / pkt)


@settings(max_examples=300)
@given(well_formed_frames())
def test_property_well_formed_traffic_is_never_malformed(frame: bytes) -> None:
    d = frames.decode(frame)
    assert not isinstance(d, frames.Malformed), (d, Ether(frame).summary())


def _check(data: bytes) -> None:
    d = frames.decode(data)
    assert isinstance(d, frames.ArpRequest | frames.NeighborSolicitation | frames.Ignored | frames.Malformed)
    if isinstance(d, frames.Ignored):
        assert d.reason in frames.IGNORE_REASONS
    elif isinstance(d, frames.Malformed):
        assert d.reason in frames.MALFORMED_REASONS
    elif isinstance(d, frames.ArpRequest):
        assert len(d.target_ip) == 4
        T.arp_reply_to(d)
    else:
        assert len(d.target_ip) == 16
        T.neighbor_advert_to(d)


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=1000)
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 199), st.integers(0, 255)), max_size=8),
    st.integers(0, 200),
)
def test_fuzz_mutated_valid_frames(base: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(base)
    for pos, val in flips:
        if pos < len(data):
            data[pos] = val
    _check(bytes(data[: max(len(data) - cut, 0)]))


def unsolicited_na(target: str = "2001:db8::10", mac: str = PEER, override: bool = True) -> bytes:
    na = ICMPv6ND_NA(R=0, S=0, O=int(override), tgt=target) / ICMPv6NDOptDstLLAddr(lladdr=mac)
    return bytes(Ether(src=PEER, dst="33:33:00:00:00:01") / IPv6(src=target, dst="ff02::1", hlim=255) / na)


def test_announced_reads_what_arp_replies_and_overriding_nas_tell_their_receivers() -> None:
    ip4, ip6 = ipaddress.ip_address("192.0.2.10").packed, ipaddress.ip_address("2001:db8::10").packed
    peer = bytes.fromhex(PEER.replace(":", ""))
    assert frames.announced(gratuitous_arp_reply()) == (ip4, peer)
    assert frames.announced(unsolicited_na()) == (ip6, peer)
    other = "02:00:00:00:00:42"  # the option names the MAC, whoever sent the frame
    assert frames.announced(unsolicited_na(mac=other)) == (ip6, bytes.fromhex(other.replace(":", "")))
    assert frames.announced(unsolicited_na(override=False)) is None  # does not replace an existing entry
    assert frames.announced(arp_request()) is None  # a request is decoded as one (its sender fields)
    assert frames.announced(ns()) is None
    assert frames.announced(gratuitous_arp_reply()[:41]) is None
    assert frames.announced(unsolicited_na()[:70]) is None


@settings(max_examples=500)
@given(st.binary(max_size=120))
def test_fuzz_announced_never_raises(data: bytes) -> None:
    got = frames.announced(data)
    assert got is None or (len(got[0]) in (4, 16) and len(got[1]) == 6)
