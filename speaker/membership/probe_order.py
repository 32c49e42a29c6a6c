"""Which peer a SWIM member probes next: a shuffled round-robin, or after a comeback the peer heard last.

SWIM's round-robin over a random permutation bounds the time until a dead
peer is probed (at most two rounds), unlike picking at random each time; a
new permutation per round, and never the same peer twice in a row.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from speaker.membership.records import Member


@dataclass
class ProbeOrder:
    rng: random.Random
    _order: list[str] = field(default_factory=list)
    _last: str = ""

    def next(self, members: Mapping[str, Member]) -> str | None:
        """The next peer of a shuffled round-robin; members that left are never probed."""
        refilled = False
        while True:
            if not self._order:
                if refilled or not members:
                    return None  # every member has left: nothing to probe
                self._order = sorted(members)
                self.rng.shuffle(self._order)
                if len(self._order) > 1 and self._last == self._order[-1]:
                    self._order[0], self._order[-1] = self._order[-1], self._order[0]  # not twice in a row
                refilled = True
            name = self._order.pop()
            m = members.get(name)
            if m is not None and m.status != "left":
                self._last = name
                return name

    def heard_last(self, members: Mapping[str, Member]) -> str | None:
        """Right after coming back: the peer we heard from last (it surely hears us too), whatever we
        held of it: a peer made alive again by a withdrawn verdict may have died meanwhile."""
        heard = [m for m in members.values() if m.status != "left" and m.heard > -math.inf]
        heard = heard or [m for m in members.values() if m.status == "alive"]  # starting: none yet
        return max(heard, key=lambda m: (m.heard, m.name)).name if heard else self.next(members)
