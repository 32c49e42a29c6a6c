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
from dataclasses import dataclass

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


@dataclass(frozen=True)
class _Entry:
    version: int
    first: int
    last: int
    pool_index: int
    addr_index: int
    range: AddressRange
    pool_name: str

    @property
    def path(self) -> str:
        return join_path("address-pools", self.pool_index, "addresses", self.addr_index)


def check_pool_overlaps(p: Problems, pools: Sequence[tuple[int, str, Sequence[AddressRange]]]) -> None:
    """No address may belong to two entries, within a pool or across pools (both families).

    Sorted sweep, O(n log n) in the number of entries: each entry is compared with
    the entry reaching furthest among those sorted before it. The error is put on
    whichever of the two comes later in the document.
    """
    entries = sorted(
        (
            _Entry(r.first.version, int(r.first), int(r.last), pool_index, addr_index, r, name)
            for pool_index, name, ranges in pools
            for addr_index, r in enumerate(ranges)
        ),
        key=lambda e: (e.version, e.first, e.last, e.pool_index, e.addr_index),
    )
    reach: _Entry | None = None
    for entry in entries:
        if reach is not None and reach.version == entry.version and entry.first <= reach.last:
            earlier, later = sorted((entry, reach), key=lambda e: (e.pool_index, e.addr_index))
            p.error(
                later.path,
                f"{_show(later.range)} overlaps {_show(earlier.range)} of pool {earlier.pool_name!r} "
                f"({earlier.path})",
            )
        if reach is None or reach.version != entry.version or entry.last > reach.last:
            reach = entry


def _show(r: AddressRange) -> str:
    return repr(r.text) if r.text else f"'{r.first}-{r.last}'"


def check_duplicate_peers(p: Problems, peers: Sequence[tuple[int, Peer]]) -> None:
    first: dict[object, int] = {}
    for index, peer in peers:
        key = (peer.peer_address, peer.peer_port, peer.source_address, frozenset(peer.node_selectors))
        if key in first:
            p.error(
                join_path("peers", index),
                f"duplicate peer {peer.peer_address} port {peer.peer_port} (same address, port, "
                f"source address and node selectors as peers[{first[key]}])",
            )
        else:
            first[key] = index
