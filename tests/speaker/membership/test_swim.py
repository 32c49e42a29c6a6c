"""The SWIM state machine on a simulated network with fake time: no sleeping, fully deterministic."""

from __future__ import annotations

import random

import pytest

from speaker.membership import wire
from speaker.membership.swim import LEGACY_TIMING, Swim, Timing
from tests.support.layer2_simnet import DT, cluster

TOLERATED_STALL = Timing().ack_timeout + Timing().nack_timeout
"""A peer that answers nobody for less than this is never suspected."""


def test_healthy_cluster_with_jitter_never_suspects() -> None:
    net = cluster(5, max_latency=0.04)
    net.run(20)
    assert all(s.live() == set(net.nodes) for s in net.nodes.values())
    assert sum(s.stats.suspicions for s in net.nodes.values()) == 0


def test_stalls_shorter_than_ack_and_nack_timeouts_are_tolerated() -> None:
    net = cluster(3, max_latency=0.01)
    for k in range(10):
        net.run(1)
        net.stalled_until[f"n{k % 3}"] = net.now + TOLERATED_STALL - 0.02
    net.run(1)
    assert net.deaths == []
    assert sum(s.stats.suspicions for s in net.nodes.values()) == 0


@pytest.mark.parametrize(
    ("timing", "bound"),
    [(Timing(), 0.25), (LEGACY_TIMING, 1.0)],
    ids=["default", "legacy"],
)
@pytest.mark.parametrize("seed", range(1, 6))
def test_stopped_member_is_counted_out_by_everyone_then_dead(timing: Timing, bound: float, seed: int) -> None:
    """Counted out (its IPs move) within ``bound``: one probe interval or two, then ack + nack timeouts."""
    net = cluster(3, timing=timing, seed=seed)
    net.run(2)
    net.stopped.add("n2")
    took = net.until(lambda: all("n2" not in net.nodes[n].live() for n in ("n0", "n1")), limit=5)
    assert took is not None and took < bound
    dead = net.until(lambda: all(net.nodes[n].status("n2") == "dead" for n in ("n0", "n1")), limit=2)
    assert dead is not None


def test_member_reachable_only_indirectly_is_never_suspected() -> None:
    net = cluster(3)
    net.run(1)
    net.cut |= {("n0", "n2"), ("n2", "n0")}  # n0 cannot reach n2 directly; n1 relays
    net.run(3)
    net.cut.clear()
    net.run(2)
    assert all(s.live() == {"n0", "n1", "n2"} for s in net.nodes.values())
    assert not any(dead == "n2" for _, _, dead in net.deaths)
    assert sum(s.stats.suspicions for s in net.nodes.values()) == 0  # the ping-req answered in time


def test_suspected_but_alive_member_refutes() -> None:
    net = cluster(3)
    net.run(1)
    # past the ack and nack timeouts (suspected), within the suspicion timeout (not dead)
    net.stalled_until["n2"] = net.now + TOLERATED_STALL + Timing().suspicion_timeout / 2
    net.run(3)
    assert all(s.live() == {"n0", "n1", "n2"} for s in net.nodes.values())
    assert net.deaths == []
    # the stall was noticed (this is what ironlb_membership_suspicions_total counts) and refuted
    assert net.nodes["n0"].stats.suspicions == net.nodes["n1"].stats.suspicions == 1
    assert net.nodes["n2"].stats.refutations == 1


def test_partition_heals_by_refutation() -> None:
    net = cluster(3)
    net.run(1)
    net.cut |= {("n2", "n0"), ("n2", "n1"), ("n0", "n2"), ("n1", "n2")}
    net.run(2)
    assert "n2" not in net.nodes["n0"].live()
    net.cut.clear()
    assert net.until(lambda: all(s.live() == {"n0", "n1", "n2"} for s in net.nodes.values()), limit=5)
    assert net.nodes["n2"].stats.refutations > 0


