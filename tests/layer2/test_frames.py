"""ARP/NDP frame decoding and answers, checked against scapy; fuzzed with hypothesis."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether

from speaker.layer2 import frames
from speaker.layer2.responder import solicited_node

MAC = bytes.fromhex("020000000001")
PEER = "02:00:00:00:00:99"
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


def test_drop_reasons() -> None:
    reply = bytes(Ether(src=PEER) / ARP(op=2, hwsrc=PEER, psrc="192.0.2.1", pdst="192.0.2.10"))
    bad_ck = bytearray(ns())
    bad_ck[56] ^= 0xFF
    dad = ns(src="::", lladdr=False)
    other = bytes(
        Ether(src=PEER) / IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6ND_NA(tgt="2001:db8::2")
    )
    cases = {
        b"\x00" * 5: frames.DROP_TRUNCATED,
        arp_request()[:30]: frames.DROP_TRUNCATED,
        reply: frames.DROP_ARP_OP,
        ns(hlim=64): frames.DROP_HOP_LIMIT,
        bytes(bad_ck): frames.DROP_CHECKSUM,
        dad: frames.DROP_DAD,
        other: frames.DROP_NOT_NS,
        ns()[:70]: frames.DROP_TRUNCATED,
        b"\xff" * 12 + b"\x08\x00" + b"\x45" * 40: frames.DROP_ETHERTYPE,
        b"\xff" * 12 + b"\x81\x00" + b"\x00" * 40: frames.DROP_VLAN,
    }
    for frame, reason in cases.items():
        assert frames.decode(frame) == frames.Drop(reason)


def _check(data: bytes) -> None:
    d = frames.decode(data)
    assert isinstance(d, frames.ArpRequest | frames.NeighborSolicitation | frames.Drop)
    if isinstance(d, frames.Drop):
        assert d.reason in frames.DROP_REASONS
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
