"""Which other nodes' ``ServiceL2Status`` / ``ServiceBGPStatus`` a live speaker removes, and which speaker.

Why: a speaker deletes its own objects when it stops announcing, but a speaker that is SIGKILLed
or whose node loses power cannot. Its objects would claim, until it starts again, that it answers
for an IP another node took over (two layer-2 owners in ``kubectl get servicel2status``) or that
it sends routes to peers it no longer talks to. A live speaker removes them, on evidence:

- **Layer-2 takeover** (``takeovers``): this node now answers for every IP an object of another
  node claims for the same Service, and that node is not live in this node's membership view.
  Layer 2 has one owner per IP, so the object is false: either its node is dead, or it is cut off
  from us and, if it still reaches the API server, it writes its object again at once (its
  speaker watches its own objects and puts back what someone else deleted). A node that is live
  here removes its own object: it runs the same election over the same members.
- **Dead node** (``node_sweeps``): the membership's verdict ``dead`` (or ``left``: a graceful
  leave whose own cleanup may not have finished) on a node, judged from a side that can judge: this
  speaker is not isolated (its verdicts are not made while nobody answered it) and the live
  members are a strict majority of all members ever heard from, so the minority side of a
  partition, which sees everyone else dead, deletes nothing. Exactly one speaker acts: the first
  in rank among the live members for that node (``sweeper``), so N speakers do not race N deletes.
  Only a member this speaker heard from counts: one never heard may be a speaker starting (it
  writes its objects before it joins the membership).
- **Node deleted**: the cluster's own word that the node is gone; no quorum needed.

What is never evidence: an unreachable API server (nothing is deleted that was not just listed
from it, and every delete carries a precondition on the object's uid and resourceVersion, so an
object rewritten or re-created by a node that came back is kept), and the verdict of a membership
view that may be our own cut. The verdict ``dead`` of a majority is still a verdict, not proof: a
node partitioned from every other member but still announcing over BGP loses its object if it
cannot reach the API server either; once it does, it writes it again. ``ironlb status`` sets aside
what the speakers' metrics contradict (``ironlb.live.stale``) for the window before a removal.

Pure: ``CleanupPlanner`` remembers the Nodes and what this node announced, and says which sweeps
it wants now (level-triggered: the adapter, ``ironlb.kube.statuscleanup``, runs each wanted sweep
once and forgets it when it is no longer wanted); ``stale_objects`` picks, from what a sweep
listed, the objects to delete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ironlb.statusobjects.kinds import SERVICE_L2_STATUS
from ironlb.statusobjects.service import StatusObject

GONE_VERDICTS = frozenset({"dead", "left"})
"""Membership statuses under which a node's objects may be removed by another speaker."""


@dataclass(frozen=True)
class MembershipView:
    """What this speaker's membership says now."""

    me: str
    live: frozenset[str]
    """Members that own their IPs now (this one included)."""
    verdicts: Mapping[str, str]
    """Every other member the membership knows (a Node with an address) and its status."""
    isolated: bool = False
    """Verdicts reached while nobody answered us stand: our view may be our own cut."""
    heard: frozenset[str] | None = None
    """The members this speaker ever heard from (None: all of them). A Node whose speaker was never
    heard (none runs there: a node selector, a control-plane node; or it is starting) does not count
    for the majority, and its death proves nothing."""

    def can_judge(self) -> bool:
        """Whether its death verdicts may delete anything: not isolated, and a strict majority live."""
        members = set(self.verdicts) if self.heard is None else set(self.verdicts) & self.heard
        members |= self.live | {self.me}
        return not self.isolated and 2 * len(self.live & members) > len(members)


@dataclass(frozen=True, order=True)
class NodeSweep:
    """Remove every status object of ``node`` (both kinds)."""

    node: str
    why: str = field(default="", compare=False)


@dataclass(frozen=True, order=True)
class TakeoverSweep:
    """Remove not-live nodes' ``ServiceL2Status`` of a Service whose IPs this node answers for."""

    namespace: str
    service: str
    ips: frozenset[str]


Sweep = NodeSweep | TakeoverSweep


def sweeper(gone: str, live: Iterable[str]) -> str | None:
    """The live member that removes ``gone``'s objects: lowest hash of member and node (ties by name)."""
    best: tuple[bytes, str] | None = None
    for member in live:
        if member == gone:
            continue
        key = (hashlib.sha256(f"{member}#{gone}".encode()).digest(), member)
        if best is None or key < best:
            best = key
    return None if best is None else best[1]


def takeovers(me: str, layer2: Mapping[tuple[str, str], frozenset[str]], view: MembershipView) -> set[Sweep]:
    """A sweep per Service this node answers for on layer 2 (``(namespace, name)`` -> its IPs here).

    None while isolated: our view of who is live may be our own cut."""
    if view.isolated:
        return set()
    return {TakeoverSweep(ns, name, ips) for (ns, name), ips in layer2.items() if ips}


def stale_objects(
    sweep: Sweep, me: str, listed: Iterable[StatusObject], is_live: Mapping[str, bool] | None = None
) -> list[StatusObject]:
    """The objects ``sweep`` deletes among those it ``listed``.

    Guarded by the object's ``node`` field (labels may be shortened; the field is exact): a node
    sweep takes only that node's objects; a takeover only layer-2 objects of the same Service,
    of another node that is not live (``is_live``: node -> live; absent: not live), claiming no IP
    this node does not answer for."""
    live = is_live or {}
    out: list[StatusObject] = []
    for obj in listed:
        if isinstance(sweep, NodeSweep):
            if obj.node == sweep.node and obj.node != me:
                out.append(obj)
            continue
        if (
            obj.kind == SERVICE_L2_STATUS
            and obj.node
            and obj.node != me
            and not live.get(obj.node, False)
            and (obj.service.namespace, obj.service.name) == (sweep.namespace, sweep.service)
            and obj.ips
            and set(obj.ips) <= sweep.ips
        ):
            out.append(obj)
    return sorted(out, key=lambda o: o.key)


class CleanupPlanner:
    """One speaker's cleanup decisions; ``wanted`` is called after every reconcile."""

    def __init__(self, me: str) -> None:
        self.me = me
        self._nodes: frozenset[str] | None = None
        self._deleted: set[str] = set()
        """Nodes whose Node object went while this speaker ran (forgotten when they come back)."""

    def wanted(
        self,
        view: MembershipView,
        nodes: Iterable[str],
        layer2: Mapping[tuple[str, str], frozenset[str]],
    ) -> set[Sweep]:
        """The sweeps this speaker wants now: ``nodes`` are the Node objects known, ``layer2`` the
        Services (``(namespace, name)``) this node answers for on layer 2, with their IPs."""
        now = frozenset(nodes)
        if self._nodes is not None:
            self._deleted |= self._nodes - now
        self._deleted -= now | {self.me}
        self._nodes = now
        return self.node_sweeps(view) | takeovers(self.me, layer2, view)

    def node_sweeps(self, view: MembershipView) -> set[Sweep]:
        """The nodes whose objects this speaker removes (it is their ``sweeper``)."""
        out: set[Sweep] = set()
        for node in sorted(self._deleted):
            if sweeper(node, view.live) == self.me:
                out.add(NodeSweep(node, "its Node object was deleted"))
        if not view.can_judge():
            return out
        for node, status in sorted(view.verdicts.items()):
            if view.heard is not None and node not in view.heard:
                continue  # never heard: it may be starting (its objects come before it joins)
            if status in GONE_VERDICTS and node not in view.live and sweeper(node, view.live) == self.me:
                out.add(NodeSweep(node, f"the membership declared it {status}"))
        return out
