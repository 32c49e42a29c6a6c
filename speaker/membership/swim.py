"""The SWIM failure detector as a pure state machine (time is an argument, I/O is the caller's).

SWIM (Das, Gupta, Motivala 2002) with suspicion and incarnations, as HashiCorp
memberlist does it, plus three parts of Lifeguard (Dadgar et al. 2018):

- every ``probe_interval`` a member pings the next peer of a shuffled
  round-robin; no ack within ``ack_timeout`` → it asks ``indirect_k`` helpers
  to ping it (ping-req). A helper answers at once (``req-ack``: "your link
  works"), pings the peer, relays its ack or, after ``nack_timeout`` without
  one, says so (a req-ack marked ``failed``: Lifeguard's nack). Once every
  helper nacked, or at ``probe_timeout`` (and ``nack_timeout`` +
  ``ack_timeout`` after the ping-reqs), the peer is *suspect*; unrefuted for
  ``suspicion_timeout``, *dead*. A member told it is suspect or dead refutes by
  raising its incarnation. A member stopping on purpose sends *leave*;
- changes ride on every message, each retransmitted a few times, and each
  change a member makes or learns is also pushed at once to ``gossip_fanout``
  random peers on a bare ack (memberlist's gossip timer, triggered by news);
- local health (LHA): a score from 0 to ``max_health``, up when this member
  had to refute, when a helper it asked stayed silent, or when its own timers
  ran late (it was stalled); down with each probe acked in time. Its timeouts
  are multiplied by (1 + score): a member slow to process its own probes
  stretches its own timeouts rather than blaming others.

IPs move on a confirmed suspicion. Layer-2 ownership follows ``live()``. With
``handover="suspicion"`` (the default) a suspicion a helper confirmed (it
tried the peer and failed too) counts the suspect out at once: detection is a
probe interval or two plus ``ack_timeout`` + ``nack_timeout`` (~0.15 s), not
plus ``suspicion_timeout``. A suspect that refutes is live again. The price: a
live peer that answers nobody for longer than ``ack_timeout`` +
``nack_timeout`` (100 ms; a Python speaker with four busy loops on two cores
stalls ~20 ms at most) is counted out for a moment. ``handover="death"``
keeps suspects live until dead, as before.

Where ironlb departs from SWIM/memberlist: a member that is *itself* cut off
suspects, then kills, every peer in turn, and a healthy peer counted out moves
IPs. Four rules keep such verdicts to their author and undo them:

1. *Verdicts without evidence are not gossiped.* A suspicion is gossiped only
   on evidence enough for what it does (with handover on suspicion, a helper's
   nack; on death, a helper's req-ack), a death only if its suspicion was
   gossiped (or learnt) and some other peer was heard from since. Otherwise the
   verdict is *local*: acted on (a node whose peers all died still takes their
   IPs, after ``suspicion_timeout``), told to no one. Real deaths lose nothing:
   survivors ask each other and the helper nacks. A member with no helper (a
   2-member cluster, or all other peers out) keeps its verdicts local.
2. *"You are out, refute" goes only to its subject*, on our reply to it (or a
   bare ack, seq 0), never in the shared queue, so a member back from a cut
   does not tell everyone the first peer it hears from is dead. A member we
   held out that speaks with a higher incarnation (it restarted, maybe where no
   client heard it) is told too, at its old incarnation: it does not refute,
   but it *comes back* (``comebacks``: layer 2 announces its IPs again, which
   its successors held meanwhile).
3. *Verdicts reached in silence are withdrawn at the first contact.* A
   suspicion is *unheard* when no helper answered and no peer spoke during the
   probe (likely our own link); a death inherits it. A message from any known
   peer withdraws every unheard verdict at once (alive again, at the same
   incarnation), so a member back from a cut never counts only the first peer
   back as alive and takes the others' IPs; a real death among them is found
   again, with helpers, in one detection time. ``isolated()`` says whether such
   verdicts stand: layer 2 then announces what it takes once and defends nothing.
4. *The subject itself is proof.* A message from a member whose suspicion or
   death is local makes it alive again: a probe started during a cut and
   answered late withdraws its suspicion instead of killing a live node.
   A peer whose death we withdraw (rule 3 or 4) is told, on everything we send
   it until it refutes: we took its IPs and a client may have heard us; it
   comes back and announces them. ``in_touch()`` says whether a probe sent
   since the last comeback was answered (our peers hear us again).
5. *Whoever held a peer's IPs tells it when it is back.* Layer 2 says whose
   IPs this node answers for (``set_holding``: peers out of the live set that
   outrank it for an IP it owns; each kept until counted in again, even if the
   IP moved on meanwhile). One counted in again, learnt from anyone (it
   restarted where our side could not hear it, and announced only there), is
   told, at the incarnation we held it out at: it comes back and announces
   its IPs, whose client entries may still point here (we were its successor's
   successor: only its own announcement moves them). Learnt from others, it may be
   out of our reach still (a heal in steps): the notice rides on what we send it
   until it answers a ping of ours that carried it. See ``notices``.

Mixed versions: a nack is a req-ack with an extra key older speakers ignore;
older helpers never nack, so suspicions probed through them stay local
(slower, never wrong); older speakers gossip suspicions confirmed by a req-ack
only, and newer ones hand over on them; pushes are bare acks (seq 0).

Peers are not discovered: the speaker knows them from the Node objects
(``set_peers``); unknown peers start alive, so a starting speaker claims only
its own share. Hand-written on purpose: ``swim-protocol`` (PyPI, last release
2023) has no injectable clock nor sub-second tuning, ``swim-p2p`` needs
ZeroMQ; this core is a few hundred lines, fully testable with fake time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from speaker.failover import LEGACY_TIMING, Handover, Standing, Timing
from speaker.membership.notices import Notices, notify
from speaker.membership.probe_order import ProbeOrder
from speaker.membership.records import Addr, Member, Probe, Relay, Stats, suspicion_overrides
from speaker.membership.wire import Gossip, MemberStatus, Message, MessageType

__all__ = ["LEGACY_TIMING", "Addr", "Handover", "Member", "Standing", "Stats", "Swim", "Timing"]
VERDICTS: frozenset[str] = frozenset({"suspect", "dead"})


@dataclass
class Swim:
    name: str
    incarnation: int
    timing: Timing = field(default_factory=Timing)
    rng: random.Random = field(default_factory=random.Random)
    members: dict[str, Member] = field(default_factory=dict)
    stats: Stats = field(default_factory=Stats)
    health: int = 0
    """Lifeguard's local health score: every timeout is multiplied by (1 + health)."""
    _seq: int = 0
    _probe: Probe | None = None
    _next_probe: float = 0.0
    _due: float = -math.inf
    _relays: dict[int, Relay] = field(default_factory=dict)
    _suspects: set[str] = field(default_factory=set)
    _unheard: set[str] = field(default_factory=set)
    _gossip: dict[str, tuple[Gossip, int]] = field(default_factory=dict)
    _fresh: bool = False
    _notices: Notices = field(default_factory=Notices)
    """What we owe peers we held out: withdrawn deaths (rules 3, 4), returns of those we held for (5)."""
    _holding: frozenset[str] = frozenset()
    _comeback_at: float = -math.inf
    _back_from: set[tuple[str, int]] = field(default_factory=set)
    """(peer, incarnation) of every notice that we were out at an older incarnation that made us come back."""
    _touched: float | None = None
    comebacks: int = 0
    """Times this member came back: it refuted a verdict others acted on, or contact resumed after a cut."""
    left: bool = False
    transitions: list[tuple[str, str, str, int]] = field(default_factory=list)
    """(member, old status, new status, incarnation); drained by the caller for logging."""

    def __post_init__(self) -> None:
        self._probes = ProbeOrder(self.rng)

    # ---- peer set and views -------------------------------------------------

    def set_peers(self, peers: Mapping[str, Addr], now: float) -> None:
        """The speakers that should exist (from Node objects); new ones start alive."""
        for name in list(self.members):
            if name not in peers:
                del self.members[name]
                self._suspects.discard(name)
                self._unheard.discard(name)
        self._due = min(self._due, now)  # new peers to probe: tick soon
        for name, addr in peers.items():
            if name == self.name:
                continue
            m = self.members.get(name)
            if m is None:
                self.members[name] = Member(name, addr, since=now)
            else:
                m.addr = addr

    def set_holding(self, peers: frozenset[str]) -> None:
        """Whose IPs this node answers for now, as layer 2 says (rule 5): told when counted in again.

        Kept until then, even once layer 2 no longer holds any of its IPs: another peer back first may
        have taken one over from this node without announcing it (in its own view the owner was back),
        and the client still reaches it here.
        """
        kept = {n for n in self._holding if (m := self.members.get(n)) is not None and not self._counts(m)}
        self._holding = peers | kept

    def live(self) -> frozenset[str]:
        """This member and every peer that still owns its IPs: alive, or suspect on local evidence only."""
        own = set() if self.left else {self.name}
        return frozenset(own | {m.name for m in self.members.values() if self._counts(m)})

    def _counts(self, m: Member) -> bool:
        if m.status == "alive":
            return True
        return m.status == "suspect" and (m.local or self.timing.handover == "death")

    def isolated(self) -> bool:
        """Whether verdicts reached while nobody answered us stand (rule 3): our view may be our own cut."""
        return bool(self._unheard)

    def in_touch(self) -> bool:
        """Whether a probe we sent since we last came back was answered: peers hear us (and our refutation).

        Until then, what this member holds is best not announced: others may still hold it out and
        answer for its IPs, and its own packets may wait on the kernel's neighbour resolution.
        """
        return not self.members or (self._touched is not None and self._touched >= self._comeback_at)

    def standing(self) -> Standing:
        return Standing(self.isolated(), self.comebacks, self.in_touch())

    def _came_back(self, now: float) -> None:
        if now - self._comeback_at < self.timing.probe_interval:
            return  # the same comeback, told by several peers
        self.comebacks += 1
        self._comeback_at = now
        self._probe = None  # probe a live peer at once: its answer shows our peers hear us (``in_touch``)
        self._next_probe = now

    def status(self, name: str) -> MemberStatus | None:
        m = self.members.get(name)
        return m.status if m else None

    def _scaled(self, seconds: float) -> float:
        return seconds * (1 + self.health)

    def _health(self, delta: int) -> None:
        self.health = max(0, min(self.timing.max_health, self.health + delta))

    # ---- messages out ---------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _retransmits(self) -> int:
        return 3 * math.ceil(math.log2(len(self.members) + 2)) + 2

    def _spread(self, g: Gossip, *, push: bool = True) -> None:
        self._gossip[g.name] = (g, self._retransmits())
        self._fresh = self._fresh or push

    def _take_gossip(self, limit: int = 16) -> tuple[Gossip, ...]:
        out: list[Gossip] = []
        for name, (g, left) in list(self._gossip.items())[:limit]:
            out.append(g)
            if left <= 1:
                del self._gossip[name]
            else:
                self._gossip[name] = (g, left - 1)
        return tuple(out)

    def _msg(self, kind: MessageType, seq: int = 0, target: str = "", *, failed: bool = False) -> Message:
        return Message(kind, self.name, self.incarnation, seq, target, self._take_gossip(), failed)

    def _push(self) -> list[tuple[Addr, Message]]:
        """News goes at once to a few random peers on a bare ack (seq 0 matches no probe)."""
        if not self._fresh:
            return []
        self._fresh = False
        peers = [m for m in self.members.values() if m.status == "alive"]
        chosen = self.rng.sample(peers, min(self.timing.gossip_fanout, len(peers)))
        return [(m.addr, self._msg("ack", 0, self.name)) for m in chosen]

    @property
    def due(self) -> float:
        """When the caller should call ``tick`` next (kept after every ``tick`` and ``receive``)."""
        return self._due

    def _done(self, out: list[tuple[Addr, Message]], now: float) -> list[tuple[Addr, Message]]:
        out = self._notices.attach(out + self._push(), self.members, self._tell)
        self._due = max(self.next_deadline(), now)  # when the caller should call tick next
        return out

    # ---- timers ---------------------------------------------------------------

    def tick(self, now: float) -> list[tuple[Addr, Message]]:
        """Advance timers; returns datagrams to send."""
        if self.left:
            return []
        t = self.timing
        if -math.inf < self._due < now - t.ack_timeout:
            self._health(+1)  # our own timers ran late: we were stalled, not (only) our peers
        out: list[tuple[Addr, Message]] = []
        for m in [self.members[n] for n in self._suspects]:
            if now >= m.since + self._scaled(t.suspicion_timeout):
                local = m.local or not self._in_contact(m.name, m.since)
                self._set(m, "dead", m.incarnation, now, local=local, unheard=m.unheard)
        for seq, r in list(self._relays.items()):
            if not r.done and now >= r.nack_at:
                r.done = True
                out.append((r.requester, self._msg("req-ack", r.seq, r.target, failed=True)))
            if now >= r.expires:
                del self._relays[seq]
        if self._probe is not None:
            out += self._advance_probe(self._probe, now)
        if self._probe is None and now >= self._next_probe:
            target_name = (
                self._probes.next(self.members) if self.in_touch() else self._probes.heard_last(self.members)
            )
            if target_name is not None:
                seq = self._next_seq()
                self._probe = Probe(target_name, seq, now)
                out.append((self.members[target_name].addr, self._msg("ping", seq, target_name)))
            self._next_probe = now + t.probe_interval
        return self._done(out, now)

    def _verdict_at(self, p: Probe) -> float:
        t = self.timing
        if p.asked_at is None:
            return p.started + self._scaled(t.ack_timeout)
        return max(
            p.started + self._scaled(t.probe_timeout),
            p.asked_at + self._scaled(t.nack_timeout + t.ack_timeout),
        )

    def _advance_probe(self, p: Probe, now: float) -> list[tuple[Addr, Message]]:
        target = self.members.get(p.target)
        if target is None:
            self._probe = None
            return []
        if p.asked_at is None:
            if now < self._verdict_at(p):
                return []
            if target.status != "alive":
                self._probe = None  # already counted out: helpers would tell us nothing new
                return []
            helpers = [m for m in self.members.values() if m.status == "alive" and m.name != p.target]
            chosen = self.rng.sample(helpers, min(self.timing.indirect_k, len(helpers)))
            p.asked, p.asked_at = frozenset(h.name for h in chosen), now
            return [(h.addr, self._msg("ping-req", p.seq, p.target)) for h in chosen]
        if not (p.asked and p.nacked >= p.asked) and now < self._verdict_at(p):
            return []
        self._probe = None
        if p.asked - p.answered - p.nacked:
            self._health(+1)  # a helper we asked stayed silent: suspect our own link or CPU first
        if target.status != "alive":
            return []
        in_contact = bool(p.answered or p.nacked)
        told = bool(p.nacked) if self.timing.handover == "suspicion" else in_contact
        unheard = not in_contact and not self._in_contact(target.name, p.started)
        self._set(target, "suspect", target.incarnation, now, local=not told, unheard=unheard)
        # Tell the suspect at once: if it is only slow, it refutes (and takes its IPs back) at once.
        return [(target.addr, self._msg("ping", 0, target.name))] if told else []

    def next_deadline(self) -> float:
        """The earliest time ``tick`` has something to do."""
        t = self.timing
        times = [self._next_probe if self._probe is None else self._verdict_at(self._probe)]
        times += [self.members[n].since + self._scaled(t.suspicion_timeout) for n in self._suspects]
        times += [r.nack_at for r in self._relays.values() if not r.done]
        return min(times)

    # ---- state changes ---------------------------------------------------------

    def _in_contact(self, subject: str, since: float) -> bool:
        """Whether some peer other than ``subject`` was heard from at or after ``since`` (rule 1)."""
        return any(m.heard >= since for m in self.members.values() if m.name != subject)

    def _set(
        self,
        m: Member,
        status: MemberStatus,
        incarnation: int,
        now: float,
        *,
        local: bool = False,
        unheard: bool = False,
    ) -> None:
        """Record a state change; gossip it unless ``local`` (a verdict we tell no one)."""
        if status == "suspect" and m.status != "suspect":
            self.stats.suspicions += 1
            if not local:
                self.stats.confirmed_suspicions += 1
        if status == "dead" and m.status != "dead":
            self.stats.deaths += 1
        if status == "alive" and not self._counts(m) and m.name in self._holding:
            self._notices.tell_back(Gossip(m.name, m.status, m.incarnation))  # rule 5
        news = status != m.status
        if news:
            self.transitions.append((m.name, m.status, status, incarnation))
        m.status, m.incarnation, m.since, m.local, m.unheard = status, incarnation, now, local, unheard
        (self._suspects.add if status == "suspect" else self._suspects.discard)(m.name)
        (self._unheard.add if unheard else self._unheard.discard)(m.name)
        if local:
            self._gossip.pop(m.name, None)  # nor keep telling an older verdict about it
        else:  # a new incarnation of a member alive all along is told too, but not pushed
            self._spread(Gossip(m.name, status, incarnation), push=news)

    def _withdraw(self, m: Member, now: float) -> None:
        """Undo a verdict we told no one: the member is alive again, at the same incarnation (rules 3, 4)."""
        if m.status == "dead":  # we took its IPs, and a client may have heard us announce them: tell it
            self._notices.owe(Gossip(m.name, "dead", m.incarnation))
        self.transitions.append((m.name, m.status, "alive", m.incarnation))
        self.stats.withdrawn += 1
        m.status, m.since, m.local, m.unheard = "alive", now, False, False
        self._suspects.discard(m.name)
        self._unheard.discard(m.name)

    def _apply(self, g: Gossip, now: float, sender: str = "") -> None:
        if g.name == self.name:
            self._apply_to_self(g, now, sender)
            return
        m = self.members.get(g.name)
        if m is None:
            return
        if g.status == "alive":
            if g.incarnation > m.incarnation:
                self._set(m, "alive", g.incarnation, now)
        elif g.status == "suspect":
            if suspicion_overrides(g, m):
                self._set(m, "suspect", g.incarnation, now)
        elif g.incarnation >= m.incarnation and (m.status not in ("dead", "left") or m.local):
            self._set(m, g.status, g.incarnation, now)  # a peer's verdict replaces one we told no one
        elif g.incarnation > m.incarnation:
            m.incarnation = g.incarnation

    def _apply_to_self(self, g: Gossip, now: float, sender: str = "") -> None:
        """News about us: refute a verdict at our incarnation; a verdict on an older one is a comeback."""
        if g.status == "alive" or self.left:
            return
        if g.incarnation >= self.incarnation:
            self.incarnation = g.incarnation + 1
            self.stats.refutations += 1
            self._health(+1)  # others could not reach us in time: we may be the slow one
            self._came_back(now)
            self._spread(Gossip(self.name, "alive", self.incarnation))
        elif (sender, g.incarnation) not in self._back_from:
            # Held out at an older incarnation (we restarted): back only now. Once per peer that tells us
            # (each may hold IPs of ours that a client reaches through it), not per repeat of its notice.
            self._back_from.add((sender, g.incarnation))
            self._came_back(now)

    # ---- messages in -----------------------------------------------------------

    def receive(self, msg: Message, src: Addr, now: float) -> list[tuple[Addr, Message]]:
        """Handle one authenticated message from ``src``; returns datagrams to send."""
        if self.left or msg.sender == self.name:
            return []
        out: list[tuple[Addr, Message]] = []
        sender = self.members.get(msg.sender)
        notice: Gossip | None = None
        if sender is None:
            self.stats.unknown_senders += 1  # answered (it may be a node we have not seen yet), not believed
        else:
            notice = self._heard_from(sender, msg, now)
            self._notices.heard_from(sender.name)
            for g in msg.gossip:
                self._apply(g, now, sender.name)
        self._answer(msg, src, now, out)
        if notice is not None:
            out = notify(out, src, notice, self._tell)  # on our reply to it, or on a bare ack
        return self._done(out, now)

    def _heard_from(self, sender: Member, msg: Message, now: float) -> Gossip | None:
        """A known peer spoke: undo verdicts reached in silence; what to tell it that it was out, if so."""
        silenced = [self.members[n] for n in sorted(self._unheard)]
        for m in silenced:
            self._withdraw(m, now)  # contact again: what we concluded in silence is void (rule 3)
        if silenced:
            self._came_back(now)
        if msg.kind == "leave":
            self._apply(Gossip(msg.sender, "left", msg.incarnation), now)
            return None
        sender.heard = now
        if sender.local and sender.status in VERDICTS:
            self._withdraw(sender, now)  # it speaks: our untold verdict was wrong (rule 4)
        held_out = Gossip(sender.name, sender.status, sender.incarnation)
        self._apply(Gossip(msg.sender, "alive", msg.incarnation), now)
        if sender.status == "dead" or (sender.status == "suspect" and not sender.local):
            # Tell it so that it refutes; only it: in the shared queue the notice would reach
            # everyone (rule 2).
            return Gossip(sender.name, sender.status, sender.incarnation)
        if held_out.status != "alive":
            return held_out  # back with a higher incarnation: tell it it was out (its IPs moved)
        return None

    def _answer(self, msg: Message, src: Addr, now: float, out: list[tuple[Addr, Message]]) -> None:
        if msg.kind == "ping":
            out.append((src, self._msg("ack", msg.seq, self.name)))
        elif msg.kind == "ping-req" and msg.target in self.members:
            out.append((src, self._msg("req-ack", msg.seq, msg.target)))  # "your link works" (rule 1)
            seq = self._next_seq()
            t = self.timing
            # The requester's timeouts, not ours: our local health concerns our own probes.
            self._relays[seq] = Relay(src, msg.seq, msg.target, now + t.nack_timeout, now + t.relay_ttl)
            out.append((self.members[msg.target].addr, self._msg("ping", seq, msg.target)))
        elif msg.kind == "ack":
            self._acked(msg, src, now, out)
        elif msg.kind == "req-ack":
            p = self._probe
            if p is not None and (msg.seq, msg.target) == (p.seq, p.target) and msg.sender in p.asked:
                (p.nacked if msg.failed else p.answered).add(msg.sender)

    def _acked(self, msg: Message, src: Addr, now: float, out: list[tuple[Addr, Message]]) -> None:
        relay = self._relays.get(msg.seq)
        if relay is not None and msg.sender == relay.target:
            del self._relays[msg.seq]
            out.append((relay.requester, self._msg("ack", relay.seq, relay.target)))
        p = self._probe
        if p is not None and msg.seq == p.seq and msg.target == p.target:
            if msg.sender == p.target:
                self._notices.acked(p.target, p.seq)  # our ping reached it (rule 5's notice with it)
            self._probe = None
            if p.asked_at is None:
                self._health(-1)  # answered within the ack timeout: we are keeping up
            if p.started >= self._comeback_at:
                self._touched = now
        target = self.members.get(msg.target)
        if target is not None and target.local and target.status in VERDICTS and msg.seq:
            self._withdraw(target, now)  # a late (or relayed) ack: it is alive after all (rule 4)

    def _tell(self, subject: str, notice: Gossip) -> Message:
        """A bare ack (seq 0 matches no probe) carrying ``notice`` first."""
        ack = self._msg("ack", 0, subject)
        return replace(ack, gossip=(notice, *ack.gossip))

    def leave(self) -> list[tuple[Addr, Message]]:
        """Announce a deliberate departure to every peer; the state machine stops."""
        msgs = [(m.addr, self._msg("leave")) for m in self.members.values() if m.status != "left"]
        self.left = True
        return msgs
