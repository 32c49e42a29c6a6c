"""Ownership over random joins, leaves, crashes, partitions and heals, in fake time (issue 11, defect 1).

Pure state machines on a simulated network (``tests.announce.ownership_sim``):
after the last heal and convergence, every IP has exactly one owner, the one
the converged membership elects, on every node's view; from convergence on,
no node announces an IP it does not own; and the client's neighbour entry is on
a live node other than that owner for at most ``WRONG_FOR_AT_MOST`` after
convergence (an entry moved elsewhere before, such as the IPs of a node that
was cut off and held by its successor meanwhile, comes back once its owner is
heard again) or after a later stray announcement (the owner corrects it in one
round trip).

Not covered, by design: an entry left on a node that *crashed* (a failover in
progress, ``test_swim``'s business), including a node that announced while cut
off from its peers and died before the heal: no live node answers for it, and
nothing tells the owner the client heard it, so the client's own neighbour
probe (unicast, then broadcast: the owner answers) moves it, as it would for
any double fault. Re-announcing every owned IP whenever a node is declared dead was
weighed and left out: the survivors declare the cut-off node dead about 0.5 s into the
cut, while the client (on its side) is out of their reach, and nothing changes in their
view at the heal, so it would reach the client only through its repeats (a heal within
4 x 1.2 s of the death), at 10,000 gratuitous frames per death with 1,000 IPv4 IPs
instead of 2,060 on 4 nodes (the failover of the dead node's share: 2,830 on 3 nodes, 1,020
on 8; ``benchmarks/layer2_death_cost.py``), false deaths included.

A node restarted inside a partition announces its IPs once the first peer answers, which may be
on its own side; the client's entry for one of them may meanwhile be on its successor's successor
(its successor was cut off too), which the owner does not see come back: that holder tells the owner
once it is counted in again (``swim`` rule 5), even if another node took the IP from it meanwhile and
however late its own link to the owner heals, and the owner announces its IPs at once.
"""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.announce.ownership_sim import CLIENT, IPS, Segment
from tests.support.layer2_helpers import ranking
from tests.support.layer2_simnet import DT, Net

WRONG_FOR_AT_MOST = 0.2
CONVERGE_WITHIN = 5.0

op = st.tuples(
    st.sampled_from(["crash", "restart", "leave", "join", "isolate", "partition", "heal"]),
    st.integers(0, 7),
    st.floats(0.02, 2.0),
)


def settled(seg: Segment, seconds: float) -> float:
    """Run for ``seconds``; when the running members last started to agree on who is live (and kept to it)."""
    since = seg.net.now
    for _ in range(round(seconds / DT)):
        if not seg.net.converged():
            since = math.inf
        elif since == math.inf:
            since = seg.net.now
        seg.step()
    return since


def apply(seg: Segment, kind: str, pick: int, joined: list[str]) -> None:
    names = sorted(seg.net.nodes)
    running = seg.net.running()
    down = [n for n in names if n not in running]
    if kind == "crash" and len(running) > 1:
        seg.crash(running[pick % len(running)])
    elif kind == "leave" and len(running) > 1:
        seg.leave(running[pick % len(running)])
    elif kind == "restart" and down:
        seg.start(down[pick % len(down)])
    elif kind == "join" and len(names) < 6:
        name = f"j{len(joined)}"
        joined.append(name)
        seg.start(name)
    elif kind == "isolate":
        seg.isolate({names[pick % len(names)]})
    elif kind == "partition" and len(names) >= 4:
        seg.isolate({names[pick % len(names)], names[(pick + 1) % len(names)]})
    elif kind == "heal":
        seg.heal()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 5),
    seed=st.integers(0, 10_000),
    ops=st.lists(op, min_size=1, max_size=5),
    latency=st.sampled_from([0.001, 0.005, 0.02]),
)
# Found by hypothesis: a node cut off alone came back through a peer it still held dead and first
# probed one that had crashed meanwhile (alive again by a withdrawn verdict): it announced its IPs
# 0.24 s after convergence instead of at once.
@example(
    n=4,
    seed=1223,
    ops=[
        ("restart", 0, 0.46875),
        ("join", 0, 0.375),
        ("partition", 0, 0.5),
        ("partition", 4, 0.5),
        ("crash", 2, 2.0),
    ],
    latency=0.02,
)
# Found by hypothesis: n0 crashed, then n0 and n1 were cut off together with n0 restarting among them;
# n3 held one of n0's IPs (n1, its successor, was out too), and n0, which had announced it only on
# its own side, did not see n3 come back as that IP's successor: the client stayed on n3 for good.
@example(
    n=4,
    seed=0,
    ops=[("crash", 0, 0.125), ("partition", 0, 0.75), ("restart", 0, 0.25)],
    latency=0.001,
)
def test_one_owner_after_any_heal_and_no_stray_announcement_sticks(
    n: int, seed: int, ops: list[tuple[str, int, float]], latency: float
) -> None:
    seg = Segment(Net(seed=seed, max_latency=latency))
    for i in range(n):
        seg.start(f"n{i}")
    seg.run(1.5)
    joined: list[str] = []
    for kind, pick, wait in ops:
        apply(seg, kind, pick, joined)
        seg.run(wait)
    seg.heal()
    healed = seg.net.now
    converged = settled(seg, CONVERGE_WITHIN + 3.0)  # 3 s: longer than a burst's spacing
    assert converged - healed < CONVERGE_WITHIN, {n: sorted(s.live()) for n, s in seg.net.nodes.items()}
    end = seg.net.now

    want = seg.converged_owners()
    running = seg.net.running()
    for ip in IPS:  # every node's own view elects the same single owner
        assert [name for name in running if ip in seg.owned(name)] == [want[ip]]
    strays = [a for a in seg.announced if a.t >= converged + seg.timing.settle and a.node != want[a.ip]]
    assert strays == []
    wrong = seg.wrong_stretches(healed, end)
    late = [w for w in wrong if w[2] > max(w[1], converged) + WRONG_FOR_AT_MOST]
    assert late == [], (healed, converged)
    for ip, history in seg.entries.items():  # and never ends on a live node that does not own the IP
        assert history[-1][1] in (want[ip], *(n for n in seg.net.nodes if n not in running)), (ip, history)


