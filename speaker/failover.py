"""What the membership and layer 2 share: every failover setting, and this node's standing.

``speaker.membership`` (failure detection), ``speaker.layer2`` (announcements) and
``speaker.options`` (the flags) may not import one another (import-linter), yet the
flags build these settings and layer 2 reads the membership's ``Standing``: so they
live here, below all three.

``Timing``: the membership's. The defaults count a dead peer out about 0.1-0.2 s
after it died (a probe interval to reach it, then ``ack_timeout`` + ``nack_timeout``),
and tolerate a peer that cannot answer anyone for up to ``ack_timeout`` +
``nack_timeout`` (Lifeguard's local health stretches every timeout of a member that
is itself slow). ``LEGACY_TIMING`` is the timing before issue 11, kept for
comparisons. ``GratuitousTiming``: when layer 2 announces (``speaker.layer2.gratuitous``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Handover = Literal["suspicion", "death"]


@dataclass(frozen=True)
class Timing:
    probe_interval: float = 0.05
    """A member pings one peer this often (round-robin)."""
    ack_timeout: float = 0.05
    """No ack by then: ask helpers to ping the peer (ping-req)."""
    nack_timeout: float = 0.05
    """A helper whose own ping got no ack by then says so (nack)."""
    probe_timeout: float = 0.15
    """Verdict at the latest this long after the ping (and at least nack + ack after the ping-reqs)."""
    suspicion_timeout: float = 0.25
    """A suspect not refuted by then is dead."""
    indirect_k: int = 2
    """Helpers asked per failed ping."""
    gossip_fanout: int = 3
    """Peers a membership change is pushed to at once (0: it only rides on probes)."""
    max_health: int = 8
    """Ceiling of the local health score; timeouts are multiplied by (1 + score). 0 turns it off."""
    handover: Handover = "suspicion"
    """When a peer's IPs move: on a confirmed suspicion, or only on its death."""
    relay_ttl: float = 1.0
    """How long a helper remembers a ping-req (to relay a late ack)."""


LEGACY_TIMING = Timing(
    probe_interval=0.1,
    ack_timeout=0.1,
    nack_timeout=0.2,
    probe_timeout=0.3,
    suspicion_timeout=0.25,
    gossip_fanout=0,
    max_health=0,
    handover="death",
)
"""The timing before issue 11 (detection ~0.6 s): helpers' nacks arrive at the old 0.3 s probe timeout."""


@dataclass(frozen=True)
class GratuitousTiming:
    repeats: int = 4
    """Announcements after the first one, for neighbours that ignored it."""
    spacing: float = 1.2
    """Seconds between them: more than Linux's ARP locktime (1 s)."""
    settle: float = 0.05
    """After a start or a comeback, announce held IPs once in touch and the view was stable this long."""
    settle_timeout: float = 2.0
    """... or after this long, in touch or not."""
    defend_interval: float = 0.05
    """Shortest time between two answers to conflicting announcements of one IP (doubles while they go on)."""
    defend_max: float = 10.0
    """Longest such time, and the quiet time after which it starts again from ``defend_interval``."""


@dataclass(frozen=True)
class Standing:
    """This node's own place in the membership, as layer 2 needs it (``Swim.standing``)."""

    isolated: bool = False
    """Its view rests on verdicts reached while nobody answered it."""
    comebacks: int = 0
    """Times it came back after others counted it out (or after a cut): a counter."""
    in_touch: bool = True
    """A probe it sent since it last came back was answered."""
