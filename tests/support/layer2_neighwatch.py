"""Record every change of a client's neighbour entries.

``python -m tests.support.layer2_neighwatch DEV IP [IP...]``.

Run inside the client namespace. Listens to the kernel's neighbour notifications
(the events ``ip monitor neigh`` prints) and also reads the entries every
``POLL`` seconds, so a change is seen even if a notification were coalesced.
Prints ``ready``, then one JSON line per change: CLOCK_MONOTONIC time (shared by
every process on the host, whatever the namespace), IP, MAC (None while the
entry has none) and state. pyroute2 does the netlink work.
"""

from __future__ import annotations

import json
import select
import sys
import time
from typing import Any

from pyroute2 import IPRoute

from tests.support.processes import StopSignal

POLL = 0.002
NUD_STATES = {
    0x01: "INCOMPLETE", 0x02: "REACHABLE", 0x04: "STALE", 0x08: "DELAY",
    0x10: "PROBE", 0x20: "FAILED", 0x40: "NOARP", 0x80: "PERMANENT",
}  # fmt: skip


def entry(msg: Any) -> tuple[str | None, str | None, str]:
    mac = msg.get_attr("NDA_LLADDR")
    return msg.get_attr("NDA_DST"), (mac.lower() if mac else None), NUD_STATES.get(msg["state"], "NONE")


def main(argv: list[str]) -> int:
    dev, ips = argv[0], set(argv[1:])
    stop = StopSignal()
    with IPRoute() as events, IPRoute() as dump:
        events.bind()
        index = dump.link_lookup(ifname=dev)[0]
        last: dict[str, tuple[str | None, str]] = {}

        def seen(ip: str | None, mac: str | None, state: str) -> None:
            if ip not in ips or last.get(ip) == (mac, state):
                return
            last[ip] = (mac, state)
            print(json.dumps({"t": time.monotonic(), "ip": ip, "mac": mac, "state": state}), flush=True)

        print("ready", flush=True)
        while not stop.requested:
            ready, _, _ = select.select([events], [], [], POLL)
            if ready:
                for msg in events.get():
                    if msg.get("event") in ("RTM_NEWNEIGH", "RTM_DELNEIGH") and msg["ifindex"] == index:
                        ip, mac, state = entry(msg)
                        seen(ip, None if msg["event"] == "RTM_DELNEIGH" else mac, state)
            present = set()
            for msg in dump.get_neighbours(ifindex=index):
                ip, mac, state = entry(msg)
                present.add(ip)
                seen(ip, mac, state)
            for ip in ips - present:
                if ip in last:
                    seen(ip, None, "NONE")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