def test_leave_is_seen_at_once() -> None:
    net = cluster(3)
    net.run(1)
    net.send("n2", net.nodes["n2"].leave())
    net.stopped.add("n2")
    took = net.until(lambda: all(net.nodes[n].status("n2") == "left" for n in ("n0", "n1")), limit=1)
    assert took is not None and took <= 2 * DT
    assert "n2" not in net.nodes["n2"].live()


def test_restarted_member_with_new_incarnation_is_alive_again() -> None:
    net = cluster(3)
    net.run(1)
    net.stopped.add("n2")
    net.run(2)
    assert net.nodes["n0"].status("n2") == "dead"
    net.stopped.discard("n2")
    net.add("n2", incarnation=99)
    assert net.until(lambda: all(s.live() == {"n0", "n1", "n2"} for s in net.nodes.values()), limit=2)


def test_unknown_sender_changes_nothing() -> None:
    s = Swim("n0", incarnation=1)
    s.set_peers({"n1": ("n1", 1)}, 0)
    out = s.receive(
        wire.Message("ping", "intruder", 5, 1, "n0", (wire.Gossip("n1", "dead", 10),)), ("x", 1), 0.1
    )
    assert s.stats.unknown_senders == 1
    assert [m.kind for _, m in out] == ["ack"]
    assert s.status("n1") == "alive"  # gossip from a sender outside the peer set is not believed


def test_nothing_happens_before_the_next_deadline() -> None:
    import copy

    net = cluster(3)
    for _ in range(200):
        net.step()
        for s in net.nodes.values():
            deadline = s.next_deadline()
            probe = copy.deepcopy(s)
            before = {m: (x.status, x.incarnation) for m, x in probe.members.items()}
            assert probe.tick(max(net.now, deadline - 1e-6)) == [] or deadline <= net.now
            assert {m: (x.status, x.incarnation) for m, x in probe.members.items()} == before


def test_last_member_keeps_ticking_after_every_peer_left() -> None:
    """Regression: probing once looped forever when every peer had left (the last speaker spun)."""
    net = cluster(3)
    net.run(1)
    for leaving in ("n1", "n2"):
        net.send(leaving, net.nodes[leaving].leave())
        net.stopped.add(leaving)
    assert net.until(lambda: net.nodes["n0"].live() == {"n0"}, limit=1) is not None
    # tick() must return (the loop above would hang otherwise) and send nothing to the departed.
    later = net.now + 1.0
    assert net.nodes["n0"].tick(later) == []


def spread_of_a_death(fanout: int, seed: int) -> float:
    """From the first member counting a stopped one out to the last one doing so."""
    net = cluster(6, timing=Timing(gossip_fanout=fanout), seed=seed)
    net.run(2)
    net.stopped.add("n5")

    def out() -> list[bool]:
        return ["n5" not in net.nodes[n].live() for n in net.running()]

    assert net.until(lambda: any(out()), limit=5) is not None
    everyone = net.until(lambda: all(out()), limit=5)
    assert everyone is not None
    return everyone


def test_news_is_pushed_to_peers_at_once() -> None:
    """A confirmed suspicion reaches every member within a hop or two, not when probes happen to carry it."""
    pushed = [spread_of_a_death(3, seed) for seed in range(1, 9)]
    carried = [spread_of_a_death(0, seed) for seed in range(1, 9)]
    assert max(pushed) <= 0.02  # a hop or two, 2 ms at most each (plus a 5 ms step)
    assert sum(pushed) < sum(carried)


def test_with_handover_on_death_a_suspect_keeps_its_ips_until_dead() -> None:
    net = cluster(3, timing=Timing(handover="death"))
    net.run(1)
    net.stopped.add("n2")
    assert net.until(lambda: net.nodes["n0"].status("n2") == "suspect", limit=2) is not None
    assert "n2" in net.nodes["n0"].live()
    assert net.until(lambda: "n2" not in net.nodes["n0"].live(), limit=2) is not None
    assert net.nodes["n0"].status("n2") == "dead"


