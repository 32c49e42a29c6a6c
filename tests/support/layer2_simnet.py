"""A simulated network for the SWIM state machine: fake time, random latency, no sleeping, deterministic.

Every datagram is encoded and authenticated with ``wire`` on the way, as on a
real link. Members can be stopped (crashed), stalled (a scheduling pause: what
arrives meanwhile waits), and cut off from each other (``cut`` holds the
directed pairs that lose everything). Each step delivers what is due, then
ticks every member whose deadline came, as the asyncio shell does (receives
before timers).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from speaker.membership import wire
from speaker.membership.swim import Addr, Swim, Timing

KEY = b"k" * 32
DT = 0.005


@dataclass
class Net:
    seed: int = 1
    max_latency: float = 0.002
    timing: Timing = field(default_factory=Timing)
    encode: bool = True
    """Encode and authenticate every datagram (``wire``); off, messages pass as they are (faster)."""
    now: float = 0.0
    nodes: dict[str, Swim] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)
    stalled_until: dict[str, float] = field(default_factory=dict)
    cut: set[tuple[str, str]] = field(default_factory=set)
    deaths: list[tuple[float, str, str]] = field(default_factory=list)
    """(time, observer, member) each time a member is declared dead."""
    datagrams: dict[str, list[int]] = field(default_factory=dict)
    """Sizes in bytes of every datagram each member sent."""
    _queue: list[tuple[float, int, str, Addr, wire.Message | bytes]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @staticmethod
    def addr(name: str) -> Addr:
        return (name, 7946)

    def add(self, name: str, incarnation: int = 1, peers: Iterable[str] | None = None) -> Swim:
        """Start a member; every member's peer set becomes ``peers`` (default: all members)."""
        s = Swim(name, incarnation=incarnation, timing=self.timing, rng=random.Random(f"{self.seed}{name}"))
        self.nodes[name] = s
        self.stopped.discard(name)
        names = list(self.nodes) if peers is None else list(peers)
        for n in self.nodes.values():
            n.set_peers({m: self.addr(m) for m in names}, self.now)
        return s

    def populate(self, names: list[str], incarnation: int = 1) -> None:
        """Start ``names`` at once, each knowing all of them (``add`` one by one is quadratic)."""
        peers = {n: self.addr(n) for n in [*self.nodes, *names]}
        for name in names:
            rng = random.Random(f"{self.seed}{name}")
            self.nodes[name] = Swim(name, incarnation=incarnation, timing=self.timing, rng=rng)
        for s in self.nodes.values():
            s.set_peers(peers, self.now)

    def send(self, src: str, out: list[tuple[Addr, wire.Message]]) -> None:
        for addr, msg in out:
            data: wire.Message | bytes = msg
            if self.encode:
                data = wire.encode(msg, KEY)
                self.datagrams.setdefault(src, []).append(len(data))
            if (src, addr[0]) in self.cut:
                continue
            at = self.now + self.rng.uniform(0, self.max_latency)
            heapq.heappush(self._queue, (at, next(self._order), addr[0], self.addr(src), data))

    def busy(self, name: str) -> bool:
        return name in self.stopped or self.stalled_until.get(name, -1) > self.now

    def step(self) -> None:
        self.now += DT
        held: list[tuple[float, int, str, Addr, wire.Message | bytes]] = []
        while self._queue and self._queue[0][0] <= self.now:
            item = heapq.heappop(self._queue)
            _, _, dst, src, data = item
            if dst in self.stopped or dst not in self.nodes:
                continue
            if self.busy(dst):
                held.append(item)  # a stalled member reads it when it runs again
                continue
            msg = wire.decode(data, KEY) if isinstance(data, bytes) else data
            self.send(dst, self.nodes[dst].receive(msg, src, self.now))
        for item in held:
            heapq.heappush(self._queue, item)
        for name, s in self.nodes.items():
            if not self.busy(name) and self.now >= s.due:  # as the asyncio shell: woken at its deadline
                seen = len(s.transitions)
                self.send(name, s.tick(self.now))
                self.deaths += [(self.now, name, m) for m, _, new, _ in s.transitions[seen:] if new == "dead"]

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / DT)):
            self.step()

    def until(self, pred: Callable[[], object], limit: float) -> float | None:
        """Step until ``pred()`` is true; the time it took, or None after ``limit`` seconds."""
        start = self.now
        while self.now - start < limit:
            if pred():
                return self.now - start
            self.step()
        return None

    def isolate(self, name: str) -> None:
        others = [o for o in self.nodes if o != name]
        self.cut |= {(name, o) for o in others} | {(o, name) for o in others}

    def running(self) -> list[str]:
        return [n for n in self.nodes if n not in self.stopped and not self.nodes[n].left]

    def converged(self) -> bool:
        """Every running member counts exactly the running members live."""
        up = set(self.running())
        return all(self.nodes[n].live() == up for n in up)


def cluster(n: int = 3, **kw: object) -> Net:
    net = Net(**kw)  # type: ignore[arg-type]
    for i in range(n):
        net.add(f"n{i}")
    return net
