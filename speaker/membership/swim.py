"""The SWIM failure detector as a pure state machine (time is an argument, I/O is the caller's).

Follows SWIM (Das, Gupta, Motivala 2002) with the suspicion mechanism and
incarnation numbers, as HashiCorp memberlist does:

- every ``probe_interval`` a member pings the next peer of a shuffled
  round-robin; no ack within ``ack_timeout`` → it asks ``indirect_k`` other
  members to ping the peer for it (ping-req); still no ack by ``probe_timeout``
  → the peer is *suspect*;
- a suspect not refuted within ``suspicion_timeout`` is *dead*; a member that
  hears it is suspected (or dead) refutes by raising its incarnation;
- state changes travel piggybacked on every message (infection-style gossip),
  each retransmitted a few times;
- a member stopping on purpose sends *leave*, so its successor acts at once.

Where ironlb departs from SWIM/memberlist, and why. Ownership of a Service IP
follows the live set, so one member wrongly marking a healthy peer dead moves
IPs for a moment. In plain SWIM that happens when a member is *itself* cut off
(its link went down): it suspects, then kills, every peer in turn and queues
"B dead", "C dead" as gossip; when its link returns, that gossip reaches C,
which holds B alive at the same incarnation and believes it until B refutes.
Two rules keep an isolated member's verdicts to itself:

1. *Verdicts reached without contact are not gossiped.* A member gossips a
   suspicion it reached itself only if a ping-req helper acknowledged the
   request (``req-ack``, sent at once by the helper, like Lifeguard's nack):
   proof that its own link worked after the direct ping went unanswered. It
   gossips a death only if the suspicion was gossiped (or learnt from a peer)
   and it heard from some peer other than the suspect since the suspicion
   began. Otherwise the likeliest explanation is its own isolation: it still
   acts on the verdict (its live set shrinks, so a node whose peers really
   all died still takes their IPs) but tells no one, and drops what it had
   queued about that peer. A status-table test ("no peer held alive") comes
   too late: probes are sequential, so an isolated member kills its first peer
   while the ones it has not probed yet are still alive in its table, and a
   "heard from anyone since the probe began" test is fooled when the link
   returns in the middle of a probe whose packets were lost.
   Cost for real deaths: none in practice. When B dies, A and C each ask the
   other to ping B and get the req-ack within milliseconds, and each hears from
   the other during the suspicion (the next probe goes to it), so both gossip
   the suspicion and the death exactly as before. A member that has no peer
   alive but the suspect (every 2-member cluster, or a 3-member one whose third
   member is already suspect) has no helper, so its verdicts stay local; in a
   2-member cluster there is nobody else to tell anyway, and otherwise each
   survivor still finds the death through its own probes, within about
   (peers) x ``probe_interval`` + ``probe_timeout`` + ``suspicion_timeout``.
   Mixed versions: a speaker without this rule drops ``req-ack`` as malformed,
   so during an upgrade the new speakers' verdicts about peers probed through
   an old helper stay local, which delays nothing beyond that bound.
2. *"You are dead, refute" goes only to its subject.* When a member we hold
   dead talks to us (it is evidently alive), we tell it so that it refutes;
   that notice rides on our reply to it (or on a bare ack with seq 0 if its
   message needs no reply), never in the gossip queue shared by all peers,
   so a member back from isolation does not tell everyone else that the first
   peer it hears from is dead.

Peers are not discovered: the speaker knows them from the Node objects, so the
state machine is told the peer set (``set_peers``). Unknown peers start alive
(optimistic), so a starting speaker claims only its own share.

Hand-written on purpose: of PyPI's SWIM packages, ``swim-protocol`` (last
release 2023) has no injectable clock nor sub-second tuning story and
``swim-p2p`` needs ZeroMQ; the protocol core is ~300 lines and this one is
fully testable with fake time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from speaker.membership.wire import Gossip, MemberStatus, Message

Addr = tuple[str, int]
LIVE: frozenset[str] = frozenset({"alive", "suspect"})


@dataclass(frozen=True)
class Timing:
    """Defaults give detection in ~0.4-0.7 s while tolerating ~0.3 s of scheduling stalls."""

    probe_interval: float = 0.1
    ack_timeout: float = 0.1
    probe_timeout: float = 0.3
    suspicion_timeout: float = 0.25
    indirect_k: int = 2
    relay_ttl: float = 1.0


@dataclass
class Member:
    name: str
    addr: Addr
    status: MemberStatus = "alive"
    incarnation: int = 0
    since: float = 0.0
    heard: float = -math.inf
    """When a message from this member last arrived (evidence that our own link works)."""
    local: bool = False
    """Its current suspect/dead status is a verdict we reached without contact, not gossiped (rule 1)."""


@dataclass
class _Probe:
    target: str
    seq: int
    started: float
    indirect_sent: bool = False
    confirmed: bool = False
    """A ping-req helper acknowledged our request: our own link worked after the direct ping failed."""


@dataclass
class Stats:
    suspicions: int = 0
    deaths: int = 0
    refutations: int = 0
    unknown_senders: int = 0


@dataclass
class Swim:
    name: str
    incarnation: int
    timing: Timing = field(default_factory=Timing)
    rng: random.Random = field(default_factory=random.Random)
    members: dict[str, Member] = field(default_factory=dict)
    stats: Stats = field(default_factory=Stats)
    _seq: int = 0
    _order: list[str] = field(default_factory=list)
    _probe: _Probe | None = None
    _next_probe: float = 0.0
    _relays: dict[int, tuple[Addr, int, str, float]] = field(default_factory=dict)
    _gossip: dict[str, tuple[Gossip, int]] = field(default_factory=dict)
    left: bool = False
    transitions: list[tuple[str, str, str, int]] = field(default_factory=list)
    """(member, old status, new status, incarnation); drained by the caller for logging."""

    # ---- peer set and views -------------------------------------------------

    def set_peers(self, peers: Mapping[str, Addr], now: float) -> None:
        """The speakers that should exist (from Node objects); new ones start alive."""
        for name in list(self.members):
            if name not in peers:
                del self.members[name]
        for name, addr in peers.items():
            if name == self.name:
                continue
            m = self.members.get(name)
            if m is None:
                self.members[name] = Member(name, addr, since=now)
            else:
                m.addr = addr

    def live(self) -> frozenset[str]:
        """This member and every peer alive or suspect."""
        own = set() if self.left else {self.name}
        return frozenset(own | {m.name for m in self.members.values() if m.status in LIVE})

    def status(self, name: str) -> MemberStatus | None:
        m = self.members.get(name)
        return m.status if m else None

    # ---- messages out ---------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _retransmits(self) -> int:
        return 3 * math.ceil(math.log2(len(self.members) + 2)) + 2

    def _spread(self, g: Gossip) -> None:
        self._gossip[g.name] = (g, self._retransmits())

    def _take_gossip(self, limit: int = 16) -> tuple[Gossip, ...]:
        out: list[Gossip] = []
        for name, (g, left) in list(self._gossip.items())[:limit]:
            out.append(g)
            if left <= 1:
                del self._gossip[name]
            else:
                self._gossip[name] = (g, left - 1)
        return tuple(out)

    def _msg(self, kind: str, seq: int = 0, target: str = "") -> Message:
        return Message(kind, self.name, self.incarnation, seq, target, self._take_gossip())  # type: ignore[arg-type]

    # ---- timers ---------------------------------------------------------------

    def tick(self, now: float) -> list[tuple[Addr, Message]]:
        """Advance timers; returns datagrams to send."""
        if self.left:
            return []
        out: list[tuple[Addr, Message]] = []
        t = self.timing
        for m in self.members.values():
            if m.status == "suspect" and now >= m.since + t.suspicion_timeout:
                local = m.local or not self._in_contact(m.name, m.since)
                self._set(m, "dead", m.incarnation, now, local=local)
        for seq, (_, _, _, expires) in list(self._relays.items()):
            if now >= expires:
                del self._relays[seq]
        p = self._probe
        if p is not None:
            target = self.members.get(p.target)
            if target is None:
                self._probe = None
            elif now >= p.started + t.probe_timeout:
                if target.status == "alive":
                    self._set(target, "suspect", target.incarnation, now, local=not p.confirmed)
                    # Tell the suspect at once: if it is only slow, it refutes before the timeout.
                    out.append((target.addr, self._msg("ping", 0, target.name)))
                self._probe = None
            elif not p.indirect_sent and now >= p.started + t.ack_timeout:
                p.indirect_sent = True
                helpers = [m for m in self.members.values() if m.status == "alive" and m.name != p.target]
                for h in self.rng.sample(helpers, min(t.indirect_k, len(helpers))):
                    out.append((h.addr, self._msg("ping-req", p.seq, p.target)))
        if self._probe is None and now >= self._next_probe:
            target_name = self._pick_target()
            if target_name is not None:
                seq = self._next_seq()
                self._probe = _Probe(target_name, seq, now)
                out.append((self.members[target_name].addr, self._msg("ping", seq, target_name)))
            self._next_probe = now + t.probe_interval
        return out

    def next_deadline(self) -> float:
        """The earliest time ``tick`` has something to do (a receive never makes it earlier)."""
        t = self.timing
        times = [self._next_probe]
        p = self._probe
        if p is not None:
            times.append(p.started + t.probe_timeout)
            if not p.indirect_sent:
                times.append(p.started + t.ack_timeout)
        times += [m.since + t.suspicion_timeout for m in self.members.values() if m.status == "suspect"]
        return min(times)

    def _pick_target(self) -> str | None:
        """The next peer of a shuffled round-robin; members that left are never probed."""
        refilled = False
        while True:
            if not self._order:
                if refilled:
                    return None  # every member has left: nothing to probe
                self._order = sorted(self.members)
                self.rng.shuffle(self._order)
                refilled = True
                if not self._order:
                    return None
            name = self._order.pop()
            m = self.members.get(name)
            if m is not None and m.status != "left":
                return name

    # ---- state changes ---------------------------------------------------------

    def _in_contact(self, subject: str, since: float) -> bool:
        """Whether some peer other than ``subject`` was heard from at or after ``since`` (rule 1)."""
        return any(m.heard >= since for m in self.members.values() if m.name != subject)

    def _set(
        self, m: Member, status: MemberStatus, incarnation: int, now: float, *, local: bool = False
    ) -> None:
        """Record a state change; gossip it unless ``local`` (a verdict reached without contact)."""
        if status == "suspect" and m.status != "suspect":
            self.stats.suspicions += 1
        if status == "dead" and m.status != "dead":
            self.stats.deaths += 1
        if status != m.status:
            self.transitions.append((m.name, m.status, status, incarnation))
        m.status, m.incarnation, m.since, m.local = status, incarnation, now, local
        if local:
            self._gossip.pop(m.name, None)  # nor keep telling an older verdict about it
        else:
            self._spread(Gossip(m.name, status, incarnation))

    def _apply(self, g: Gossip, now: float) -> None:
        if g.name == self.name:
            if g.status != "alive" and g.incarnation >= self.incarnation and not self.left:
                self.incarnation = g.incarnation + 1
                self.stats.refutations += 1
                self._spread(Gossip(self.name, "alive", self.incarnation))
            return
        m = self.members.get(g.name)
        if m is None:
            return
        if g.status == "alive":
            if g.incarnation > m.incarnation:
                self._set(m, "alive", g.incarnation, now)
        elif g.status == "suspect":
            if (g.incarnation > m.incarnation and m.status in LIVE) or (
                g.incarnation == m.incarnation and m.status == "alive"
            ):
                self._set(m, "suspect", g.incarnation, now)
        elif g.incarnation >= m.incarnation and m.status not in ("dead", "left"):
            self._set(m, g.status, g.incarnation, now)
        elif g.incarnation > m.incarnation:
            m.incarnation = g.incarnation

    # ---- messages in -----------------------------------------------------------

    def receive(self, msg: Message, src: Addr, now: float) -> list[tuple[Addr, Message]]:
        """Handle one authenticated message from ``src``; returns datagrams to send."""
        if self.left or msg.sender == self.name:
            return []
        out: list[tuple[Addr, Message]] = []
        known = msg.sender in self.members
        notice: Gossip | None = None
        if not known:
            self.stats.unknown_senders += 1  # answered (it may be a node we have not seen yet), not believed
        elif msg.kind == "leave":
            self._apply(Gossip(msg.sender, "left", msg.incarnation), now)
        else:
            sender = self.members[msg.sender]
            sender.heard = now
            self._apply(Gossip(msg.sender, "alive", msg.incarnation), now)
            if sender.status == "dead":
                # Tell a member we hold dead that it is, so that it refutes (it is evidently alive);
                # only it: in the shared queue the notice would reach everyone (rule 2).
                notice = Gossip(sender.name, "dead", sender.incarnation)
        for g in msg.gossip if known else ():
            self._apply(g, now)
        if msg.kind == "ping":
            out.append((src, self._msg("ack", msg.seq, self.name)))
        elif msg.kind == "ping-req" and msg.target in self.members:
            out.append((src, self._msg("req-ack", msg.seq, msg.target)))  # "your link works" (rule 1)
            seq = self._next_seq()
            self._relays[seq] = (src, msg.seq, msg.target, now + self.timing.relay_ttl)
            out.append((self.members[msg.target].addr, self._msg("ping", seq, msg.target)))
        elif msg.kind == "ack":
            relay = self._relays.pop(msg.seq, None)
            if relay is not None:
                requester, orig_seq, target, _ = relay
                if msg.sender == target:
                    out.append((requester, self._msg("ack", orig_seq, target)))
            p = self._probe
            if p is not None and msg.seq == p.seq and msg.target == p.target:
                self._probe = None
        elif msg.kind == "req-ack":
            p = self._probe
            if known and p is not None and p.indirect_sent and msg.seq == p.seq and msg.target == p.target:
                p.confirmed = True
        if notice is not None:
            out = self._notify(out, src, notice)
        return out

    def _notify(
        self, out: list[tuple[Addr, Message]], src: Addr, notice: Gossip
    ) -> list[tuple[Addr, Message]]:
        """Put ``notice`` on the reply going back to ``src``, or on a bare ack (seq 0 matches no probe)."""
        for i, (addr, m) in enumerate(out):
            if addr == src:
                out[i] = (addr, replace(m, gossip=(notice, *m.gossip)))
                return out
        ack = self._msg("ack", 0, notice.name)
        return [*out, (src, replace(ack, gossip=(notice, *ack.gossip)))]

    def leave(self) -> list[tuple[Addr, Message]]:
        """Announce a deliberate departure to every peer; the state machine stops."""
        msgs = [(m.addr, self._msg("leave")) for m in self.members.values() if m.status != "left"]
        self.left = True
        return msgs
