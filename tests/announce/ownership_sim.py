"""Layer-2 ownership end to end in fake time: membership, election, announcement schedule and a client.

Each node runs the real pure parts a speaker runs: the SWIM state machine
(``tests.support.layer2_simnet``), the election (``ironlb.announce.layer2.owner``, every
node eligible) and the ``GratuitousSchedule``; the shell around them does what
``speaker.layer2.announcer`` does (update the schedule when the live set or the
node's standing changes, tell the membership whose IPs it holds, send what is
due, answer conflicts at once). An
announcement reaches the client, whose neighbour entry it overrides (a
gratuitous ARP), and every other node on the same side of a cut, which reports
a conflict if it owns the IP. The client does not send requests: only
announcements move its entries, which is how a stray one would stick.
Partitions have two sides, the client on one of them; asymmetric reachability
(A hears B, B hears C, A does not hear C) is not modelled.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ironlb.announce.layer2 import owner
from ironlb.config.model import IPAddress
from speaker.layer2.gratuitous import GratuitousSchedule, GratuitousTiming
from speaker.layer2.holding import held_for
from speaker.membership.swim import Standing
from tests.support.layer2_simnet import Net

CLIENT = "client"
IPS: tuple[IPAddress, ...] = tuple(ipaddress.ip_address(f"192.0.2.{i}") for i in range(1, 13))


@dataclass
class Announcement:
    t: float
    node: str
    ip: IPAddress


@dataclass
class Segment:
    """A layer-2 segment of speakers and one client, over a simulated membership network."""

    net: Net
    timing: GratuitousTiming = field(default_factory=GratuitousTiming)
    schedules: dict[str, GratuitousSchedule] = field(default_factory=dict)
    seen: dict[str, tuple[frozenset[str], Standing]] = field(default_factory=dict)
    entries: dict[IPAddress, list[tuple[float, str]]] = field(default_factory=dict)
    """Per IP, (time, node) each time the client's entry changed."""
    announced: list[Announcement] = field(default_factory=list)
    _incarnation: int = 100

    def start(self, name: str) -> None:
        """A speaker starts (a new node joins, or a crashed one comes back with a higher incarnation)."""
        self._incarnation += 1
        new = name not in self.net.nodes
        names = set(self.net.nodes) | {name}
        self.net.add(name, incarnation=self._incarnation, peers=sorted(names))
        away = {n for n in names if not self.connected(n, CLIENT)} - {name}
        if new and away:  # a partition has two sides: a new node joins the client's (a restart keeps its own)
            self.isolate(away)
        self.schedules[name] = GratuitousSchedule(name, self.timing)
        self.seen.pop(name, None)

    def crash(self, name: str) -> None:
        self.net.stopped.add(name)
        self.schedules.pop(name, None)

    def leave(self, name: str) -> None:
        """SIGTERM: stop answering and announcing first, then tell the peers."""
        schedule = self.schedules.pop(name, None)
        if schedule is not None:
            schedule.clear()
            self.net.send(name, self.net.nodes[name].leave())
        self.net.stopped.add(name)

    def connected(self, a: str, b: str) -> bool:
        return (a, b) not in self.net.cut

    def owned(self, name: str) -> dict[IPAddress, str | None]:
        """The IPs ``name`` owns in its own view, each with its successor (the owner without it)."""
        live = self.net.nodes[name].live()
        return {ip: owner(ip, live - {name}) for ip in IPS if owner(ip, live) == name}

    def step(self) -> None:
        self.net.step()
        now = self.net.now
        for name, schedule in self.schedules.items():
            s = self.net.nodes[name]
            view = (s.live(), s.standing())
            if self.seen.get(name) != view:
                self.seen[name] = view
                owned = self.owned(name)
                schedule.update(now, owned, *view)
                s.set_holding(held_for(name, owned, set(self.net.nodes) - view[0]))
            self._send(name, schedule.due(now))

    def _send(self, name: str, ips: list[IPAddress]) -> None:
        now = self.net.now
        for ip in ips:
            self.announced.append(Announcement(now, name, ip))
            if self.connected(name, CLIENT):
                history = self.entries.setdefault(ip, [])
                if not history or history[-1][1] != name:
                    history.append((now, name))
            for other, schedule in list(self.schedules.items()):
                if other != name and self.connected(name, other) and ip in schedule.owned:
                    schedule.conflict(now, ip)  # the responder reports it, the shell sends at once
                    self._send(other, schedule.due(now))

    def run(self, seconds: float) -> None:
        end = self.net.now + seconds
        while self.net.now < end:
            self.step()

    def isolate(self, names: set[str]) -> None:
        """Cut ``names`` off from everyone else and from the client (they still reach each other)."""
        others = (set(self.net.nodes) | {CLIENT}) - names
        self.net.cut |= {(a, b) for a in names for b in others} | {(b, a) for a in names for b in others}

    def heal(self) -> None:
        self.net.cut.clear()

    def converged_owners(self) -> dict[IPAddress, str | None]:
        return {ip: owner(ip, self.net.running()) for ip in IPS}

    def wrong_stretches(self, since: float, until: float) -> list[tuple[IPAddress, float, float, str]]:
        """(IP, start, end, node) of each stretch ending after ``since`` when the client's entry was on a
        running node that is not the IP's owner under the converged membership (on a crashed one, it is a
        failover in progress: how fast that ends is ``test_swim``'s business)."""
        want = self.converged_owners()
        running = set(self.net.running())
        out: list[tuple[IPAddress, float, float, str]] = []
        for ip, history in self.entries.items():
            for i, (t, node) in enumerate(history):
                end = history[i + 1][0] if i + 1 < len(history) else until
                if node != want[ip] and node in running and end > since:
                    out.append((ip, t, end, node))
        return out