def test_a_stalled_member_stretches_its_own_timeouts_and_recovers() -> None:
    """Lifeguard's local health: late timers raise the score, probes answered in time lower it."""
    net = cluster(3)
    net.run(1)
    slow = net.nodes["n0"]
    assert slow.health == 0
    net.stalled_until["n0"] = net.now + 0.3
    net.run(0.3 + DT)
    assert slow.health >= 1
    assert slow.next_deadline() >= net.now  # its deadlines now use stretched timeouts
    assert net.until(lambda: slow.health == 0, limit=2) is not None  # its probes are answered again
    assert net.deaths == []


def test_silent_helpers_and_refutations_raise_the_score_up_to_its_ceiling() -> None:
    s = Swim("n0", incarnation=1, timing=Timing(max_health=2), rng=random.Random(0))
    s.set_peers({f"n{i}": (f"n{i}", 7946) for i in range(3)}, 0.0)
    now = 0.0
    while not any(m.status == "suspect" for m in s.members.values()):
        now += DT
        s.tick(now)  # nobody answers the ping or the ping-req
    assert s.health == 1  # the helper asked sent neither req-ack nor nack
    s.receive(wire.Message("ack", "n1", 1, 0, "n1", (wire.Gossip("n0", "suspect", 1),)), ("n1", 7946), now)
    assert s.incarnation == 2 and s.health == 2  # refuted: others could not reach us in time
    s.receive(wire.Message("ack", "n1", 1, 0, "n1", (wire.Gossip("n0", "suspect", 2),)), ("n1", 7946), now)
    assert s.health == 2
    off = Swim("n0", incarnation=1, timing=Timing(max_health=0))
    off.set_peers({"n1": ("n1", 7946)}, 0.0)
    off.receive(wire.Message("ack", "n1", 1, 0, "n1", (wire.Gossip("n0", "suspect", 1),)), ("n1", 7946), 1.0)
    assert off.health == 0


def test_a_restarted_member_held_out_is_told_so_and_comes_back() -> None:
    """It restarted (higher incarnation) where its IPs had moved: told at its old incarnation, it does not
    refute but comes back, and is in touch once a probe it sends afterwards is answered (rule 2)."""
    net = cluster(3)
    net.run(1)
    net.stopped.add("n2")
    assert net.until(lambda: net.nodes["n0"].status("n2") == "dead", limit=2) is not None
    again = net.add("n2", incarnation=50)
    assert again.comebacks == 0
    assert net.until(lambda: again.comebacks == 1, limit=1) is not None
    assert again.incarnation == 50 and again.stats.refutations == 0
    assert net.until(again.in_touch, limit=1) is not None
    assert net.until(net.converged, limit=1) is not None


def _held_out_and_back(
    *, holding: frozenset[str], then: frozenset[str] | None = None
) -> list[tuple[tuple[str, int], wire.Message]]:
    """n0 holds n2 dead at incarnation 1 (layer 2 says it holds ``holding``, then ``then``), and n1 says
    n2 is alive at incarnation 7 (n2 restarted); n2 then pings n0, and answers n0's next ping to it."""
    s = Swim("n0", incarnation=1)
    s.set_peers({"n1": ("n1", 7946), "n2": ("n2", 7946)}, 0.0)
    s.receive(wire.Message("ack", "n1", 1, 0, "n1", (wire.Gossip("n2", "dead", 1),)), ("n1", 7946), 0.1)
    assert "n2" not in s.live()
    s.set_holding(holding)
    if then is not None:
        s.set_holding(then)
    back = wire.Message("ack", "n1", 1, 0, "n1", (wire.Gossip("n2", "alive", 7),))
    out = s.receive(back, ("n1", 7946), 0.2)
    assert "n2" in s.live()
    out += [o for now in (0.25, 0.3, 0.35, 0.4, 0.45) for o in s.tick(now)]  # probes go to n1 and n2
    out += s.receive(wire.Message("ping", "n2", 7, 5, "n0"), ("n2", 7946), 0.5)
    now = 0.5
    for _ in range(40):  # until n0 probes n2 again: n2 answers at once
        now = round(now + 0.05, 2)
        sent = s.tick(now)
        out += sent
        ping = next((m for a, m in sent if a[0] == "n2" and m.kind == "ping" and m.seq), None)
        if ping is not None:
            out += s.receive(wire.Message("ack", "n2", 7, ping.seq, "n2"), ("n2", 7946), now)
            break
    return out + [o for i in range(1, 6) for o in s.tick(round(now + 0.05 * i, 2))]


