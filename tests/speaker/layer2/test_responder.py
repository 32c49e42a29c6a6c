"""The responder's per-frame decisions, over a real datagram socket pair (no root needed)."""

from __future__ import annotations

import ipaddress
import socket

from prometheus_client import REGISTRY
from scapy.layers.l2 import ARP, Ether

from speaker.layer2 import frames
from speaker.layer2.interfaces import Link
from speaker.layer2.responder import InterfaceResponder, Owned
from tests.speaker.layer2.test_frames import (
    arp_request,
    dad_ns,
    gratuitous_arp_reply,
    ns,
    ns_with_zero_length_option,
)

MAC = bytes.fromhex("020000000001")


def responder(name: str) -> tuple[InterfaceResponder, socket.socket]:
    """A responder owning 192.0.2.10 and 2001:db8::10, its raw socket replaced by one end of a socket pair."""
    owned = Owned(
        v4={ipaddress.ip_address("192.0.2.10").packed}, v6={ipaddress.ip_address("2001:db8::10").packed}
    )
    r = InterfaceResponder(Link(1, name, MAC), owned)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    theirs.setblocking(False)
    r._sock = ours
    return r, theirs


def received(s: socket.socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(s.recv(2048))
        except BlockingIOError:
            return out


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0


def dropped(iface: str, reason: str) -> float:
    return sample("ironlb_layer2_frames_dropped_total", {"interface": iface, "reason": reason})


def malformed(iface: str) -> float:
    return sample("ironlb_layer2_malformed_frames_total", {"interface": iface})


def per_ip(ip: str) -> tuple[float, float]:
    """(requests received, responses sent) for ``ip``, as served."""
    return (
        sample("ironlb_layer2_requests_received_total", {"ip": ip}),
        sample("ironlb_layer2_responses_sent_total", {"ip": ip}),
    )


def test_answers_only_owned_targets_and_counts_the_rest() -> None:
    r, wire = responder("t-resp1")
    v4, v6, unowned = per_ip("192.0.2.10"), per_ip("2001:db8::10"), per_ip("192.0.2.11")
    r.handle(arp_request("192.0.2.10"))
    r.handle(arp_request("192.0.2.10", dst="02:00:00:00:00:01"))  # unicast to our MAC
    r.handle(ns("2001:db8::10"))
    (a, b, c) = received(wire)
    assert Ether(a)[ARP].psrc == "192.0.2.10" and Ether(b)[ARP].hwsrc == "02:00:00:00:00:01"
    assert len(c) > 60 and c[12:14] == b"\x86\xdd"
    r.handle(arp_request("192.0.2.11"))
    r.handle(arp_request("192.0.2.10", dst="02:00:00:00:00:77"))  # unicast to someone else
    r.handle(ns("2001:db8::11"))
    r.handle(b"\x00" * 10)
    assert received(wire) == []
    assert dropped("t-resp1", "not-owned") == 2
    assert dropped("t-resp1", "not-for-us") == 1
    assert dropped("t-resp1", "truncated") == 1
    assert per_ip("192.0.2.10") == (v4[0] + 2, v4[1] + 2)
    assert per_ip("2001:db8::10") == (v6[0] + 1, v6[1] + 1)
    assert per_ip("192.0.2.11") == unowned  # requests for IPs we do not own are not "received" for them


def test_normal_segment_traffic_is_not_counted_as_malformed() -> None:
    """Other speakers' gratuitous ARP replies (every failover) and DAD probes are dropped, not alarming."""
    r, wire = responder("t-resp4")
    r.handle(gratuitous_arp_reply("192.0.2.10", mac="02:00:00:00:00:02"))
    r.handle(gratuitous_arp_reply("192.0.2.77"))
    r.handle(dad_ns("2001:db8::10"))
    r.handle(dad_ns("2001:db8::99"))
    assert received(wire) == []
    assert dropped("t-resp4", frames.IGNORE_ARP_OP) == 2
    assert dropped("t-resp4", frames.IGNORE_DAD) == 2
    assert malformed("t-resp4") == 0
    bad_ck = bytearray(ns("2001:db8::10"))
    bad_ck[56] ^= 0xFF
    for frame in (arp_request("192.0.2.10")[:40], ns_with_zero_length_option(), bytes(bad_ck)):
        r.handle(frame)
    assert received(wire) == []
    assert malformed("t-resp4") == 3
    assert dropped("t-resp4", frames.MALFORMED_TRUNCATED) == 1
    assert dropped("t-resp4", frames.MALFORMED_NS_OPTION) == 1
    assert dropped("t-resp4", frames.MALFORMED_CHECKSUM) == 1


def test_losing_an_ip_stops_answers_at_once() -> None:
    r, wire = responder("t-resp2")
    r.owned.v4.clear()
    r.handle(arp_request("192.0.2.10"))
    assert received(wire) == []


def test_gratuitous_announcements() -> None:
    r, wire = responder("t-resp3")
    assert r.gratuitous(ipaddress.ip_address("192.0.2.10").packed) == 2
    assert r.gratuitous(ipaddress.ip_address("2001:db8::10").packed) == 1
    assert len(received(wire)) == 3


def test_another_mac_announcing_an_owned_ip_is_reported_once_per_frame() -> None:
    r, wire = responder("t-resp5")
    conflicts: list[bytes] = []
    r.on_conflict = conflicts.append
    other = frames.Templates.build(bytes.fromhex("020000000002"))  # another speaker
    v4, v6 = ipaddress.ip_address("192.0.2.10").packed, ipaddress.ip_address("2001:db8::10").packed
    request, reply = other.gratuitous_arp(v4)
    for frame in (request, reply, other.unsolicited_na(v6)):
        r.handle(frame)
    assert conflicts == [v4, v4, v6]
    # ours (another interface of this node on the segment), or for an IP we do not own: nothing
    r.own_macs.add(bytes.fromhex("020000000002"))
    r.handle(reply)
    r.handle(frames.Templates.build(bytes.fromhex("020000000003")).gratuitous_arp(bytes([192, 0, 2, 99]))[1])
    assert conflicts == [v4, v4, v6]
    # a client's normal request for the IP is answered, never a conflict
    r.handle(arp_request("192.0.2.10"))
    assert conflicts == [v4, v4, v6]
    assert [Ether(f)[ARP].op for f in received(wire) if f[12:14] == b"\x08\x06"][-1] == 2


def test_an_ip_limited_to_other_interfaces_is_not_answered_here() -> None:
    """An IP whose L2Advertisements name other interfaces is dropped as not owned on this one."""
    r, wire = responder("t-resp-if")
    v4, v6 = ipaddress.ip_address("192.0.2.10").packed, ipaddress.ip_address("2001:db8::10").packed
    r.owned.interfaces = {v4: ("eth9",), v6: ("t-resp-*",)}
    r.handle(arp_request("192.0.2.10"))
    r.handle(ns("2001:db8::10"))
    (answer,) = received(wire)
    assert answer[12:14] == b"\x86\xdd"  # only the NDP answer: the IPv6 address is limited to this interface
    assert dropped("t-resp-if", "not-owned") == 1
    # another MAC announcing it here is not a conflict: this interface does not answer for it
    conflicts: list[bytes] = []
    r.on_conflict = conflicts.append
    r.handle(frames.Templates.build(bytes.fromhex("020000000002")).gratuitous_arp(v4)[1])
    assert conflicts == []
    r.owned.interfaces = {}
    r.handle(arp_request("192.0.2.10"))
    assert len(received(wire)) == 1
