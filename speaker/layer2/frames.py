"""ARP and NDP frames: decoding requests (pure), reading announcements, building answers from templates.

The responder's hot path must stay cheap (LAB.md: scapy answers ~1,700 frames/s,
a raw-socket loop 20,000/s+), so decoding is a hand-written pure function over
bytes that returns a request, or why the frame is dropped, and never raises:
*ignored* (valid traffic that is not a request for us, such as the gratuitous
ARP replies of every failover or DAD probes) apart from *malformed* (truncated
or invalid), so that only the latter feed the malformed-frame alert. scapy
builds the frame templates once per interface, and answers are spliced from
them. The ICMPv6 checksum is computed here (a few lines) because scapy's
per-packet build would dominate the cost of an NDP answer. ``announced`` reads
what an ARP reply or an overriding Neighbor Advertisement tells its receivers
(this IP is at this MAC), so that an owner notices another node announcing its IP.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

ETH_BROADCAST = b"\xff" * 6
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100
IPPROTO_ICMPV6 = 58
ND_NEIGHBOR_SOLICIT = 135
ND_NEIGHBOR_ADVERT = 136
ND_NA_OVERRIDE = 0x20
ND_OPT_SOURCE_LLADDR = 1
ND_OPT_TARGET_LLADDR = 2
ALL_NODES = ipaddress.IPv6Address("ff02::1").packed
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
MIN_FRAME = 60

# Why a frame is not answered: the label values of ironlb_layer2_frames_dropped{reason}.
# Ignored: well-formed traffic that is simply not a request for us. ARP replies (every
# gratuitous reply at a failover), DAD probes and other ICMPv6 are normal on a segment.
IGNORE_ETHERTYPE = "not-arp-or-ipv6"
IGNORE_VLAN = "vlan-tagged"
IGNORE_ARP_PROTOCOL = "arp-not-ethernet-ipv4"
IGNORE_ARP_OP = "arp-not-request"
IGNORE_NOT_ICMPV6 = "ipv6-not-icmpv6"
IGNORE_NOT_NS = "icmpv6-not-ns"
IGNORE_DAD = "ns-duplicate-address-detection"
# Malformed: truncated, inconsistent, or invalid per RFC 826 / RFC 4861 section 7.1.1
# (the only ones ironlb_layer2_malformed_frames counts: a rise means a broken or hostile sender).
MALFORMED_TRUNCATED = "truncated"
MALFORMED_ARP_HEADER = "arp-bad-header"
MALFORMED_ARP_SOURCE = "arp-bad-sender"
MALFORMED_IPV6_HEADER = "ipv6-bad-header"
MALFORMED_NS_CODE = "ns-bad-code"
MALFORMED_HOP_LIMIT = "ns-hop-limit-not-255"
MALFORMED_CHECKSUM = "ns-bad-checksum"
MALFORMED_NS_TARGET = "ns-bad-target"
MALFORMED_NS_OPTION = "ns-bad-option"
MALFORMED_DAD_LLADDR = "ns-dad-with-source-lladdr"

IGNORE_REASONS = (
    IGNORE_ETHERTYPE, IGNORE_VLAN, IGNORE_ARP_PROTOCOL, IGNORE_ARP_OP, IGNORE_NOT_ICMPV6,
    IGNORE_NOT_NS, IGNORE_DAD,
)  # fmt: skip
MALFORMED_REASONS = (
    MALFORMED_TRUNCATED, MALFORMED_ARP_HEADER, MALFORMED_ARP_SOURCE, MALFORMED_IPV6_HEADER,
    MALFORMED_NS_CODE, MALFORMED_HOP_LIMIT, MALFORMED_CHECKSUM, MALFORMED_NS_TARGET,
    MALFORMED_NS_OPTION, MALFORMED_DAD_LLADDR,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ArpRequest:
    eth_src: bytes
    eth_dst: bytes
    sender_mac: bytes
    sender_ip: bytes
    """4 bytes, packed."""
    target_ip: bytes

    @property
    def target(self) -> ipaddress.IPv4Address:
        return ipaddress.IPv4Address(self.target_ip)


@dataclass(frozen=True, slots=True)
class NeighborSolicitation:
    eth_src: bytes
    eth_dst: bytes
    src_ip: bytes
    """16 bytes, packed."""
    dst_ip: bytes
    target_ip: bytes
    source_lladdr: bytes | None

    @property
    def target(self) -> ipaddress.IPv6Address:
        return ipaddress.IPv6Address(self.target_ip)


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed frame that is not a request we answer (one of ``IGNORE_REASONS``)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Malformed:
    """A truncated, inconsistent or invalid frame (one of ``MALFORMED_REASONS``)."""

    reason: str


Drop = Ignored | Malformed
Decoded = ArpRequest | NeighborSolicitation | Ignored | Malformed


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def icmpv6_checksum(src: bytes, dst: bytes, icmp: bytes) -> int:
    pseudo = src + dst + struct.pack("!IxxxB", len(icmp), IPPROTO_ICMPV6)
    return checksum(pseudo + icmp)


def decode(frame: bytes) -> Decoded:
    """Decode an Ethernet frame into an ARP request, a Neighbor Solicitation, or why it is dropped.

    Traffic that is valid but not a request for us is ``Ignored``; only frames that
    are broken (truncated, inconsistent lengths, bad checksum, invalid fields) are
    ``Malformed``, so a malformed-frame alert does not fire on a normal failover.
    """
    if len(frame) < 14:
        return Malformed(MALFORMED_TRUNCATED)
    ethertype = (frame[12] << 8) | frame[13]
    if ethertype == ETH_P_ARP:
        return _decode_arp(frame)
    if ethertype == ETH_P_IPV6:
        return _decode_ns(frame)
    if ethertype == ETH_P_8021Q:
        return Ignored(IGNORE_VLAN)
    return Ignored(IGNORE_ETHERTYPE)


def _decode_arp(frame: bytes) -> Decoded:
    if len(frame) < 22:
        return Malformed(MALFORMED_TRUNCATED)
    if frame[14:18] != b"\x00\x01\x08\x00":
        return Ignored(IGNORE_ARP_PROTOCOL)  # ARP for another hardware or protocol type
    if frame[18:20] != b"\x06\x04":
        return Malformed(MALFORMED_ARP_HEADER)  # Ethernet/IPv4 with other address lengths
    if len(frame) < 42:
        return Malformed(MALFORMED_TRUNCATED)
    if frame[20:22] != b"\x00\x01":
        return Ignored(IGNORE_ARP_OP)  # replies (gratuitous ones at every failover), other ops
    sender_mac = frame[22:28]
    if sender_mac[0] & 1 or sender_mac == b"\0" * 6:
        return Malformed(MALFORMED_ARP_SOURCE)
    return ArpRequest(
        eth_src=frame[6:12],
        eth_dst=frame[0:6],
        sender_mac=sender_mac,
        sender_ip=frame[28:32],
        target_ip=frame[38:42],
    )


def _decode_ns(frame: bytes) -> Decoded:
    if len(frame) < 54:
        return Malformed(MALFORMED_TRUNCATED)
    if frame[14] >> 4 != 6:
        return Malformed(MALFORMED_IPV6_HEADER)
    payload_len = (frame[18] << 8) | frame[19]
    if frame[20] != IPPROTO_ICMPV6:
        return Ignored(IGNORE_NOT_ICMPV6)  # other protocols, or extension headers (MLD reports)
    if len(frame) < 54 + payload_len or payload_len < 4:
        return Malformed(MALFORMED_TRUNCATED)
    icmp = frame[54 : 54 + payload_len]
    if icmp[0] != ND_NEIGHBOR_SOLICIT:
        return Ignored(IGNORE_NOT_NS)  # advertisements, router discovery, echo, MLD, ...
    if icmp[1] != 0:
        return Malformed(MALFORMED_NS_CODE)
    if len(icmp) < 24:
        return Malformed(MALFORMED_TRUNCATED)
    if frame[21] != 255:
        return Malformed(MALFORMED_HOP_LIMIT)  # forwarded by a router: off-link, hence forged
    src, dst = frame[22:38], frame[38:54]
    if icmpv6_checksum(src, dst, icmp) != 0:
        return Malformed(MALFORMED_CHECKSUM)
    target = icmp[8:24]
    if target[0] == 0xFF:
        return Malformed(MALFORMED_NS_TARGET)
    lladdr: bytes | None = None
    opts = icmp[24:]
    while opts:
        if len(opts) < 2 or opts[1] == 0 or len(opts) < opts[1] * 8:
            return Malformed(MALFORMED_NS_OPTION)
        if opts[0] == ND_OPT_SOURCE_LLADDR and opts[1] == 1:
            lladdr = opts[2:8]
        opts = opts[opts[1] * 8 :]
    if src == b"\0" * 16:
        # Duplicate Address Detection: a host probing whether an address is free.
        if lladdr is not None:
            return Malformed(MALFORMED_DAD_LLADDR)
        return Ignored(IGNORE_DAD)
    return NeighborSolicitation(
        eth_src=frame[6:12],
        eth_dst=frame[0:6],
        src_ip=src,
        dst_ip=dst,
        target_ip=target,
        source_lladdr=lladdr,
    )


def announced(frame: bytes) -> tuple[bytes, bytes] | None:
    """(IP, MAC) that an ARP reply, or a Neighbor Advertisement with the Override flag, makes its receivers
    store; None for any other frame. A gratuitous ARP *request* is an ``ArpRequest`` (its sender fields).

    Read only for frames ``decode`` ignored, so length and type checks are all it needs: a forged one
    costs at most one announcement of ours.
    """
    if (
        len(frame) >= 42
        and frame[12:14] == b"\x08\x06"
        and frame[14:22] == b"\x00\x01\x08\x00\x06\x04\x00\x02"
    ):
        return frame[28:32], frame[22:28]
    if len(frame) < 78 or frame[12:14] != b"\x86\xdd" or frame[20] != IPPROTO_ICMPV6:
        return None
    icmp = frame[54 : 54 + ((frame[18] << 8) | frame[19])]
    if len(icmp) < 24 or icmp[0] != ND_NEIGHBOR_ADVERT or not icmp[4] & ND_NA_OVERRIDE:
        return None
    mac, opts = frame[6:12], icmp[24:]
    while len(opts) >= 8 and opts[1]:
        if opts[0] == ND_OPT_TARGET_LLADDR and opts[1] == 1:
            mac = opts[2:8]
        opts = opts[opts[1] * 8 :]
    return icmp[8:24], mac


def _pad(frame: bytes) -> bytes:
    return frame + b"\0" * (MIN_FRAME - len(frame)) if len(frame) < MIN_FRAME else frame


def mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


@dataclass(frozen=True)
class Templates:
    """Answers for one interface (one MAC), built with scapy once, spliced per request."""

    mac: bytes
    arp_reply: bytes
    arp_gratuitous_request: bytes
    arp_gratuitous_reply: bytes
    neighbor_advert: bytes

    @classmethod
    def build(cls, mac: bytes) -> Templates:
        from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
        from scapy.layers.l2 import ARP, Ether

        m = mac_text(mac)
        bcast = mac_text(ETH_BROADCAST)
        arp_reply = Ether(src=m, dst=bcast) / ARP(op=2, hwsrc=m, psrc="0.0.0.0", hwdst=bcast, pdst="0.0.0.0")
        garp_req = Ether(src=m, dst=bcast) / ARP(
            op=1, hwsrc=m, psrc="0.0.0.0", hwdst="00:00:00:00:00:00", pdst="0.0.0.0"
        )
        garp_rep = Ether(src=m, dst=bcast) / ARP(op=2, hwsrc=m, psrc="0.0.0.0", hwdst=m, pdst="0.0.0.0")
        na = (
            Ether(src=m, dst=mac_text(ALL_NODES_MAC))
            / IPv6(src="::", dst="ff02::1", hlim=255)
            / ICMPv6ND_NA(R=0, S=0, O=1, tgt="::", cksum=0)
            / ICMPv6NDOptDstLLAddr(lladdr=m)
        )
        return cls(
            mac=mac,
            arp_reply=bytes(arp_reply),
            arp_gratuitous_request=bytes(garp_req),
            arp_gratuitous_reply=bytes(garp_rep),
            neighbor_advert=bytes(na),
        )

    def arp_reply_to(self, req: ArpRequest) -> bytes:
        t = self.arp_reply
        return _pad(req.sender_mac + t[6:28] + req.target_ip + req.sender_mac + req.sender_ip)

    def gratuitous_arp(self, ip: bytes) -> tuple[bytes, bytes]:
        """A gratuitous ARP request and reply announcing ``ip`` at this MAC."""
        rq, rp = self.arp_gratuitous_request, self.arp_gratuitous_reply
        return (
            _pad(rq[:28] + ip + rq[32:38] + ip),
            _pad(rp[:28] + ip + rp[32:38] + ip),
        )

    def _na(self, eth_dst: bytes, src: bytes, dst: bytes, target: bytes, solicited: bool) -> bytes:
        t = self.neighbor_advert
        flags = b"\x60" if solicited else b"\x20"  # S|O or O
        icmp = bytearray(t[54:])
        icmp[2:4] = b"\0\0"
        icmp[4:5] = flags
        icmp[8:24] = target
        icmp[2:4] = struct.pack("!H", icmpv6_checksum(src, dst, bytes(icmp)))
        return eth_dst + t[6:22] + src + dst + bytes(icmp)

    def neighbor_advert_to(self, ns: NeighborSolicitation) -> bytes:
        """A solicited NA (Solicited and Override set), from the target, to the solicitor."""
        eth_dst = ns.source_lladdr or ns.eth_src
        return self._na(eth_dst, ns.target_ip, ns.src_ip, ns.target_ip, solicited=True)

    def unsolicited_na(self, ip: bytes) -> bytes:
        """An unsolicited NA (Override set) to all nodes, announcing ``ip`` at this MAC."""
        return self._na(ALL_NODES_MAC, ip, ALL_NODES, ip, solicited=False)
