"""Notices to a peer about its own past: we held it out and took its IPs, so it must announce them again.

A notice is an ordinary gossip entry about its subject (``Gossip(name, "dead", n)``)
put first on what we send the subject, or on a bare ack (seq 0) when we send it
nothing: the wire format is unchanged, and every speaker version already reads a
verdict about itself as "refute" (at its own incarnation) or "come back" (at an
older one). Two kinds (see ``speaker.membership.swim``):

- *owed* (rules 3 and 4): a death we withdrew, at the subject's incarnation. It
  rides on everything we send it until it refutes (its incarnation passes the
  notice's), and goes on a bare ack once.
- *back* (rule 5): a peer whose IPs this node held, counted in again at a higher
  incarnation learnt from anyone (it restarted out of our sight), at the incarnation
  we held it out at: it does not refute, it comes back. Learnt from others, we may not
  reach it yet (a heal in steps: our link to it comes back last), so the notice goes
  on a bare ack at once, then rides on everything we send it (our probes), and on our
  reply to (or a bare ack after) each message it sends us, until it answers one of
  our pings that carried it: then we know it has it. Told once and lost, it left the
  client on this node until the client's own probe failed; and hearing from it does
  not prove that it hears us (after a heal our kernel may still be resolving its
  address: our reply to its first message was lost while its messages came through).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from speaker.membership.records import Addr, Member
from speaker.membership.wire import Gossip, Message

Bare = Callable[[str, Gossip], Message]
"""A bare ack to the notice's subject carrying it first."""


@dataclass
class Notices:
    owed: dict[str, Gossip] = field(default_factory=dict)
    told: set[str] = field(default_factory=set)
    """Subjects of owed notices already sent a bare ack for."""
    back: dict[str, Gossip] = field(default_factory=dict)
    heard: set[str] = field(default_factory=set)
    """Subjects of ``back`` notices that spoke to us: told on what we send now (or a bare ack)."""
    carried: dict[str, set[int]] = field(default_factory=dict)
    """Sequence numbers of our pings that carried a ``back`` notice to its subject."""

    def owe(self, notice: Gossip) -> None:
        self.owed[notice.name] = notice
        self.told.discard(notice.name)

    def tell_back(self, notice: Gossip) -> None:
        self.back[notice.name] = notice
        self.told.discard(notice.name)
        self.heard.discard(notice.name)
        self.carried[notice.name] = set()

    def heard_from(self, name: str) -> None:
        """``name`` spoke to us: what we owe it for its return goes on what we send now (or a bare ack)."""
        if name in self.back:
            self.heard.add(name)

    def acked(self, name: str, seq: int) -> None:
        """``name`` answered our ping ``seq`` itself: if that ping carried its ``back`` notice, it has it."""
        if seq in self.carried.get(name, ()):
            self._drop_back(name)

    def _drop_back(self, name: str) -> None:
        self.back.pop(name, None)
        self.heard.discard(name)
        self.carried.pop(name, None)

    def attach(
        self, out: list[tuple[Addr, Message]], members: Mapping[str, Member], bare: Bare
    ) -> list[tuple[Addr, Message]]:
        """Put the pending notices on ``out`` (what we are about to send), or on bare acks."""
        for name, notice in list(self.owed.items()):
            m = members.get(name)
            if m is None or m.incarnation > notice.incarnation:
                del self.owed[name]  # it refuted: it knows
                continue
            if not _ride(out, m.addr, notice) and name not in self.told:
                out.append((m.addr, bare(name, notice)))
            self.told.add(name)
        for name, notice in list(self.back.items()):
            m = members.get(name)
            if m is None:
                self._drop_back(name)  # gone
                continue
            spoke = name in self.heard
            if spoke and _told_already(out, m.addr, name):
                pass  # our reply tells it already (rule 2)
            elif not _ride(out, m.addr, notice) and (spoke or name not in self.told):
                out.append((m.addr, bare(name, notice)))
            self.told.add(name)
            self.heard.discard(name)
            pings = (msg.seq for to, msg in out if to == m.addr and msg.kind == "ping" and msg.seq)
            self.carried[name].update(pings)
        return out


def notify(
    out: list[tuple[Addr, Message]], to: Addr, notice: Gossip, bare: Bare
) -> list[tuple[Addr, Message]]:
    """Put ``notice`` on what goes to ``to``, or on a bare ack (seq 0 matches no probe) (rule 2)."""
    return out if _ride(out, to, notice) else [*out, (to, bare(notice.name, notice))]


def _ride(out: list[tuple[Addr, Message]], addr: Addr, notice: Gossip) -> bool:
    """Put ``notice`` first on every message to ``addr``; whether there was one."""
    found = False
    for i, (to, msg) in enumerate(out):
        if to == addr:
            out[i] = (to, replace(msg, gossip=(notice, *msg.gossip)))
            found = True
    return found


def _told_already(out: list[tuple[Addr, Message]], addr: Addr, name: str) -> bool:
    """Whether a message to ``addr`` already tells ``name`` it was out (rule 2's notice on our reply)."""
    return any(to == addr and any(g.name == name and g.status != "alive" for g in m.gossip) for to, m in out)
