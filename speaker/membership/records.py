"""The records the SWIM state machine keeps (members, probe, relays, counters) and what it reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from speaker.membership.wire import Gossip, MemberStatus

Addr = tuple[str, int]


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
    """Its current suspect/dead status is a verdict we told no one (rule 1)."""
    unheard: bool = False
    """That verdict was reached while nobody answered us: withdrawn at the next contact (rule 3)."""


@dataclass
class Probe:
    target: str
    seq: int
    started: float
    asked: frozenset[str] = frozenset()
    asked_at: float | None = None
    answered: set[str] = field(default_factory=set)
    """Helpers that acknowledged our ping-req: our own link worked after the direct ping failed."""
    nacked: set[str] = field(default_factory=set)
    """Helpers that also failed to reach the target."""


@dataclass
class Relay:
    requester: Addr
    seq: int
    target: str
    nack_at: float
    expires: float
    done: bool = False


@dataclass
class Stats:
    suspicions: int = 0
    confirmed_suspicions: int = 0
    """Suspicions gossiped (ours confirmed by a helper, or learnt): with handover on suspicion, IPs move."""
    deaths: int = 0
    refutations: int = 0
    withdrawn: int = 0
    """Verdicts undone because their subject spoke or contact resumed (rules 3 and 4)."""
    unknown_senders: int = 0


def suspicion_overrides(g: Gossip, m: Member) -> bool:
    """Whether a suspicion gossiped about ``m`` replaces what we hold of it (SWIM's precedence)."""
    if g.incarnation > m.incarnation:
        return m.status in ("alive", "suspect")
    return g.incarnation == m.incarnation and (m.status == "alive" or (m.status == "suspect" and m.local))
