"""When a node announces its IPs: the pure schedule of ``speaker.layer2.gratuitous``, in fake time."""

from __future__ import annotations

import ipaddress
import itertools

from hypothesis import given
from hypothesis import strategies as st

from ironlb.config.model import IPAddress
from speaker.layer2.gratuitous import GratuitousSchedule, GratuitousTiming, Standing

T = GratuitousTiming()
X, Y, Z = (ipaddress.ip_address(f"192.0.2.{i}") for i in (1, 2, 3))
ALL = frozenset({"a", "b", "c"})
IN_TOUCH = Standing()


def started(owned: dict[IPAddress, str | None], live: frozenset[str] = ALL) -> GratuitousSchedule:
    """A schedule past its start: in touch, its first announcements sent and their repeats over."""
    s = GratuitousSchedule("a", T)
    s.update(0.0, owned, live, IN_TOUCH)
    run(s, 0.0, 10.0)
    return s


def run(s: GratuitousSchedule, start: float, end: float, step: float = 0.01) -> list[tuple[float, IPAddress]]:
    """Every announcement due between ``start`` and ``end``, with its time."""
    out: list[tuple[float, IPAddress]] = []
    now = start
    while now <= end + 1e-9:
        out += [(round(now, 3), ip) for ip in s.due(now)]
        now += step
    return out


def test_a_won_ip_is_announced_at_once_then_repeated() -> None:
    s = started({X: "b"})
    s.update(20.0, {X: "b", Y: "b"}, ALL, IN_TOUCH)
    times = [t for t, ip in run(s, 20.0, 30.0) if ip == Y]
    assert times == [20.0 + i * T.spacing for i in range(T.repeats + 1)]


def test_a_burst_stops_when_its_ip_or_the_membership_changes() -> None:
    s = started({})
    s.update(20.0, {X: "b", Y: "b"}, frozenset({"a", "b"}), IN_TOUCH)
    assert sorted(s.due(20.0)) == [X, Y]
    s.update(20.5, {X: "b"}, frozenset({"a", "b"}), IN_TOUCH)  # Y lost: its repeats stop, not X's
    assert run(s, 20.5, 21.5) == [(20.0 + T.spacing, X)]
    s.update(21.5, {X: "b"}, ALL, IN_TOUCH)  # c came back (not X's successor): X's repeats stop
    assert run(s, 21.5, 30.0) == []


def test_at_start_held_ips_wait_for_touch_then_settle() -> None:
    s = GratuitousSchedule("a", T)
    s.update(0.0, {X: "b"}, ALL, Standing(in_touch=False))  # the first reconcile, before any probe
    assert run(s, 0.0, 0.5) == []
    s.update(0.5, {X: "b"}, ALL, Standing())  # a probe was answered: peers hear us
    assert run(s, 0.5, 0.6)[0] == (0.5 + T.settle, X)


def test_held_ips_go_out_after_the_settle_timeout_even_out_of_touch() -> None:
    s = GratuitousSchedule("a", T)
    s.update(0.0, {X: "b"}, ALL, Standing(in_touch=False))
    assert run(s, 0.0, T.settle_timeout + 0.05)[0] == (T.settle_timeout, X)


def test_after_a_comeback_every_held_ip_waits_for_touch() -> None:
    s = started({X: "b", Y: "c"})
    s.update(20.0, {X: "b", Y: "c"}, ALL, Standing(comebacks=1, in_touch=False))
    assert run(s, 20.0, 20.5) == []
    s.update(20.5, {X: "b", Y: "c"}, ALL, Standing(comebacks=1))
    got = run(s, 20.5, 20.6)
    assert sorted(ip for t, ip in got if t == 20.5 + T.settle) == [X, Y]


def test_a_returning_successor_gets_its_ips_announced_over_only() -> None:
    s = started({X: "b", Y: "c"}, live=frozenset({"a", "b"}))
    s.update(20.0, {X: "b", Y: "c"}, ALL, IN_TOUCH)  # c came back: it may have held Y meanwhile
    assert {ip for _, ip in run(s, 20.0, 30.0)} == {Y}


def test_isolated_it_announces_once_and_defends_nothing() -> None:
    s = started({X: "b"})
    alone = frozenset({"a"})
    s.update(20.0, {X: "b", Y: None, Z: None}, alone, Standing(isolated=True))
    assert sorted(ip for _, ip in run(s, 20.0, 30.0)) == [Y, Z]  # once each, no repeats
    s.conflict(30.0, Y)
    assert s.due(30.0) == []


def test_a_conflict_is_answered_at_once_then_with_back_off() -> None:
    s = started({X: "b"})
    s.conflict(20.0, X)
    assert s.due(20.0) == [X]
    times = [20.0]
    now = 20.0
    for _ in range(6):  # another node keeps announcing X right after each of our answers
        now = times[-1] + 0.001
        s.conflict(now, X)
        times.append(s.next_deadline())
        assert s.due(times[-1]) == [X]
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    assert gaps == [T.defend_interval * 2**i for i in range(6)]
    later = times[-1] + T.defend_max + 1  # quiet long enough: at once again
    s.conflict(later, X)
    assert s.due(later) == [X]


def test_a_conflict_about_an_ip_it_does_not_own_is_ignored() -> None:
    s = started({X: "b"})
    s.conflict(20.0, Y)
    assert s.due(20.0) == [] and s.next_deadline() == float("inf")


def test_cleared_it_announces_nothing_more() -> None:
    s = started({})
    s.update(20.0, {X: "b"}, ALL, IN_TOUCH)
    s.clear()
    assert run(s, 20.0, 30.0) == []


events = st.lists(
    st.tuples(
        st.floats(0.0, 3.0),
        st.sampled_from(["update", "conflict"]),
        st.sets(st.sampled_from([X, Y, Z])),
        st.sets(st.sampled_from(["b", "c"])),
        st.booleans(),
        st.integers(0, 2),
        st.booleans(),
    ),
    max_size=25,
)


@given(events)
def test_property_only_owned_ips_and_nothing_before_the_deadline(
    evs: list[tuple[float, str, set[IPAddress], set[str], bool, int, bool]],
) -> None:
    s = GratuitousSchedule("a", T)
    now = 0.0
    for wait, kind, owned, peers, isolated, comebacks, touch in evs:
        deadline = s.next_deadline()
        for t in (now + wait * k / 4 for k in range(1, 5)):
            due = s.due(t)
            assert not due or t >= deadline - 1e-9
            assert set(due) <= s.owned
            deadline = s.next_deadline()
        now += wait
        if kind == "update":
            owners = {ip: sorted(peers)[0] if peers else None for ip in owned}
            s.update(now, owners, frozenset({"a", *peers}), Standing(isolated, comebacks, touch))
        else:
            for ip in owned:
                s.conflict(now, ip)
        assert set(s.due(now)) <= s.owned
