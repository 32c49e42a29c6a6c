"""Which of the speakers' status objects still hold, by what the speakers themselves say now.

A fallback. A speaker deletes its ``ServiceL2Status`` / ``ServiceBGPStatus`` objects when it stops
announcing; those of a speaker that dies (SIGKILL, its node lost) are deleted by a live speaker
(``ironlb.statusobjects.cleanup``: the layer-2 taker-over, or one speaker once the membership's
majority declares the node dead). Until then (the membership's detection time, or longer while
the API server is unreachable, or in a two-node cluster where a death verdict proves nothing),
``ironlb status`` must still not show a dead node as a layer-2 owner next to the node that took
over. An object is set aside only on a published answer (each speaker's
``ironlb_speaker_announced`` series), never on a computation:

- its speaker answered and does not announce the object's IPs (the object is about to go);
- layer 2 (one owner per IP): its speaker was asked and did not answer, while a speaker that did
  answer announces one of the object's IPs.

Every other object is kept: a speaker that was not asked, or a dead one whose IPs no answering
speaker announces, leaves nothing that says otherwise. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ironlb.live.scrape import Scrape
from ironlb.statusobjects.kinds import SERVICE_L2_STATUS
from ironlb.statusobjects.service import StatusObject


@dataclass(frozen=True)
class SetAside:
    """A status object ``ironlb status`` does not show as an announcer, and why."""

    obj: StatusObject
    why: str


def _announcing(scrapes: Mapping[str, Scrape]) -> dict[str, set[tuple[str, str]]]:
    """Per node whose speaker answered: the (protocol, IP) pairs it says it announces."""
    return {
        node: {(a.protocol, a.ip) for a in s.metrics.announced}
        for node, s in scrapes.items()
        if s.metrics is not None
    }


def _protocol(obj: StatusObject) -> str:
    return "layer2" if obj.kind == SERVICE_L2_STATUS else "bgp"


def split_current(
    objects: Sequence[StatusObject], scrapes: Mapping[str, Scrape]
) -> tuple[list[StatusObject], list[SetAside]]:
    """The objects that still hold, and those the speakers' own answers contradict."""
    announcing = _announcing(scrapes)
    current: list[StatusObject] = []
    aside: list[SetAside] = []
    for obj in objects:
        claims = {(_protocol(obj), ip) for ip in obj.ips}
        mine = announcing.get(obj.node)
        if mine is not None:
            if mine & claims:
                current.append(obj)
            else:
                aside.append(SetAside(obj, f"its speaker answers and does not announce {','.join(obj.ips)}"))
            continue
        others = sorted(n for n, pairs in announcing.items() if n != obj.node and pairs & claims)
        if obj.kind == SERVICE_L2_STATUS and obj.node in scrapes and others:
            why = f"its speaker does not answer, and {','.join(others)} announces {','.join(obj.ips)}"
            aside.append(SetAside(obj, why))
            continue
        current.append(obj)
    return current, aside
