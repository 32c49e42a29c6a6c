"""When this node announces its IPs (gratuitous ARP / unsolicited NA): a pure schedule, time is an argument.

The announcer tells it what this node owns and how the membership looks
(``update``), and that another MAC announced an owned IP (``conflict``); it
answers which IPs to announce now (``due``) and when to ask again
(``next_deadline``). The rules, each for a defect seen in the lab (issue 11):

- *A won IP is announced at once* (a failover), then ``repeats`` more times,
  ``spacing`` apart (longer than Linux's one-second ARP locktime), for
  neighbours that ignored the first one.
- *A burst stops the moment its IP's ownership or the membership changes*:
  its repeats were decided on a view that no longer holds. Left running, a
  burst scheduled while this node was cut off fired after its link was back and
  pulled the client away from the real owner; on a graceful takeover, the old
  owner's pending burst fired ~10 ms after the new owner's.
- *IPs someone else may have held are announced again*: all of them after a
  start or a *comeback* (``Standing.comebacks``: it refuted a verdict the
  others acted on, or contact resumed after a cut), and, when peers come back
  into the live set, each IP whose successor (its owner without this node) is
  one of them: that peer may have held it while they could not see each other
  (a partition, or this node restarted out of its sight), and only this node's
  announcement moves the clients back. A successor that merely restarted never
  held it, so a rolling update costs one burst per IP, not one per node. Each
  waits until the membership is ``in_touch`` (a probe sent since the comeback
  was answered: peers know this node is back and dropped those IPs) and
  ``settle`` seconds passed without a membership change; at the latest
  ``settle_timeout``. Before, the first peer back made a node re-announce IPs
  it owned only because the others were not back yet, a node wrongly counted
  out never announced its IPs again after refuting, and one that saw its peers
  come back one at a time never announced them at all.
- *While the membership is ``isolated``* (its view rests on verdicts reached
  while nobody answered: see ``speaker.membership.swim``), a won IP is
  announced once, without repeats, and conflicts are not answered: if its
  peers really died, that one announcement moves the clients; if it is only
  cut off, nothing is left to fire when its link returns.
- *An owner that sees another MAC announce its IP answers at once* with its
  own announcement (once per conflict), so a stray announcement is corrected in
  one round trip instead of at the client's next neighbour probe. Two owners
  that both believe it (a real split) would answer each other forever: each
  further answer waits ``defend_interval``, doubled each time up to
  ``defend_max``, which resets after ``defend_max`` without a conflict
  (RFC 5227's DEFEND_INTERVAL is 10 s).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ironlb.config.model import IPAddress
from speaker.failover import GratuitousTiming, Standing

__all__ = ["GratuitousSchedule", "GratuitousTiming", "Standing"]


@dataclass
class _Burst:
    at: float
    repeats: int
    started: bool = False
    held_until: float | None = None
    """Waiting for the membership to be in touch, at the latest until then."""


@dataclass
class _Defense:
    last: float = -math.inf
    gap: float = 0.0
    at: float | None = None


@dataclass
class GratuitousSchedule:
    me: str
    timing: GratuitousTiming = field(default_factory=GratuitousTiming)
    owned: frozenset[IPAddress] = frozenset()
    live: frozenset[str] | None = None
    standing: Standing = field(default_factory=Standing)
    _bursts: dict[IPAddress, _Burst] = field(default_factory=dict)
    _defenses: dict[IPAddress, _Defense] = field(default_factory=dict)

    def update(
        self, now: float, owned: Mapping[IPAddress, str | None], live: frozenset[str], standing: Standing
    ) -> None:
        """What this node owns now (each IP with its successor), under which live set, and its standing."""
        first = self.live is None
        came_back = frozenset() if self.live is None else live - self.live
        comeback = first or standing.comebacks > self.standing.comebacks
        if not first and live != self.live:
            self._membership_changed(now)
        for ip in self.owned - owned.keys():
            self._bursts.pop(ip, None)
            self._defenses.pop(ip, None)
        self._plan(
            now, owned, came_back, comeback=comeback, repeats=0 if standing.isolated else self.timing.repeats
        )
        if standing.in_touch or standing.isolated:
            for b in self._bursts.values():
                if b.held_until is not None:  # peers hear us now: announce once they had time to pass it on
                    b.at, b.held_until = max(b.at, now + self.timing.settle), None
        if standing.isolated:
            self._defenses.clear()
            for b in self._bursts.values():
                b.repeats = 0
        self.owned, self.live, self.standing = frozenset(owned), live, standing

    def _membership_changed(self, now: float) -> None:
        """Bursts under way were decided on the old view: stop them; those not started yet wait on."""
        for ip, b in list(self._bursts.items()):
            if b.started:
                del self._bursts[ip]
            else:
                b.at = max(b.at, now + self.timing.settle)

    def _plan(
        self,
        now: float,
        owned: Mapping[IPAddress, str | None],
        came_back: frozenset[str],
        *,
        comeback: bool,
        repeats: int,
    ) -> None:
        """A burst for each IP won (at once), and, held until in touch, for each IP someone else may have
        held: all after a start or comeback, else those whose successor just came back."""
        t = self.timing
        for ip, successor in owned.items():
            if comeback or (ip in self.owned and successor in came_back):
                pending = self._bursts.get(ip)
                if pending is None or pending.held_until is None:  # one still held keeps its place
                    self._bursts[ip] = _Burst(now + t.settle, repeats, held_until=now + t.settle_timeout)
            elif ip not in self.owned:
                self._bursts[ip] = _Burst(now, repeats)  # won: a failover, at once

    def conflict(self, now: float, ip: IPAddress) -> None:
        """Another MAC announced ``ip``: answer at once, or after the back-off if it keeps doing so."""
        if ip not in self.owned or self.standing.isolated:
            return
        d = self._defenses.setdefault(ip, _Defense(gap=self.timing.defend_interval))
        if d.at is None:
            d.at = max(now, d.last + d.gap)

    def pending(self, ip: IPAddress) -> bool:
        """Whether an announcement of ``ip`` is still to come (a new interface then need not announce it)."""
        return ip in self._bursts

    def due(self, now: float) -> list[IPAddress]:
        """The IPs to announce now (each once), advancing their bursts and defenses."""
        out: list[IPAddress] = []
        t = self.timing
        for ip, b in list(self._bursts.items()):
            if (b.at if b.held_until is None else b.held_until) > now:
                continue
            out.append(ip)
            if b.repeats > 0:
                b.at, b.repeats, b.started = now + t.spacing, b.repeats - 1, True
            else:
                del self._bursts[ip]
        for ip, d in self._defenses.items():
            if d.at is None or d.at > now:
                continue
            if ip not in out:
                out.append(ip)
            d.gap = t.defend_interval if now - d.last > t.defend_max else min(d.gap * 2, t.defend_max)
            d.last, d.at = now, None
        return out

    def next_deadline(self) -> float:
        """When ``due`` has something next (infinity: nothing planned)."""
        times = [b.at if b.held_until is None else b.held_until for b in self._bursts.values()]
        times += [d.at for d in self._defenses.values() if d.at is not None]
        return min(times, default=math.inf)

    def clear(self) -> None:
        """Nothing owned any more (stopping): nothing left to announce."""
        self.owned = frozenset()
        self._bursts.clear()
        self._defenses.clear()
