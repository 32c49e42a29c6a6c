"""Which interfaces answer ARP/NDP: a pure selection over link facts, plus the pyroute2 adapter.

The default set keeps the responder off container plumbing: interfaces that are
up, broadcast-capable, not enslaved to a bridge or bond, not loopback, and not
named like container-side links (``veth*``, ``cali*``, ``docker*``, ``cni*``,
``flannel*``, ``kube-ipvs*``). The config's ``l2.interfaces`` globs replace the
default set (they still need to be up and to have a MAC).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_EXCLUDES = ("veth*", "cali*", "docker*", "cni*", "flannel*", "kube-ipvs*")
IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_LOOPBACK = 0x8


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    mac: bytes
    up: bool = True
    broadcast: bool = True
    loopback: bool = False
    enslaved: bool = False


def select_interfaces(links: Iterable[Link], globs: Sequence[str] = ()) -> tuple[Link, ...]:
    """The links to answer on, sorted by name."""
    chosen: list[Link] = []
    for link in links:
        if not link.up or link.loopback or len(link.mac) != 6 or link.mac == b"\0" * 6:
            continue
        if globs:
            if not any(fnmatch.fnmatchcase(link.name, g) for g in globs):
                continue
        elif (
            not link.broadcast
            or link.enslaved
            or any(fnmatch.fnmatchcase(link.name, g) for g in DEFAULT_EXCLUDES)
        ):
            continue
        chosen.append(link)
    return tuple(sorted(chosen, key=lambda lk: lk.name))


def read_links() -> list[Link]:
    """The links of this network namespace, from netlink (blocking; run it in a thread)."""
    from pyroute2 import IPRoute

    out: list[Link] = []
    with IPRoute() as ipr:
        for msg in ipr.get_links():
            name = msg.get_attr("IFLA_IFNAME")
            addr = msg.get_attr("IFLA_ADDRESS") or ""
            flags = int(msg["flags"])
            try:
                mac = bytes.fromhex(addr.replace(":", ""))
            except ValueError:
                mac = b""
            out.append(
                Link(
                    index=int(msg["index"]),
                    name=str(name),
                    mac=mac,
                    up=bool(flags & IFF_UP),
                    broadcast=bool(flags & IFF_BROADCAST),
                    loopback=bool(flags & IFF_LOOPBACK),
                    enslaved=bool(msg.get_attr("IFLA_MASTER")),
                )
            )
    return out
