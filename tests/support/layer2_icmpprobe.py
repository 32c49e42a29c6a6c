"""``python -m tests.support.layer2_icmpprobe IP INTERVAL``: ping at an exact rate, count every lost packet.

Why not ``ping -i 0.01``: iputils 20221126 paces ``-i 0.01`` at about 16 ms, and
at 5 ms it busy-polls a core, so "lost x interval" would be wrong and the probe
would steal the CPU the speakers need. This probe sends ICMP echo requests from
a raw socket on a fixed schedule (the node's kernel answers: no echo server on
the nodes), carries a 64-bit sequence number in the payload (no 16-bit wrap),
and on SIGINT/SIGTERM stops sending, waits for the replies in flight (until each
request has one, ``GRACE`` seconds at most: a busy machine answers late, and a reply
that comes is no loss) and prints one JSON line: sent, received, the lost sequence numbers, the
longest gap between two replies and the largest round trip. Hand-written: a
dozen lines of ICMP that no library here offers with this accounting.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import socket
import struct
import sys
import time

from ironlb.lab.procs import StopRequest

GRACE = 2.0
ECHO_REQUEST, ECHO_REPLY = 8, 0


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int) -> bytes:
    payload = struct.pack("!Q", seq) + b"ironlb-loss-probe"
    header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, seq & 0xFFFF)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, checksum(header + payload), ident, seq & 0xFFFF) + payload


def parse_reply(packet: bytes, ident: int) -> int | None:
    """The sequence number of our echo reply in an IPv4 packet, else None."""
    if len(packet) < 20:
        return None
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 16:
        return None
    kind, _code, _sum, rid, _seq = struct.unpack("!BBHHH", icmp[:8])
    if kind != ECHO_REPLY or rid != ident:
        return None
    return int(struct.unpack("!Q", icmp[8:16])[0])


def main(argv: list[str]) -> int:
    dst, interval = argv[0], float(argv[1])
    ident = os.getpid() & 0xFFFF
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    stop = StopRequest()
    sent_at: list[float] = []
    replies: dict[int, float] = {}
    dups = 0
    send_errors = 0
    print("ready", flush=True)
    due = time.monotonic()
    end: float | None = None
    while True:
        now = time.monotonic()
        if stop.requested and end is None:
            end = now + GRACE
        if end is not None and (now >= end or len(replies) == len(sent_at)):
            break
        if end is None and now >= due:
            seq = len(sent_at)
            sent_at.append(now)
            try:
                sock.sendto(echo_request(ident, seq), (dst, 0))
            except OSError:
                send_errors += 1  # counted as lost: it never got an answer
            due = due + interval if now - due < interval else now + interval
        wake = end if end is not None else due
        try:
            readable, _, _ = select.select([sock], [], [], max(0.0, wake - time.monotonic()))
        except InterruptedError:
            continue
        while readable:
            try:
                packet = sock.recv(2048, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            seq_r = parse_reply(packet, ident)
            if seq_r is None or seq_r >= len(sent_at):
                continue
            if seq_r in replies:
                dups += 1
            else:
                replies[seq_r] = time.monotonic()
    lost = [s for s in range(len(sent_at)) if s not in replies]
    order = sorted(replies)
    gaps = [replies[b] - replies[a] for a, b in itertools.pairwise(order)]
    rtts = [replies[s] - sent_at[s] for s in order]
    result = {
        "sent": len(sent_at),
        "received": len(replies),
        "lost": lost,
        "lost_at": [round(sent_at[s] - sent_at[0], 4) for s in lost],
        "duplicates": dups,
        "send_errors": send_errors,
        "interval": interval,
        "duration": (sent_at[-1] - sent_at[0]) if sent_at else 0.0,
        "longest_gap": max(gaps, default=0.0),
        "max_rtt": max(rtts, default=0.0),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