def test_node_next_in_line_cut_off_never_moves_the_client() -> None:
    """The lab's scenario (``test_netns_partition``) in fake time: no announcement of another's IP reaches
    the client, for a short and for a long cut."""
    for cut_for in (1.5, 7.0):
        seg = Segment(Net(seed=7))
        for i in range(3):
            seg.start(f"n{i}")
        seg.run(6.0)  # first bursts over
        before = {ip: history[-1][1] for ip, history in seg.entries.items()}
        seg.isolate({"n1"})
        seg.run(cut_for)
        seg.heal()
        healed = seg.net.now
        assert settled(seg, CONVERGE_WITHIN) - healed < 2.0
        theirs = [ip for ip in IPS if before.get(ip) not in (None, "n1")]
        assert [
            (ip, length) for ip, _, length, _ in seg.wrong_stretches(healed, seg.net.now) if ip in theirs
        ] == []
        assert not [a for a in seg.announced if a.t >= healed and a.node == "n1" and a.ip in theirs]


def test_owner_restarted_in_a_partition_is_told_by_the_holder_that_learnt_it_from_others() -> None:
    """Rule 5 when the holder cannot reach the owner yet: learnt from the others first, told at the heal.

    ``X``'s owner crashes, the segment splits into {owner, successor} and {holder, fourth, client}
    (the holder, next after the successor, takes ``X`` for the client) and the owner restarts on its
    side. The heal comes in steps: the successor's links (the holder counts it in: in its view the
    successor owns ``X``, which in the successor's own view is the owner's); then the owner's link to
    the fourth node (which tells everyone it is back: the holder counts it in, learnt from another
    peer); then, once the owner's announcements (unheard by the client) are over, the rest. Only the
    owner's announcement moves the client back: the holder must tell it once it reaches it, though it
    no longer owned ``X`` (told once when it learnt, the notice was lost; not holding ``X``, it told
    nothing: either way, the client stayed on the holder for good).
    """
    seg = Segment(Net(seed=3, max_latency=0.005))
    for i in range(4):
        seg.start(f"n{i}")
    x = IPS[0]
    o, s, h, f = ranking(str(x), sorted(seg.net.nodes))
    seg.run(3.0)
    seg.crash(o)
    seg.run(1.0)
    seg.isolate({o, s})
    seg.run(1.0)
    assert seg.entries[x][-1][1] == h
    seg.start(o)  # a restart keeps its side
    seg.run(1.0)
    for apart, back in (({h, f, CLIENT}, s), ({h, CLIENT}, o)):  # the successor back first, then the owner
        seg.net.cut = {(o, b) for b in apart} | {(b, o) for b in apart}
        assert seg.net.until(lambda: back in seg.net.nodes[h].live(), limit=3.0) is not None  # noqa: B023
        assert x not in seg.owned(h)  # in its view the successor took X over, silently: the client stays
    seg.run(seg.timing.repeats * seg.timing.spacing + 0.5)  # the owner's burst is over
    assert seg.entries[x][-1][1] == h  # it announced where the client could not hear it
    seg.heal()
    healed = seg.net.now
    seg.run(3.0)
    late = [
        (t - healed, end - healed, n) for ip, t, end, n in seg.wrong_stretches(healed, seg.net.now) if ip == x
    ]
    assert all(end <= WRONG_FOR_AT_MOST for _, end, _ in late), (late, seg.entries[x])
    assert seg.entries[x][-1][1] == o