def test_a_peer_whose_ips_we_held_is_told_when_it_is_back_learnt_from_another_peer() -> None:
    """Rule 5: n2 restarted where this node could not hear it; back, learnt from n1, it is told (bare ack,
    seq 0) that it was held out at its old incarnation, then on our probes of it (the bare ack may not
    reach it: a heal in steps), on our reply to the first message it sends us (which may not reach it
    either: its messages coming through do not prove that ours do), and on everything after until it
    answers a ping of ours that carried it; then no more. Without holding its IPs, nothing is told."""
    out = _held_out_and_back(holding=frozenset({"n2"}))
    to_n2 = [
        (msg.kind, msg.seq, wire.Gossip("n2", "dead", 1) in msg.gossip)
        for addr, msg in out
        if addr[0] == "n2"
    ]
    reply = to_n2.index(("ack", 5, True))  # our reply to its ping
    answered = next(i for i, (kind, _, _) in enumerate(to_n2) if kind == "ping" and i > reply)  # n2 acks it
    assert to_n2[0] == ("ack", 0, True)
    assert len(to_n2[1:reply]) >= 1 and all(told and kind != "ack" for kind, _, told in to_n2[1:reply])
    assert reply < answered and all(told for _, _, told in to_n2[reply : answered + 1])
    assert to_n2[answered + 1 :] and not any(told for _, _, told in to_n2[answered + 1 :])
    quiet = _held_out_and_back(holding=frozenset({"n1"}))
    assert not [msg for addr, msg in quiet if any(g.name == "n2" and g.status != "alive" for g in msg.gossip)]


def test_a_peer_whose_ips_we_held_is_told_when_it_is_back_though_we_hold_none_of_them_any_more() -> None:
    """Rule 5: another peer back first may have taken the IP from this node without announcing it (in its
    view the owner was back): the client is still here, so the owner is told all the same."""
    out = _held_out_and_back(holding=frozenset({"n2"}), then=frozenset())
    assert any(addr[0] == "n2" and wire.Gossip("n2", "dead", 1) in msg.gossip for addr, msg in out)
    assert not [
        msg
        for addr, msg in _held_out_and_back(holding=frozenset(), then=frozenset())
        if any(g.name == "n2" and g.status != "alive" for g in msg.gossip)
    ]


def test_told_it_was_held_out_at_an_older_incarnation_a_member_comes_back_without_refuting() -> None:
    s = Swim("n2", incarnation=7)
    s.set_peers({"n0": ("n0", 7946)}, 0.0)
    s.receive(wire.Message("ack", "n0", 1, 0, "n0", (wire.Gossip("n2", "dead", 1),)), ("n0", 7946), 1.0)
    assert (s.comebacks, s.incarnation, s.in_touch()) == (1, 7, False)  # announces once peers hear it


def test_a_notice_repeated_by_one_peer_is_one_comeback_and_another_peers_is_another() -> None:
    """A holder repeats its notice until we answer a ping that carried it: one comeback per peer that tells
    us (each may hold IPs of ours a client reaches through it; a heal in steps tells them apart), not per
    repeat, which would put off our announcement again and again (``in_touch`` starts over)."""
    s = Swim("n2", incarnation=7)
    s.set_peers({"n0": ("n0", 7946), "n1": ("n1", 7946)}, 0.0)
    notice = (wire.Gossip("n2", "dead", 1),)
    for now in (1.0, 1.2, 1.4):
        s.receive(wire.Message("ack", "n0", 1, 0, "n0", notice), ("n0", 7946), now)
    assert s.comebacks == 1
    s.receive(wire.Message("ack", "n1", 1, 0, "n1", notice), ("n1", 7946), 1.6)
    assert (s.comebacks, s.incarnation) == (2, 7)
