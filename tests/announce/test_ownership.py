"""Properties of the layer-2 election: one owner per IP, stable, identical everywhere."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from ironlb.announce.layer2 import layer2_decisions, layer2_owned, owner
from tests.support.layer2_helpers import eps, inputs, node, svc

node_names = st.lists(
    st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True), min_size=1, max_size=12, unique=True
)
ips = st.lists(
    st.one_of(
        st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
        st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
    ),
    min_size=1,
    max_size=40,
    unique=True,
)


@given(node_names, ips)
def test_owner_is_a_candidate_and_deterministic(nodes: list[str], addrs: list[ipaddress.IPv4Address]) -> None:
    for ip in addrs:
        o = owner(ip, nodes)
        assert o in nodes
        assert owner(ip, list(reversed(nodes))) == o  # order of discovery does not matter
        assert owner(ip, set(nodes)) == o


def test_no_candidates_no_owner() -> None:
    assert owner(ipaddress.ip_address("192.0.2.1"), []) is None


@given(node_names, ips, st.data())
def test_removing_a_non_owner_moves_nothing(
    nodes: list[str], addrs: list[ipaddress.IPv4Address], data: st.DataObject
) -> None:
    before = {ip: owner(ip, nodes) for ip in addrs}
    gone = data.draw(st.sampled_from(nodes))
    rest = [n for n in nodes if n != gone]
    for ip, o in before.items():
        if o != gone:
            assert owner(ip, rest) == o
        else:
            assert owner(ip, rest) != gone


@given(node_names, ips, st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True))
def test_adding_a_node_moves_only_what_it_wins(
    nodes: list[str], addrs: list[ipaddress.IPv4Address], new: str
) -> None:
    if new in nodes:
        return
    for ip in addrs:
        before, after = owner(ip, nodes), owner(ip, [*nodes, new])
        assert after in (before, new)


def test_ips_spread_over_nodes() -> None:
    nodes = [f"node{i}" for i in range(4)]
    counts = {n: 0 for n in nodes}
    for i in range(400):
        counts[owner(ipaddress.IPv4Address(0xC0000200 + i), nodes) or ""] += 1
    assert all(60 < c < 140 for c in counts.values()), counts


@given(st.lists(st.integers(0, 255), min_size=1, max_size=20, unique=True), st.integers(1, 6))
def test_every_node_agrees_and_each_ip_has_one_owner(last_octets: list[int], n_nodes: int) -> None:
    names = [f"n{i}" for i in range(n_nodes)]
    nodes = [node(n) for n in names]
    services = [svc(f"s{o}", [f"192.0.2.{o}"]) for o in last_octets]
    slices = [eps(f"s{o}", [names[o % n_nodes]]) for o in last_octets]
    views = {n: inputs(n, nodes, services, slices) for n in names}
    owned = {n: set(layer2_owned(v)) for n, v in views.items()}
    all_ips = {ipaddress.ip_address(f"192.0.2.{o}") for o in last_octets}
    for ip in all_ips:
        assert sum(ip in s for s in owned.values()) == 1
    decisions = {n: layer2_decisions(v) for n, v in views.items()}
    assert len({d for d in decisions.values()}) == 1  # identical everywhere


def test_shared_ip_announced_once() -> None:
    nodes = [node("a"), node("b"), node("c")]
    services = [svc("one", ["192.0.2.7"]), svc("two", ["192.0.2.7"])]
    slices = [eps("one", ["a"]), eps("two", ["b"])]
    (d,) = layer2_decisions(inputs("a", nodes, services, slices))
    assert d.services == ("ns/one", "ns/two")
    assert d.owner in {"a", "b", "c"}


def test_bgp_pool_and_unpooled_ips_are_not_layer2() -> None:
    nodes = [node("a")]
    services = [svc("b", ["198.51.100.1"]), svc("x", ["203.0.113.1"]), svc("l", ["192.0.2.1"])]
    slices = [eps(s, ["a"]) for s in ("b", "x", "l")]
    assert [str(d.ip) for d in layer2_decisions(inputs("a", nodes, services, slices))] == ["192.0.2.1"]


def test_dead_speaker_loses_ownership_and_reason_when_nobody() -> None:
    nodes = [node("a"), node("b")]
    services = [svc("s", ["192.0.2.9"])]
    slices = [eps("s", ["a"])]
    both = layer2_decisions(inputs("a", nodes, services, slices, live=["a", "b"]))[0]
    only_a = layer2_decisions(inputs("a", nodes, services, slices, live=["a"]))[0]
    assert only_a.owner == "a"
    assert both.owner in {"a", "b"}
    nobody = layer2_decisions(inputs("a", nodes, services, slices, live=[]))[0]
    assert nobody.owner is None
    assert "speaker on node not live" in nobody.reason
