"""Client-side probes for benchmarks/layer2.py, run inside the client namespace.

Raw AF_PACKET sockets (scapy is far too slow for 20,000 frames/s):

- ``garp IP MAC TIMEOUT``: wait for the first gratuitous ARP for IP from MAC and
  print the CLOCK_MONOTONIC time it arrived (shared by every process on the host);
- ``rate DEV IP RATE SECONDS``: send ARP requests for IP at RATE/s (RATE 0: as
  fast as possible) and count the replies; prints JSON;
- ``latency DEV IP1 IP2 N``: alternate single requests for two IPs and print
  the median request→reply time of each;
- ``watch IP SECONDS``: count the gratuitous ARPs for IP seen during SECONDS, by
  sender MAC (a failover announces; a quiet segment proves none happened); prints JSON.
"""

from __future__ import annotations

import json
import select
import socket
import statistics
import struct
import sys
import time

ETH_P_ARP = 0x0806


def arp_socket(dev: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    s.bind((dev, ETH_P_ARP))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    return s


def if_info(dev: str) -> tuple[bytes, bytes]:
    import fcntl

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ifreq = struct.pack("256s", dev.encode())
    mac = fcntl.ioctl(s.fileno(), 0x8927, ifreq)[18:24]  # SIOCGIFHWADDR
    ip = fcntl.ioctl(s.fileno(), 0x8915, ifreq)[20:24]  # SIOCGIFADDR
    return mac, ip


def request(mac: bytes, ip: bytes, target: bytes) -> bytes:
    return (
        b"\xff" * 6 + mac + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x01"
        + mac + ip + b"\0" * 6 + target + b"\0" * 18
    )  # fmt: skip


def garp(ip: str, mac: str, timeout: float) -> None:
    s = arp_socket("eth1")
    want_ip, want_mac = socket.inet_aton(ip), bytes.fromhex(mac.replace(":", ""))
    print("ready", flush=True)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 0.05)
        if not r:
            continue
        f = s.recv(128)
        if len(f) >= 42 and f[22:28] == want_mac and f[28:32] == want_ip and f[38:42] == want_ip:
            print(f"{time.monotonic():.6f}", flush=True)
            return
    print("timeout", flush=True)


def waiting_replies(s: socket.socket, target: bytes, mac: bytes) -> int:
    """How many of the frames waiting on the non-blocking socket ``s`` are ARP replies for ``target``
    sent to ``mac`` (reads them all)."""
    n = 0
    while True:
        try:
            f = s.recv(128)
        except BlockingIOError:
            return n
        if f[20:22] == b"\x00\x02" and f[28:32] == target and f[0:6] == mac:
            n += 1


def rate(dev: str, ip: str, per_s: float, seconds: float) -> None:
    s = arp_socket(dev)
    s.setblocking(False)
    mac, own = if_info(dev)
    target = socket.inet_aton(ip)
    frame = request(mac, own, target)
    sent = replies = 0
    start = time.monotonic()
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = int((now - start) * per_s) if per_s else sent + 64
        while sent < due:
            try:
                s.send(frame)
                sent += 1
            except BlockingIOError:
                break
        replies += waiting_replies(s, target, mac)
    drain_end = time.monotonic() + 0.5
    while time.monotonic() < drain_end:
        r, _, _ = select.select([s], [], [], 0.05)
        if r:
            replies += waiting_replies(s, target, mac)
    print(json.dumps({"sent": sent, "replies": replies, "seconds": seconds}))


def latency(dev: str, ip1: str, ip2: str, n: int) -> None:
    s = arp_socket(dev)
    mac, own = if_info(dev)
    out: dict[str, list[float]] = {ip1: [], ip2: []}
    for i in range(n):
        for ip in (ip1, ip2) if i % 2 else (ip2, ip1):
            target = socket.inet_aton(ip)
            t0 = time.perf_counter()
            s.send(request(mac, own, target))
            while True:
                r, _, _ = select.select([s], [], [], 1.0)
                if not r:
                    break
                f = s.recv(128)
                if f[20:22] == b"\x00\x02" and f[28:32] == target:
                    out[ip].append(time.perf_counter() - t0)
                    break
            time.sleep(0.002)
    print(json.dumps({ip: statistics.median(v) if v else None for ip, v in out.items()} | {"n": n}))


def watch(ip: str, seconds: float) -> None:
    s = arp_socket("eth1")
    want = socket.inet_aton(ip)
    seen: dict[str, int] = {}
    print("ready", flush=True)
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        r, _, _ = select.select([s], [], [], min(left, 0.05))
        if r:
            f = s.recv(128)
            if len(f) >= 42 and f[28:32] == want and f[38:42] == want:
                mac = f[22:28].hex(":")
                seen[mac] = seen.get(mac, 0) + 1
    print(json.dumps(seen), flush=True)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "garp":
        garp(args[0], args[1], float(args[2]))
    elif cmd == "rate":
        rate(args[0], args[1], float(args[2]), float(args[3]))
    elif cmd == "latency":
        latency(args[0], args[1], args[2], int(args[3]))
    elif cmd == "watch":
        watch(args[0], float(args[1]))
