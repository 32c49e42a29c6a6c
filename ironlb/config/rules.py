"""Rules that span items of the config: unique names, overlapping pools, duplicate peers.

Kept apart from the per-item conversion because each of these looks at the whole
list at once. Names and address ranges are checked for every item that has them,
even an item with other errors (a duplicate name is worth knowing about at once);
duplicate peers only among peers that converted cleanly, so a field that failed
to decode cannot make two peers look alike.

Duplicate peers (a decision; MetalLB ≤0.12 only refused peers equal in every
field): two peers are duplicates when they have the same ``peer-address``,
``peer-port`` and ``source-address`` and the same set of node selectors. Such
peers would open two sessions to one router from the same nodes, differing at
most in timers or password, which is ambiguous; peers that differ in node
selectors are allowed (different nodes may peer with the same router).
"""

from __future__ import annotations

from collections.abc import Sequence

from ironlb.config.errors import Problems, join_path
from ironlb.config.model import AddressRange, Peer


def check_unique_names(p: Problems, section: str, names: Sequence[tuple[int, str | None]]) -> None:
    first: dict[str, int] = {}
    for index, name in names:
        if not name:
            continue
        if name in first:
            p.error(
                join_path(section, index, "name"),
                f"duplicate name {name!r} (first defined at {section}[{first[name]}])",
            )
        else:
            first[name] = index


def overlaps(ranges: Sequence[AddressRange]) -> list[tuple[int, int]]:
    """Pairs ``(later, earlier)`` of indices into ``ranges`` whose addresses overlap, ``later`` > ``earlier``.

    Sorted sweep, O(n log n): each entry is compared with the entry reaching furthest among
    those sorted before it (so each overlapping entry is named once, with one it overlaps).
    """
    order = sorted(
        range(len(ranges)),
        key=lambda i: (ranges[i].first.version, int(ranges[i].first), int(ranges[i].last), i),
    )
    out: list[tuple[int, int]] = []
    reach: int | None = None
    for i in order:
        entry = ranges[i]
        same_family = reach is not None and ranges[reach].first.version == entry.first.version
        if reach is not None and same_family and int(entry.first) <= int(ranges[reach].last):
            out.append((max(i, reach), min(i, reach)))
        if (
            reach is None
            or ranges[reach].first.version != entry.first.version
            or int(entry.last) > int(ranges[reach].last)
        ):
            reach = i
    return out


def check_pool_overlaps(p: Problems, pools: Sequence[tuple[int, str, Sequence[AddressRange]]]) -> None:
    """No address may belong to two entries, within a pool or across pools (both families).

    The error is put on whichever of the two comes later in the document.
    """
    where = [
        (pool_index, addr_index, name)
        for pool_index, name, ranges in pools
        for addr_index in range(len(ranges))
    ]
    flat = [r for _, _, ranges in pools for r in ranges]
    for later, earlier in overlaps(flat):
        lp, la, _ = where[later]
        ep, ea, ename = where[earlier]
        p.error(
            join_path("address-pools", lp, "addresses", la),
            f"{show_range(flat[later])} overlaps {show_range(flat[earlier])} of pool {ename!r} "
            f"({join_path('address-pools', ep, 'addresses', ea)})",
        )


def show_range(r: AddressRange) -> str:
    """How an address entry reads in a message: as the user wrote it."""
    return repr(r.text) if r.text else f"'{r.first}-{r.last}'"


def peer_key(peer: Peer) -> object:
    """Two peers with the same key are duplicates (see the module docstring)."""
    return (peer.peer_address, peer.peer_port, peer.source_address, frozenset(peer.node_selectors))


def check_duplicate_peers(p: Problems, peers: Sequence[tuple[int, Peer]]) -> None:
    first: dict[object, int] = {}
    for index, peer in peers:
        key = peer_key(peer)
        if key in first:
            p.error(
                join_path("peers", index),
                f"duplicate peer {peer.peer_address} port {peer.peer_port} (same address, port, "
                f"source address and node selectors as peers[{first[key]}])",
            )
        else:
            first[key] = index
