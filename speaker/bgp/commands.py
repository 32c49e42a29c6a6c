"""ExaBGP API commands for a change of desired routes (pure).

The driver keeps, per peer, the routes ExaBGP has acknowledged; this module turns
(acknowledged, desired) into the commands that make one into the other, and
nothing else: ``announce route`` for a new or changed route, ``withdraw route``
for a prefix no longer wanted, each aimed at one session with a ``neighbor``
selector. Announcing a prefix again with other attributes replaces it (BGP's
implicit withdraw), so a changed route costs one command.

Announcements go before withdrawals so that a prefix moving to another
aggregation length is never absent from the router.

Every token is checked for control characters before it is put in a command:
the API is a line protocol, and a newline inside a value would be a second
command.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from ironlb.announce.bgp import BgpRoute
from ironlb.config.model import IPNetwork


class UnsafeCommand(ValueError):
    """A value would smuggle a control character into the line protocol (a bug upstream)."""


def _safe(token: str) -> str:
    if not token or any(ord(c) < 0x21 or ord(c) == 0x7F for c in token):
        raise UnsafeCommand(f"refusing token with control characters or blanks: {token!r}")
    return token


@dataclass(frozen=True)
class Command:
    """One API line and what an acknowledgement of it means for the peer's acknowledged set."""

    peer: str
    action: Literal["announce", "withdraw"]
    route: BgpRoute
    line: str


def announce_line(peer: str, route: BgpRoute) -> str:
    parts = ["neighbor", _safe(peer), "announce", "route", _safe(str(route.prefix)), "next-hop", "self"]
    if route.localpref is not None:
        parts += ["local-preference", _safe(str(int(route.localpref)))]
    if route.communities:
        parts += ["community", "[", *(_safe(c) for c in route.communities), "]"]
    if route.large_communities:
        parts += ["large-community", "[", *(_safe(c) for c in route.large_communities), "]"]
    return " ".join(parts)


def withdraw_line(peer: str, route: BgpRoute) -> str:
    return " ".join(
        ["neighbor", _safe(peer), "withdraw", "route", _safe(str(route.prefix)), "next-hop", "self"]
    )


def _wire_equal(a: BgpRoute, b: BgpRoute) -> bool:
    return (a.prefix, a.communities, a.large_communities, a.localpref) == (
        b.prefix,
        b.communities,
        b.large_communities,
        b.localpref,
    )


def difference(
    peer: str,
    acknowledged: Mapping[IPNetwork, BgpRoute],
    desired: Iterable[BgpRoute],
    *,
    skip: Mapping[IPNetwork, BgpRoute] | None = None,
    force: bool = False,
) -> list[Command]:
    """Commands turning ``acknowledged`` into ``desired`` for one peer.

    ``skip`` holds routes ExaBGP answered ``error`` to: they are not sent again
    until they change (an error is a bug to report, not something to retry).
    ``force`` announces every desired route again (after a reconnect, a session
    flap or a reload), while withdrawals still follow ``acknowledged``.
    """
    want = {r.prefix: r for r in desired}
    skip = skip or {}
    commands: list[Command] = []
    for prefix in sorted(want, key=lambda p: (p.version, p)):
        route = want[prefix]
        have = acknowledged.get(prefix)
        if not force and have is not None and _wire_equal(have, route):
            continue
        rejected = skip.get(prefix)
        if not force and rejected is not None and _wire_equal(rejected, route):
            continue
        commands.append(Command(peer, "announce", route, announce_line(peer, route)))
    for prefix in sorted(acknowledged, key=lambda p: (p.version, p)):
        if prefix not in want:
            route = acknowledged[prefix]
            commands.append(Command(peer, "withdraw", route, withdraw_line(peer, route)))
    return commands
