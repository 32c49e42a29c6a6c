"""One interface's ARP/NDP responder: a raw AF_PACKET socket read through the asyncio loop.

A classic BPF program in the kernel passes only ARP frames and ICMPv6 Neighbor
Solicitations and Advertisements that were not sent by this host, so the Python
side sees little else. Each readable event drains the socket; every frame is
decoded by the pure ``frames.decode`` and either answered (if the target is
owned right now) or dropped with a counted reason; only truncated or invalid
frames also count as malformed (ARP replies, DAD probes and requests for other
IPs are normal traffic). A frame in which another MAC announces an owned IP (a
gratuitous ARP, an ARP reply, an overriding NA, or a request sent from that IP)
is reported to ``on_conflict``: the owner answers with its own announcement at
once, so a stray one is corrected in one round trip. The BPF program is
assembled by hand (twelve instructions) because neither scapy nor pyroute2
offers a non-libpcap compiler.
"""

from __future__ import annotations

import asyncio
import ctypes
import fnmatch
import functools
import ipaddress
import logging
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from speaker import metrics
from speaker.layer2 import frames
from speaker.layer2.interfaces import Link

log = logging.getLogger(__name__)

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
SOL_PACKET = 263
PACKET_STATISTICS = 6
RCVBUF = 8 << 20
IPV6_JOIN_GROUP = 20
IPV6_LEAVE_GROUP = 21
DRAIN_BATCH = 512

# (code, jt, jf, k)
BPF_PROGRAM: tuple[tuple[int, int, int, int], ...] = (
    (0x20, 0, 0, 0xFFFFF004),  # ld pkttype
    (0x15, 9, 0, 4),  # jeq PACKET_OUTGOING -> drop
    (0x28, 0, 0, 12),  # ldh [12] ethertype
    (0x15, 6, 0, 0x0806),  # jeq ARP -> accept
    (0x15, 0, 6, 0x86DD),  # jeq IPv6 ? next : drop
    (0x30, 0, 0, 20),  # ldb [20] next header
    (0x15, 0, 4, 58),  # jeq ICMPv6 ? next : drop
    (0x30, 0, 0, 54),  # ldb [54] ICMPv6 type
    (0x15, 1, 0, 135),  # jeq NS -> accept
    (0x15, 0, 1, 136),  # jeq NA ? accept : drop
    (0x06, 0, 0, 0x40000),  # accept
    (0x06, 0, 0, 0),  # drop
)


