"""Which addresses of one address range are taken, in space that grows with allocations, not range size.

Hand-written because no library offers exactly this: an integer interval set
over a *dense* coordinate that skips the addresses ``avoid-buggy-ips`` forbids
(IPv4 ``.0`` and ``.255``), answering "lowest free address" in O(log n). Taken
addresses are kept as maximal runs ``[start, end]`` (``sortedcontainers`` keeps
the run starts sorted); the lowest free address is just past the run that
starts at 0, because runs are maximal. Nothing ever enumerates the range, so a
/64 costs what a /30 costs.
"""

from __future__ import annotations

import ipaddress

from sortedcontainers import SortedList

from ironlb.config.model import AddressRange, IPAddress

_BLOCK = 256
_USABLE_PER_BLOCK = 254  # .1 .. .254


def _usable_below(x: int) -> int:
    """How many non-buggy IPv4 addresses (last octet 1..254) lie in ``[0, x)``."""
    low = x % _BLOCK
    return (x // _BLOCK) * _USABLE_PER_BLOCK + min(max(low - 1, 0), _USABLE_PER_BLOCK)


def is_buggy(ip: IPAddress) -> bool:
    """An IPv4 address ending in .0 or .255 (some old clients mishandle them)."""
    return ip.version == 4 and int(ip) % _BLOCK in (0, _BLOCK - 1)


class RangeIndex:
    """The taken addresses of one range, as maximal runs of dense indexes ``0 .. size-1``."""

    def __init__(self, rng: AddressRange, avoid_buggy: bool) -> None:
        self.range = rng
        self.family = rng.family
        self._first = int(rng.first)
        self._last = int(rng.last)
        self.avoid_buggy = avoid_buggy and rng.family == 4
        self._base = _usable_below(self._first) if self.avoid_buggy else self._first
        if self.avoid_buggy:
            self.size = _usable_below(self._last + 1) - self._base
        else:
            self.size = self._last - self._first + 1
        self.used = 0
        self._starts = SortedList()
        self._ends: dict[int, int] = {}

    # --- coordinates -------------------------------------------------------------------------

    def index_of(self, ip: IPAddress) -> int | None:
        """Dense index of ``ip``, or ``None`` when outside the range or avoided."""
        if ip.version != self.range.first.version:
            return None
        x = int(ip)
        if not self._first <= x <= self._last:
            return None
        if self.avoid_buggy:
            if x % _BLOCK in (0, _BLOCK - 1):
                return None
            return _usable_below(x) - self._base
        return x - self._first

    def ip_at(self, index: int) -> IPAddress:
        if self.avoid_buggy:
            t = index + self._base
            x = (t // _USABLE_PER_BLOCK) * _BLOCK + t % _USABLE_PER_BLOCK + 1
        else:
            x = self._first + index
        return ipaddress.IPv4Address(x) if self.family == 4 else ipaddress.IPv6Address(x)

    def holds(self, ip: IPAddress) -> bool:
        """Whether ``ip`` is inside the range and usable (not avoided)."""
        return self.index_of(ip) is not None

    # --- runs --------------------------------------------------------------------------------

    def _run_at(self, k: int) -> tuple[int, int] | None:
        i = self._starts.bisect_right(k) - 1
        if i < 0:
            return None
        start: int = self._starts[i]
        end = self._ends[start]
        return (start, end) if k <= end else None

    def is_taken(self, k: int) -> bool:
        return self._run_at(k) is not None

    def take(self, k: int) -> None:
        """Mark index ``k`` taken (it must be free: callers check, this does not)."""
        start, end = k, k
        i = self._starts.bisect_right(k) - 1
        if i >= 0:
            left: int = self._starts[i]
            if self._ends[left] == k - 1:
                start = left
        right_end = self._ends.pop(k + 1, None)
        if right_end is not None:
            self._starts.remove(k + 1)
            end = right_end
        if start == k:
            self._starts.add(k)
        self._ends[start] = end
        self.used += 1

    def free(self, k: int) -> None:
        """Mark index ``k`` free (it must be taken)."""
        run = self._run_at(k)
        assert run is not None, k
        start, end = run
        if start == k:
            self._starts.remove(start)
            del self._ends[start]
        else:
            self._ends[start] = k - 1
        if k < end:
            self._starts.add(k + 1)
            self._ends[k + 1] = end
        self.used -= 1

    def first_free(self) -> int | None:
        """The lowest free index, or ``None`` when the range is full. O(1) after O(log n) upkeep."""
        if self.used >= self.size:
            return None
        if not self._starts or self._starts[0] > 0:
            return 0
        return self._ends[0] + 1

    def runs(self) -> list[tuple[int, int]]:
        """The taken runs, for tests."""
        return [(s, self._ends[s]) for s in self._starts]
