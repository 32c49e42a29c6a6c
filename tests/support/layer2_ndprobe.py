"""``python -m tests.support.layer2_ndprobe IP DEV [WAIT]``: solicit IP on DEV, print the answers seen on DEV.

Why not only ``ndisc6``: it reads advertisements from an ICMPv6 socket that is
not tied to the interface, takes unsolicited ones (the speaker's announcement
burst to ff02::1, even one that arrived on another segment) for the answer, and
stops at the first, so it can prove neither "no answer on this interface" nor
"exactly one answer". This probe sends one Neighbor Solicitation from DEV's
link-local address on a packet socket bound to DEV, listens there for WAIT
seconds, and prints one line per Neighbor Advertisement with the Solicited flag
set, for IP, addressed to us: the target link-layer address it carries. scapy
builds and parses the frames (a test probe, not a hot path).
"""

from __future__ import annotations

import select
import socket
import sys
import time
from pathlib import Path

from scapy.layers.inet6 import (
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import Ether
from scapy.utils6 import in6_getnsma, in6_getnsmac

ETH_P_IPV6 = 0x86DD


def link_local(dev: str) -> str:
    """DEV's link-local address, from /proc/net/if_inet6 (scope 0x20)."""
    for line in Path("/proc/net/if_inet6").read_text().splitlines():
        addr, _idx, _plen, scope, _flags, name = line.split()
        if name == dev and scope == "20":
            return socket.inet_ntop(socket.AF_INET6, bytes.fromhex(addr))
    raise SystemExit(f"{dev} has no link-local address")


def main(argv: list[str]) -> int:
    target, dev = argv[0], argv[1]
    wait = float(argv[2]) if len(argv) > 2 else 1.0
    mac = Path(f"/sys/class/net/{dev}/address").read_text().strip()
    src = link_local(dev)
    group = in6_getnsma(socket.inet_pton(socket.AF_INET6, target))
    solicitation = (
        Ether(src=mac, dst=in6_getnsmac(group))
        / IPv6(src=src, dst=socket.inet_ntop(socket.AF_INET6, group), hlim=255)
        / ICMPv6ND_NS(tgt=target)
        / ICMPv6NDOptSrcLLAddr(lladdr=mac)
    )
    want = socket.inet_pton(socket.AF_INET6, target)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6)) as sock:
        sock.bind((dev, ETH_P_IPV6))
        sock.send(bytes(solicitation))
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([sock], [], [], left)[0]:
                break
            frame = Ether(sock.recv(2048))
            if ICMPv6ND_NA not in frame or frame[IPv6].dst != src:
                continue
            na = frame[ICMPv6ND_NA]
            if na.S != 1 or socket.inet_pton(socket.AF_INET6, na.tgt) != want:
                continue
            lladdr = frame[ICMPv6NDOptDstLLAddr].lladdr if ICMPv6NDOptDstLLAddr in frame else frame.src
            print(str(lladdr).lower(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
