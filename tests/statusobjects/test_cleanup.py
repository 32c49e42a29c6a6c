"""Which other nodes' status objects a live speaker removes, and which speaker does (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ironlb.statusobjects.cleanup import (
    CleanupPlanner,
    MembershipView,
    NodeSweep,
    TakeoverSweep,
    stale_objects,
    sweeper,
)
from ironlb.statusobjects.kinds import SERVICE_BGP_STATUS, SERVICE_L2_STATUS, StatusKind
from ironlb.statusobjects.service import ServiceOwner, StatusObject

NAMES = st.text(alphabet="abcdefgh0123", min_size=1, max_size=6)
WEB = ServiceOwner("apps", "web", "uid-web")


def view(me: str, live: set[str], dead: set[str] = frozenset(), **kw: bool) -> MembershipView:  # type: ignore[assignment]
    verdicts = {n: "alive" for n in live - {me}} | {n: "dead" for n in dead}
    return MembershipView(me, frozenset(live), verdicts, **kw)


def obj(node: str, *ips: str, kind: StatusKind = SERVICE_L2_STATUS, svc: ServiceOwner = WEB) -> StatusObject:
    return StatusObject(kind, svc.namespace, f"{svc.name}.{node}", node, svc, tuple(ips))


@given(st.sets(NAMES, min_size=1, max_size=8), NAMES)
def test_one_sweeper_whatever_the_order_and_never_the_gone_node(live: set[str], gone: str) -> None:
    chosen = {sweeper(gone, order) for order in (sorted(live), sorted(live, reverse=True))}
    assert len(chosen) == 1
    (who,) = chosen
    assert who != gone
    assert (who is None) == (live <= {gone})
    assert who is None or who in live


@given(st.sets(NAMES, min_size=3, max_size=9), st.data())
def test_a_dead_node_is_swept_by_exactly_one_live_member(members: set[str], data: st.DataObject) -> None:
    order = sorted(members)
    dead = set(data.draw(st.lists(st.sampled_from(order), unique=True, max_size=(len(order) - 1) // 2)))
    live = members - dead
    wanted: dict[str, set[object]] = {}
    for me in live:
        planner = CleanupPlanner(me)
        wanted[me] = planner.wanted(view(me, live, dead), members, {})
    for node in dead:
        assert [me for me, sweeps in wanted.items() if NodeSweep(node) in sweeps] == [sweeper(node, live)]
    assert all(s.node in dead for sweeps in wanted.values() for s in sweeps if isinstance(s, NodeSweep))


@given(st.sets(NAMES, min_size=2, max_size=9), st.data())
def test_the_minority_side_of_a_partition_deletes_nothing(members: set[str], data: st.DataObject) -> None:
    """Each side sees the other dead: at most one side may act on it, never one without a majority."""
    order = sorted(members)
    side = set(data.draw(st.lists(st.sampled_from(order), unique=True, min_size=1)))
    other = members - side
    for live, dead in ((side, other), (other, side)):
        for me in live:
            v = view(me, live, dead)
            sweeps = CleanupPlanner(me).wanted(v, members, {})
            assert v.can_judge() == (2 * len(live) > len(members))
            if 2 * len(live) <= len(members):
                assert sweeps == set()


def test_nodes_never_heard_from_do_not_count_for_the_majority() -> None:
    """Three speakers, two Nodes that run none (never heard): two live of three speakers judge."""
    verdicts = {"b": "alive", "c": "dead", "cp1": "dead", "cp2": "dead"}
    assert not MembershipView("a", frozenset("ab"), verdicts).can_judge()
    v = MembershipView("a", frozenset("ab"), verdicts, heard=frozenset("bc"))
    assert v.can_judge()
    assert not MembershipView("a", frozenset("a"), verdicts, heard=frozenset("bc")).can_judge()
    me = sweeper("c", "ab")
    assert me is not None
    seen = MembershipView(me, frozenset("ab"), verdicts | {"a": "alive"}, heard=frozenset("abc") - {me})
    assert CleanupPlanner(me).wanted(seen, ["a", "b", "c", "cp1", "cp2"], {}) == {NodeSweep("c")}


def test_an_isolated_view_deletes_nothing_on_deaths_nor_on_takeovers() -> None:
    v = view("a", {"a", "b", "c"}, {"d"}, isolated=True)
    assert CleanupPlanner(sweeper("d", {"a", "b", "c"}) or "").wanted(v, "abcd", {}) == set()
    planner = CleanupPlanner("a")
    assert planner.wanted(v, "abcd", {("apps", "web"): frozenset({"192.0.2.1"})}) == set()


def test_a_deleted_node_is_swept_even_without_a_majority_and_forgotten_when_it_returns() -> None:
    me = sweeper("n3", {"n1", "n2"})
    assert me is not None
    planner = CleanupPlanner(me)
    assert planner.wanted(view(me, {"n1", "n2", "n3"}), ["n1", "n2", "n3"], {}) == set()
    other = ({"n1", "n2"} - {me}).pop()
    alone = MembershipView(me, frozenset({me}), {other: "dead"})  # no majority; n3 forgotten with its Node
    assert not alone.can_judge()
    assert planner.wanted(alone, ["n1", "n2"], {}) == {NodeSweep("n3")}
    # Level-triggered: still wanted (the adapter runs it once).
    assert planner.wanted(alone, ["n1", "n2"], {}) == {NodeSweep("n3")}
    assert planner.wanted(view(me, {"n1", "n2", "n3"}), ["n1", "n2", "n3"], {}) == set()


def test_a_node_back_alive_is_no_longer_swept() -> None:
    live = {"n1", "n2", "n3"}
    me = sweeper("n4", live)
    assert me is not None
    planner = CleanupPlanner(me)
    assert planner.wanted(view(me, live, {"n4"}), [*live, "n4"], {}) == {NodeSweep("n4")}
    assert planner.wanted(view(me, live | {"n4"}), [*live, "n4"], {}) == set()


def test_takeover_wants_a_sweep_per_service_answered_on_layer2() -> None:
    planner = CleanupPlanner("n1")
    held = {
        ("apps", "web"): frozenset({"192.0.2.1"}),
        ("apps", "db"): frozenset({"192.0.2.2", "2001:db8::2"}),
    }
    assert planner.wanted(view("n1", {"n1", "n2"}), ["n1", "n2"], held) == {
        TakeoverSweep("apps", "web", frozenset({"192.0.2.1"})),
        TakeoverSweep("apps", "db", frozenset({"192.0.2.2", "2001:db8::2"})),
    }


def test_takeover_deletes_only_not_live_other_nodes_layer2_objects_claiming_only_our_ips() -> None:
    sweep = TakeoverSweep("apps", "web", frozenset({"192.0.2.1", "2001:db8::1"}))
    dead_v4 = obj("n2", "192.0.2.1")
    dead_both = obj("n3", "192.0.2.1", "2001:db8::1")
    live_one = obj("n4", "192.0.2.1")  # live: it removes its own
    other_ip = obj("n5", "192.0.2.9")  # an IP we do not answer for: not ours to judge
    mixed = obj("n6", "192.0.2.1", "192.0.2.9")
    mine = obj("n1", "192.0.2.1")
    bgp = obj("n7", "192.0.2.1", kind=SERVICE_BGP_STATUS)  # BGP has many announcers
    other_svc = obj("n8", "192.0.2.1", svc=ServiceOwner("apps", "db", "uid-db"))
    listed = [dead_v4, dead_both, live_one, other_ip, mixed, mine, bgp, other_svc]
    assert stale_objects(sweep, "n1", listed, {"n4": True, "n2": False}) == [dead_v4, dead_both]


def test_a_node_sweep_takes_that_nodes_objects_by_their_node_field_only() -> None:
    a, b = obj("n2", "192.0.2.1"), obj("n2", "192.0.2.1", kind=SERVICE_BGP_STATUS)
    relabelled = obj("n3", "192.0.2.1")  # listed by the label of n2, but its field names n3
    assert stale_objects(NodeSweep("n2"), "n1", [a, b, relabelled]) == sorted([a, b], key=lambda o: o.key)
    assert stale_objects(NodeSweep("n1"), "n1", [obj("n1", "192.0.2.1")]) == []
