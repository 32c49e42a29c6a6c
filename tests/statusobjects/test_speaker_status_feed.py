"""What the speaker hands its status-object writer after a reconcile (``speaker.statusobjects``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from ironlb.announce.inputs import Announcement
from ironlb.statusobjects.cleanup import MembershipView, NodeSweep, Sweep, TakeoverSweep, sweeper
from ironlb.statusobjects.service import StatusKey, StatusObject
from speaker.statusobjects import ServiceStatusObjects

IP = ipaddress.ip_address("192.0.2.1")


class Recorder:
    """A sink that keeps what it was last handed (the publisher's contract: no I/O here)."""

    def __init__(self) -> None:
        self.last: dict[StatusKey, StatusObject] = {}

    def publish(self, desired: Mapping[StatusKey, StatusObject]) -> int:
        changed = sum(1 for k in self.last.keys() | desired.keys() if self.last.get(k) != desired.get(k))
        self.last = dict(desired)
        return changed


def svc(ns: str, name: str, uid: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": ns, "name": name}
    if uid:
        meta["uid"] = uid
    return {"metadata": meta}


def test_objects_for_announced_services_with_a_uid_and_nothing_for_the_rest() -> None:
    sink = Recorder()
    feed = ServiceStatusObjects(sink)
    announced = [
        Announcement("apps/web", "layer2", "n1", IP, via=("eth1",)),
        Announcement("apps/web", "bgp", "n1", IP, via=("r1",)),
        Announcement("apps/manifest-only", "layer2", "n1", IP),  # no uid: cannot be owned
    ]
    services = [svc("apps", "web", "u-1"), svc("apps", "manifest-only", None), svc("apps", "idle", "u-3")]
    assert feed.update("n1", announced, services) == 2
    assert sorted(sink.last) == [
        ("ServiceBGPStatus", "apps", "web.n1"),
        ("ServiceL2Status", "apps", "web.n1"),
    ]
    l2 = sink.last[("ServiceL2Status", "apps", "web.n1")]
    assert (l2.service.uid, l2.ips, l2.via) == ("u-1", ("192.0.2.1",), ("eth1",))
    # The same again: nothing changed. Nothing announced: both go.
    assert feed.update("n1", list(reversed(announced)), services) == 0
    assert feed.update("n1", [], services) == 2 and sink.last == {}


class Wants:
    """A cleanup sink that keeps the sweeps it was last told are wanted (the adapter's contract: no I/O)."""

    def __init__(self) -> None:
        self.sweeps: set[object] = set()

    def want(self, sweeps: Iterable[Sweep], live: Iterable[str]) -> None:
        self.sweeps = set(sweeps)


def test_takeovers_after_a_reconcile_and_a_death_verdict_between_reconciles() -> None:
    wants = Wants()
    feed = ServiceStatusObjects(Recorder(), wants)
    live = frozenset({"n1", "n2"})
    me = sweeper("n3", live)
    assert me is not None
    suspect = MembershipView(me, live, {"n1": "alive", "n2": "alive", "n3": "suspect"} | {me: "alive"})
    announced = [Announcement("apps/web", "layer2", me, IP, via=("eth1",))]
    feed.update(me, announced, [svc("apps", "web", "u1")], view=suspect, nodes=["n1", "n2", "n3"])
    assert wants.sweeps == {TakeoverSweep("apps", "web", frozenset({str(IP)}))}
    dead = MembershipView(me, live, {**suspect.verdicts, "n3": "dead"})
    feed.judge(me, dead, ["n1", "n2", "n3"])  # no reconcile: the live set did not change
    assert wants.sweeps == {TakeoverSweep("apps", "web", frozenset({str(IP)})), NodeSweep("n3")}