def attach_filter(sock: socket.socket) -> None:
    prog = b"".join(struct.pack("HBBI", *ins) for ins in BPF_PROGRAM)
    buf = ctypes.create_string_buffer(prog)
    fprog = struct.pack("HL", len(BPF_PROGRAM), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def set_rcvbuf(sock: socket.socket, size: int) -> None:
    """A large receive buffer absorbs request bursts while the loop is busy (root may exceed rmem_max)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def solicited_node(ip: bytes) -> bytes:
    """The solicited-node multicast group (ff02::1:ffXX:XXXX) of an IPv6 address."""
    return bytes.fromhex("ff0200000000000000000001ff") + ip[13:]


@dataclass
class Owned:
    """The IPs answered right now (packed), shared by every responder and changed in place."""

    v4: set[bytes] = field(default_factory=set)
    v6: set[bytes] = field(default_factory=set)
    interfaces: dict[bytes, tuple[str, ...]] = field(default_factory=dict)
    """IPs answered only on the interfaces matching these globs (absent: on every responder's)."""

    def owns(self, ip: bytes, interface: str) -> bool:
        """Whether ``ip`` is answered on ``interface`` right now."""
        if ip not in (self.v4 if len(ip) == 4 else self.v6):
            return False
        globs = self.interfaces.get(ip)
        return globs is None or _matches(interface, globs)


@functools.lru_cache(maxsize=4096)
def _matches(interface: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(interface, g) for g in globs)


@dataclass
class _IPCounters:
    requests: Callable[[], None]
    responses: Callable[[], None]


class InterfaceResponder:
    def __init__(
        self,
        link: Link,
        owned: Owned,
        *,
        own_macs: set[bytes] | None = None,
        on_conflict: Callable[[bytes], None] | None = None,
    ) -> None:
        self.link = link
        self.owned = owned
        self.own_macs = own_macs if own_macs is not None else {link.mac}
        """Every MAC of this node that answers (several interfaces may share a segment): never a conflict."""
        self.on_conflict = on_conflict
        """Called with an owned IP (packed) that another MAC just announced."""
        self.templates = frames.Templates.build(link.mac)
        self._sock: socket.socket | None = None
        self._mcast: socket.socket | None = None
        self._groups: set[bytes] = set()
        self._counters: dict[bytes, _IPCounters] = {}
        self._drops: dict[str, Callable[[], None]] = {}
        self._malformed: Callable[[], None] | None = None
        self.answered = 0

    def open(self) -> None:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            attach_filter(sock)
            set_rcvbuf(sock, RCVBUF)
            sock.bind((self.link.name, ETH_P_ALL))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        try:
            self._mcast = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        except OSError as exc:  # IPv6 disabled in this namespace: NDP groups cannot be joined
            log.warning("%s: no IPv6 socket for multicast groups: %s", self.link.name, exc)
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        log.info("answering ARP/NDP on %s (%s)", self.link.name, frames.mac_text(self.link.mac))

    def close(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self._mcast is not None:
            self._mcast.close()  # leaves every group
            self._mcast = None
        self._groups.clear()

    def collect_kernel_drops(self) -> int:
        """Frames dropped by the kernel since the last call (reading the statistics resets them)."""
        if self._sock is None:
            return 0
        try:
            _packets, drops = struct.unpack("II", self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        except OSError:
            return 0
        if drops:
            metrics.LAYER2_KERNEL_DROPS.labels(self.link.name).inc(drops)
        return int(drops)

    # ---- multicast groups ---------------------------------------------------------

    def sync_groups(self) -> None:
        """Join the solicited-node groups of owned IPv6 addresses, leave the others."""
        if self._mcast is None:
            return
        want = {solicited_node(ip) for ip in self.owned.v6 if self.owned.owns(ip, self.link.name)}
        for group, opt in [(g, IPV6_LEAVE_GROUP) for g in self._groups - want] + [
            (g, IPV6_JOIN_GROUP) for g in want - self._groups
        ]:
            try:
                self._mcast.setsockopt(socket.IPPROTO_IPV6, opt, group + struct.pack("@I", self.link.index))
            except OSError as exc:
                log.warning("%s: multicast group %s: %s", self.link.name, group.hex(), exc)
                continue
            if opt == IPV6_JOIN_GROUP:
                self._groups.add(group)
            else:
                self._groups.discard(group)

    # ---- hot path -----------------------------------------------------------------

    def _drop(self, reason: str) -> None:
        inc = self._drops.get(reason)
        if inc is None:
            inc = self._drops[reason] = metrics.LAYER2_DROPPED.labels(self.link.name, reason).inc
        inc()

    def _ip_counters(self, ip: bytes) -> _IPCounters:
        c = self._counters.get(ip)
        if c is None:
            text = str(ipaddress.ip_address(ip))
            c = self._counters[ip] = _IPCounters(
                metrics.LAYER2_REQUESTS.labels(text).inc, metrics.LAYER2_RESPONSES.labels(text).inc
            )
        return c

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        for _ in range(DRAIN_BATCH):
            try:
                data = sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("%s: receive failed: %s", self.link.name, exc)
                return
            self.handle(data)

    def _claimed(self, ip: bytes, mac: bytes) -> None:
        """Report ``ip`` if another MAC announced it where we answer for it (not where it is not ours)."""
        if mac not in self.own_macs and self.on_conflict is not None and self.owned.owns(ip, self.link.name):
            self.on_conflict(ip)

    def _answer(self, ip: bytes, reply: bytes) -> None:
        """A request for ``ip`` we answer (ARP or NS alike): counted, answered, the answer counted if sent."""
        c = self._ip_counters(ip)
        c.requests()
        if self.send(reply):
            c.responses()

    def handle(self, data: bytes) -> None:
        d = frames.decode(data)
        mac = self.link.mac
        if isinstance(d, frames.ArpRequest):
            self._claimed(d.sender_ip, d.sender_mac)  # also a gratuitous request for it
            if d.eth_dst != frames.ETH_BROADCAST and d.eth_dst != mac:
                self._drop("not-for-us")
            elif not self.owned.owns(d.target_ip, self.link.name):
                self._drop("not-owned")
            elif d.sender_mac == mac:
                self._drop("own-frame")
            else:
                self._answer(d.target_ip, self.templates.arp_reply_to(d))
        elif isinstance(d, frames.NeighborSolicitation):
            if not self.owned.owns(d.target_ip, self.link.name):
                self._drop("not-owned")
            else:
                self._answer(d.target_ip, self.templates.neighbor_advert_to(d))
        else:
            self._drop(d.reason)
            if d.reason in (frames.IGNORE_ARP_OP, frames.IGNORE_NOT_NS):
                claim = frames.announced(data)
                if claim is not None:
                    self._claimed(*claim)
            if isinstance(d, frames.Malformed):
                if self._malformed is None:
                    self._malformed = metrics.LAYER2_MALFORMED.labels(self.link.name).inc
                self._malformed()

    def send(self, frame: bytes) -> bool:
        sock = self._sock
        if sock is None:
            return False
        try:
            sock.send(frame)
        except OSError:
            metrics.LAYER2_SEND_ERRORS.labels(self.link.name).inc()
            return False
        self.answered += 1
        return True

    def gratuitous(self, ip: bytes) -> int:
        """Announce ``ip`` at our MAC: gratuitous ARP request and reply, or an unsolicited NA."""
        frames_out = (
            self.templates.gratuitous_arp(ip) if len(ip) == 4 else (self.templates.unsolicited_na(ip),)
        )
        return sum(self.send(f) for f in frames_out)
