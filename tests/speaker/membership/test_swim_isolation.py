"""A member cut off from the others must not, once back, get healthy members counted out (fake time).

The bugs these guard against: the isolated member suspected, then killed, every
peer in turn and gossiped those deaths; when its link returned, members that
held the peers alive at the same incarnation believed "B dead" until B
refuted, and the Service IPs flapped. The "you are dead, refute" notice went
into the gossip queue shared by every peer. Back from a cut, a member counted
only the first peer it heard from as alive (and took the others' IPs), and a
probe started during the cut and answered late still killed a live peer
(issue 11). Rules 1-4 of ``speaker.membership.swim``.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from speaker.membership import wire
from speaker.membership.swim import Swim, Timing
from tests.support.layer2_simnet import Net, cluster

DETECTION_BOUND = 0.3
"""Every survivor counts a dead peer out within this (``test_swim``: 0.25 s in a 3-member cluster)."""
TOLERATED_STALL = Timing().ack_timeout + Timing().nack_timeout


def isolate(net: Net, name: str) -> None:
    net.isolate(name)


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
    return net.converged()


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
@pytest.mark.parametrize("cut_for", [0.3, 0.5, 0.8, 1.0, 1.5, 2.5])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_partition_heal_of_one_member_marks_no_connected_member_dead(
    n: int, cut_for: float, seed: int
) -> None:
    net = partition_heal(n, seed, cut_for)
    assert deaths_of_connected(net, "n0") == []
    # The others did count it out, then in again after it refuted.
    if cut_for >= 0.5:
        assert all(s.stats.confirmed_suspicions >= 1 for name, s in net.nodes.items() if name != "n0")
        assert net.nodes["n0"].stats.refutations > 0


@pytest.mark.parametrize("n", [3, 5])
def test_isolated_member_acts_alone_then_withdraws_it_all_at_the_first_contact(n: int) -> None:
    """Alone, it counts every peer out (a node whose peers really died takes their IPs); back, it undoes that
    at once, whichever peer it hears from first: never "only the first peer back is alive" (rule 3)."""
    net = cluster(n, seed=n)
    net.run(1)
    isolate(net, "n0")
    lonely = net.nodes["n0"]
    assert net.until(lambda: lonely.live() == {"n0"}, limit=20) is not None
    assert lonely.isolated() and lonely.stats.confirmed_suspicions == 0  # nothing it concluded was told
    net.cut -= {("n2", "n0")}  # one peer gets through first
    net.until(lambda: lonely.stats.withdrawn > 0, limit=2)
    assert lonely.live() == set(net.nodes), lonely.live()
    assert not lonely.isolated()
    net.cut.clear()
    assert net.until(lambda: converged(net), limit=2) is not None


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 5),
    seed=st.integers(0, 10_000),
    cut_for=st.floats(0.2, 3.0),
    latency=st.sampled_from([0.002, 0.01, 0.03]),
    stall=st.floats(0.0, TOLERATED_STALL * 0.9),
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
    net.stalled_until["n1"] = net.now + stall  # shorter than ack + nack timeouts: tolerated by design
    assert net.until(lambda: converged(net), limit=5) is not None
    net.run(1)
    assert converged(net)
    assert deaths_of_connected(net, "n0") == []


@pytest.mark.parametrize("n", [3, 5])
@pytest.mark.parametrize("seed", range(1, 9))
def test_real_death_is_still_seen_and_told_by_every_survivor(n: int, seed: int) -> None:
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
    dead = net.until(lambda: all(net.nodes[s].status(victim) == "dead" for s in survivors), limit=2)
    assert dead is not None
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
        assert now < 30
    return s


def carried(out: list[tuple[tuple[str, int], wire.Message]]) -> list[tuple[str, wire.Gossip]]:
    return [(addr[0], g) for addr, msg in out for g in msg.gossip]


def test_verdicts_reached_alone_are_acted_on_but_not_gossiped() -> None:
    s = alone()
    assert s.live() == {"n0"}
    assert s.stats.deaths == 2 and s.isolated()
    assert all(m.unheard for m in s.members.values())
    out = s.tick(100.0)  # the next probe of a dead member (they are still probed)
    assert out and all(g.status == "alive" for _, g in carried(out))


@pytest.mark.parametrize("kind", ["ping", "ack"])
def test_any_contact_withdraws_what_was_concluded_in_silence(kind: wire.MessageType) -> None:
    s = alone()
    # n2 speaks (its ping, or the ack to our probe of a dead member): our link works again
    out = s.receive(wire.Message(kind, "n2", 0, 7, "n2" if kind == "ack" else "n0"), ("n2", 7946), 100.0)
    assert s.live() == {"n0", "n1", "n2"}  # n1 too, although we have not heard from it yet
    assert not s.isolated() and s.stats.withdrawn == 2
    # Each peer we had counted dead is told, itself only (we took its IPs: it must announce them again) ...
    told = {(to, g) for to, g in carried(out) if g.status != "alive"}
    assert told == {("n1", wire.Gossip("n1", "dead", 0)), ("n2", wire.Gossip("n2", "dead", 0))}
    # ... and again on what we send it, until it refuted
    later = s.receive(wire.Message("ping", "n1", 0, 8, "n0"), ("n1", 7946), 100.1)
    assert ("n1", wire.Gossip("n1", "dead", 0)) in carried(later)
    s.receive(wire.Message("ack", "n1", 1, 0, "n1", (wire.Gossip("n1", "alive", 1),)), ("n1", 7946), 100.2)
    assert not [
        g
        for _, g in carried(s.receive(wire.Message("ping", "n1", 1, 9, "n0"), ("n1", 7946), 100.3))
        if g.status != "alive"
    ]


def test_late_ack_withdraws_a_suspicion_told_to_no_one() -> None:
    """A probe started during a cut, answered after its verdict: the peer is alive, not suspect (rule 4)."""
    s = Swim("n0", incarnation=1, rng=random.Random(0))
    s.set_peers({f"n{i}": (f"n{i}", 7946) for i in range(3)}, 0.0)
    now, pings = 0.0, []
    while not any(m.status == "suspect" for m in s.members.values()):
        now += 0.005
        pings += [(a[0], m.seq) for a, m in s.tick(now) if m.kind == "ping" and m.seq]
    suspect = next(m.name for m in s.members.values() if m.status == "suspect")
    seq = next(seq for to, seq in pings if to == suspect)
    s.receive(wire.Message("ack", suspect, 0, seq, suspect), (suspect, 7946), now + 0.01)
    assert s.status(suspect) == "alive" and suspect in s.live()


def learnt_dead(subject: str = "n1") -> Swim:
    """n0 told by n2 that ``subject`` is dead (a verdict with evidence, gossiped)."""
    s = Swim("n0", incarnation=1, rng=random.Random(0))
    s.set_peers({f"n{i}": (f"n{i}", 7946) for i in range(3)}, 0.0)
    s.receive(wire.Message("ack", "n2", 1, 0, "n2", (wire.Gossip(subject, "dead", 0),)), ("n2", 7946), 1.0)
    assert s.status(subject) == "dead"
    return s


@pytest.mark.parametrize("kind", ["ping", "ack"])
def test_refute_notice_reaches_only_its_subject(kind: wire.MessageType) -> None:
    s = learnt_dead("n1")
    now = 100.0
    s._gossip.clear()  # what it learnt is retold as usual (to everyone); this checks the notice only
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


def test_helper_acknowledges_relays_and_nacks() -> None:
    helper = Swim("n1", incarnation=1)
    helper.set_peers({f"n{i}": (f"n{i}", 7946) for i in range(3)}, 0.0)
    out = helper.receive(wire.Message("ping-req", "n0", 1, 42, "n2"), ("n0", 7946), 1.0)
    assert [(a[0], m.kind, m.seq, m.target, m.failed) for a, m in out if m.seq] == [
        ("n0", "req-ack", 42, "n2", False),
        ("n2", "ping", 1, "n2", False),
    ]

    def nacks(now: float) -> list[tuple[str, int, bool]]:
        return [(a[0], m.seq, m.failed) for a, m in helper.tick(now) if m.kind == "req-ack"]

    assert nacks(1.0 + Timing().nack_timeout - 0.001) == []
    assert nacks(1.0 + Timing().nack_timeout) == [("n0", 42, True)]
    assert nacks(1.5) == []  # once
    # an ack that comes late is still relayed (the requester may still be waiting)
    late = helper.receive(wire.Message("ack", "n2", 0, 1, "n2"), ("n2", 7946), 1.2)
    assert [(a[0], m.kind, m.seq, m.target) for a, m in late if m.seq] == [("n0", "ack", 42, "n2")]


def probe_until_suspect(reply: str, *, other_probe: bool = False) -> Swim:
    """n0 probes until it suspects someone; its helper answers each ping-req with ``reply``
    ("none", "req-ack" or "nack"), about this probe or (``other_probe``) another one."""
    s = Swim("n0", incarnation=1, rng=random.Random(0))
    s.set_peers({f"n{i}": (f"n{i}", 7946) for i in range(3)}, 0.0)
    now, target, seq = 0.0, "", 0
    while not any(m.status == "suspect" for m in s.members.values()):
        now += 0.005
        for addr, m in s.tick(now):
            if m.kind == "ping" and m.seq:
                target, seq = addr[0], m.seq
            elif m.kind == "ping-req" and reply != "none":
                msg = wire.Message("req-ack", addr[0], 1, seq + other_probe, target, failed=reply == "nack")
                s.receive(msg, addr, now)
        assert now < 10
    return s


@pytest.mark.parametrize(
    ("reply", "other_probe", "told", "counted_out", "unheard"),
    [
        ("none", False, False, False, True),  # nobody answered: likely our own link; withdrawn at contact
        ("req-ack", False, False, False, False),  # our link works, the helper did not say it failed (old)
        ("nack", False, True, True, False),  # confirmed: gossiped, and its IPs move now
        ("nack", True, False, False, False),  # a nack about another probe proves nothing about this one
    ],
)
def test_what_a_suspicion_rests_on(
    reply: str, other_probe: bool, told: bool, counted_out: bool, unheard: bool
) -> None:
    s = probe_until_suspect(reply, other_probe=other_probe)
    suspect = next(m for m in s.members.values() if m.status == "suspect")
    assert bool([g for g in s._take_gossip() if g.status == "suspect"]) == told
    assert (suspect.name not in s.live()) == counted_out
    assert suspect.unheard == unheard and suspect.local == (not told)


def test_back_from_a_cut_the_first_probe_goes_to_the_peer_heard_last_whatever_its_status() -> None:
    """Not to a peer made alive again by a withdrawn verdict (it may have died during the cut): its
    answer is what tells layer 2 that the peers hear this node again (``in_touch``)."""
    from speaker.membership.probe_order import ProbeOrder
    from speaker.membership.records import Member

    members = {
        "crashed": Member("crashed", ("10.0.0.2", 7946), "alive", heard=2.88),
        "quiet": Member("quiet", ("10.0.0.3", 7946), "alive", heard=2.87),
        "speaking": Member("speaking", ("10.0.0.4", 7946), "dead", heard=5.42),
        "gone": Member("gone", ("10.0.0.5", 7946), "left", heard=9.0),
    }
    assert ProbeOrder(random.Random(1)).heard_last(members) == "speaking"
    never = {n: Member(n, m.addr, m.status) for n, m in members.items()}  # starting: nobody heard yet
    assert ProbeOrder(random.Random(1)).heard_last(never) == "quiet"  # the last alive one by name
