"""A member cut off from the others must not, once back, get healthy members marked dead (fake time).

The bug these guard against: the isolated member suspected, then killed, every
peer in turn and gossiped those deaths; when its link returned, members that
held the peers alive at the same incarnation believed "B dead" until B
refuted, and the Service IPs flapped. Also: the "you are dead, refute" notice
went into the gossip queue shared by every peer. See ``speaker.membership.swim``.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from speaker.membership import wire
from speaker.membership.swim import Swim
from tests.layer2.test_swim import Net, cluster

DETECTION_BOUND = 1.0
"""The bound ``test_stopped_member_is_declared_dead_by_everyone_within_a_second`` has always used."""


def isolate(net: Net, name: str) -> None:
    net.cut |= {(name, o) for o in net.nodes if o != name} | {(o, name) for o in net.nodes if o != name}


def deaths_of_connected(net: Net, isolated: str) -> list[tuple[str, str, str, str, int]]:
    """(observer, member, old, new, incarnation) for every member that stayed connected and was marked dead
    by a member other than the isolated one (which may and must act on its own view)."""
    return [
        (observer, name, old, new, inc)
        for observer, s in net.nodes.items()
        if observer != isolated
        for name, old, new, inc in s.transitions
        if name != isolated and new == "dead"
    ]


def converged(net: Net) -> bool:
    return all(s.live() == set(net.nodes) for s in net.nodes.values())


def partition_heal(n: int, seed: int, cut_for: float, max_latency: float = 0.002) -> Net:
    net = cluster(n, seed=seed, max_latency=max_latency)
    net.run(1)
    isolate(net, "n0")
    net.run(cut_for)
    net.cut.clear()
    assert net.until(lambda: converged(net), limit=5) is not None
    net.run(1)  # and it stays converged: late gossip flips nobody
    assert converged(net)
    return net


@pytest.mark.parametrize("n", [3, 5])
@pytest.mark.parametrize("cut_for", [0.5, 0.8, 1.0, 1.2, 1.5, 2.5])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_partition_heal_of_one_member_marks_no_connected_member_dead(
    n: int, cut_for: float, seed: int
) -> None:
    net = partition_heal(n, seed, cut_for)
    assert deaths_of_connected(net, "n0") == []
    isolated = net.nodes["n0"]
    if cut_for >= 2.5:
        # It did act on its own view while alone (so a node whose peers really died takes their IPs) ...
        assert {name for name, _, new, _ in isolated.transitions if new == "dead"} == set(net.nodes) - {"n0"}
    # ... and the others did find it dead, then alive again after it refuted.
    if cut_for >= 1.0:
        assert all(s.stats.deaths >= 1 for name, s in net.nodes.items() if name != "n0")
        assert isolated.stats.refutations > 0


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 5),
    seed=st.integers(0, 10_000),
    cut_for=st.floats(0.2, 3.0),
    latency=st.sampled_from([0.002, 0.01, 0.03]),
    stall=st.floats(0.0, 0.15),
)
def test_property_isolated_member_never_gets_a_connected_one_killed(
    n: int, seed: int, cut_for: float, latency: float, stall: float
) -> None:
    """Any cluster size, isolation length, latency and a short stall of a connected member on the way back."""
    net = cluster(n, seed=seed, max_latency=latency)
    net.run(1)
    isolate(net, "n0")
    net.run(cut_for)
    net.cut.clear()
    net.stalled_until["n1"] = net.now + stall  # shorter than the probe timeout: tolerated by design
    assert net.until(lambda: converged(net), limit=5) is not None
    net.run(1)
    assert converged(net)
    assert deaths_of_connected(net, "n0") == []


@pytest.mark.parametrize("n", [3, 5])
@pytest.mark.parametrize("seed", range(1, 9))
def test_real_death_is_still_seen_by_every_survivor_within_the_old_bound(n: int, seed: int) -> None:
    net = cluster(n, seed=seed)
    net.run(2)
    victim = f"n{n - 1}"
    survivors = [name for name in net.nodes if name != victim]
    told: list[tuple[str, str, wire.Gossip]] = []
    send = net.send

    def recording(src: str, out: list[tuple[tuple[str, int], wire.Message]]) -> None:
        told.extend((src, addr[0], g) for addr, msg in out for g in msg.gossip if g.name == victim)
        send(src, out)

    net.send = recording  # type: ignore[method-assign]
    net.stopped.add(victim)
    took = net.until(lambda: all(victim not in net.nodes[s].live() for s in survivors), limit=5)
    assert took is not None and took < DETECTION_BOUND
    assert all(net.nodes[s].status(victim) == "dead" for s in survivors)
    net.run(0.3)  # the verdicts reached on the last step go out with the next messages
    # Survivors were in contact, so they still told each other: the suspicion and the death were gossiped.
    between = {g.status for src, dst, g in told if src in survivors and dst in survivors}
    assert {"suspect", "dead"} <= between
    assert deaths_of_connected(net, victim) == []


def test_every_peer_really_dead_the_last_one_still_takes_over() -> None:
    net = cluster(3)
    net.run(1)
    net.stopped |= {"n1", "n2"}
    assert net.until(lambda: net.nodes["n0"].live() == {"n0"}, limit=3) is not None


def alone(n: int = 3) -> Swim:
    """n0 whose peers never answer: it suspects and kills them all without contact."""
    s = Swim("n0", incarnation=1, rng=random.Random(0))
    s.set_peers({f"n{i}": (f"n{i}", 7946) for i in range(n)}, 0.0)
    now = 0.0
    while any(s.status(m) != "dead" for m in s.members):
        now += 0.005
        s.tick(now)
        assert now < 10
    return s


def carried(out: list[tuple[tuple[str, int], wire.Message]]) -> list[tuple[str, wire.Gossip]]:
    return [(addr[0], g) for addr, msg in out for g in msg.gossip]


def test_verdicts_reached_alone_are_acted_on_but_not_gossiped() -> None:
    s = alone()
    assert s.live() == {"n0"}
    assert s.stats.deaths == 2
    out = s.tick(100.0)  # the next probe of a dead member (they are still probed)
    assert out and all(g.status == "alive" for _, g in carried(out))


@pytest.mark.parametrize("kind", ["ping", "ack"])
def test_refute_notice_reaches_only_its_subject(kind: wire.MessageType) -> None:
    s = alone()
    now = 100.0
    # n1 (held dead at incarnation 0) speaks again, at the same incarnation: it is alive, it must refute.
    out = s.receive(wire.Message(kind, "n1", 0, 7, "n1" if kind == "ack" else "n0"), ("n1", 7946), now)
    assert s.status("n1") == "dead"
    assert [addr[0] for addr, _ in out] == ["n1"]
    assert ("n1", wire.Gossip("n1", "dead", 0)) in carried(out)
    if kind == "ping":
        assert [m.kind for _, m in out] == ["ack"] and out[0][1].seq == 7  # on the reply itself
    # Nothing sent to anyone else, now or for the next seconds, says n1 is dead.
    for _ in range(400):
        now += 0.005
        out += s.tick(now)
    assert not [(to, g) for to, g in carried(out) if to != "n1" and g.name == "n1" and g.status != "alive"]
    # The subject refutes on hearing it, and the refutation brings it back.
    n1 = Swim("n1", incarnation=0)
    n1.set_peers({f"n{i}": (f"n{i}", 7946) for i in range(3)}, 0.0)
    n1.receive(out[0][1], ("n0", 7946), now)
    assert n1.incarnation == 1 and n1.stats.refutations == 1
    s.receive(wire.Message("ping", "n1", n1.incarnation, 8, "n0"), ("n1", 7946), now)
    assert s.status("n1") == "alive"


def test_ping_req_is_acknowledged_to_the_requester_and_confirms_its_probe() -> None:
    helper = Swim("n1", incarnation=1)
    helper.set_peers({f"n{i}": (f"n{i}", 7946) for i in range(3)}, 0.0)
    out = helper.receive(wire.Message("ping-req", "n0", 1, 42, "n2"), ("n0", 7946), 1.0)
    assert [(a[0], m.kind, m.seq, m.target) for a, m in out] == [
        ("n0", "req-ack", 42, "n2"),
        ("n2", "ping", 1, "n2"),
    ]

    def prober(confirm: wire.Message | None) -> Swim:
        s = Swim("n0", incarnation=1, rng=random.Random(0))
        s.set_peers({f"n{i}": (f"n{i}", 7946) for i in range(3)}, 0.0)
        now, target, seq = 0.0, "", 0
        while True:
            now += 0.005
            for addr, m in s.tick(now):
                if m.kind == "ping" and m.seq:
                    target, seq = addr[0], m.seq
                elif m.kind == "ping-req" and confirm is not None:
                    helper = next(n for n in s.members if n != target)
                    s.receive(
                        wire.Message("req-ack", helper, 1, seq + confirm.seq, target), (helper, 7946), now
                    )
            if any(m.status == "suspect" for m in s.members.values()):
                return s

    quiet = prober(None)
    assert not [g for g in quiet._take_gossip() if g.status == "suspect"]
    confirmed = prober(wire.Message("req-ack", "", 0, 0))
    assert [g for g in confirmed._take_gossip() if g.status == "suspect"]
    stale = prober(
        wire.Message("req-ack", "", 0, 1)
    )  # a req-ack for another probe proves nothing about this one
    assert not [g for g in stale._take_gossip() if g.status == "suspect"]
