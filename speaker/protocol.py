"""The interface every announcement backend (layer 2, BGP) implements.

The speaker core computes one ``AnnounceInputs`` per change and hands the
whole of it to every backend: backends derive their own desired state with a
pure function, act on the difference, and report what this node now announces.
Deciding stays apart from acting, and adding a protocol touches nothing else
(MetalLB keeps its protocols behind one small interface for the same reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ironlb.announce.inputs import AnnounceInputs, Announcement, AnnounceProtocol


class Announcer(Protocol):
    @property
    def name(self) -> AnnounceProtocol:
        """``"layer2"`` or ``"bgp"``: the ``protocol`` label of metrics and Events."""
        ...

    async def run(self) -> None:
        """Long-lived work (responders, child supervision); returns after ``shutdown``.

        If it raises, the speaker stops: no half-alive daemon.
        """
        ...

    async def apply(self, inputs: AnnounceInputs) -> Sequence[Announcement]:
        """Converge on the full desired state derived from ``inputs``; idempotent.

        Returns what this node announces now. Transient trouble is logged, not raised.
        The first call happens before the speaker joins the membership (peers hand IPs to
        this node as soon as they hear from it), so set up sockets/children there if needed.
        """
        ...

    async def shutdown(self, *, graceful: bool) -> None:
        """Stop announcing (``graceful``: SIGTERM, a successor takes over at once)."""
        ...
