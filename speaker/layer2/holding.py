"""Whose IPs this node may be holding: the peers it answers for while they are out (rule 5 of ``swim``).

An IP this node owns is held for every peer out of the live set that outranks
this node for it (``ironlb.announce.layer2.rank``): the one that would own it if
all were back, or one above this node that a client heard in between (a
successor's successor answers when the owner and its successor are both out).
When such a peer is counted in again, the membership tells it so that it
announces its IPs: a client may still reach them through this node (the
membership keeps the peer until then, even if this node no longer owns any of
its IPs: another peer back first may have taken one without announcing it). Eligibility
is ignored (a peer out of the live set is not judged): telling a peer that owns
none of them only makes it announce its own IPs once more.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from ironlb.announce.layer2 import rank
from ironlb.config.model import IPAddress


def held_for(me: str, owned: Iterable[IPAddress], out: Collection[str]) -> frozenset[str]:
    """The peers in ``out`` (known, not live) that outrank ``me`` for an IP in ``owned``."""
    if not out:
        return frozenset()  # the usual case: everyone is live, nothing to hash
    held: set[str] = set()
    for ip in owned:
        mine = rank(me, ip)
        held.update(peer for peer in out if peer not in held and rank(peer, ip) < mine)
    return frozenset(held)
