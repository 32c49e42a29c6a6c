"""Table tests for which nodes may announce a Service (shared with BGP)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ironlb.announce import eligibility as el
from ironlb.announce.eligibility import EligibleNodes, eligible_nodes
from ironlb.announce.inputs import EXCLUDE_LABEL, endpoints_by_service
from ironlb.announce.layer2 import layer2_decisions
from tests.support.layer2_helpers import eps, inputs, node, svc

NODES = [node("a"), node("b"), node("c", labels={EXCLUDE_LABEL: ""}), node("d", network_unavailable=True)]

CASES: list[tuple[str, str, list[dict[str, Any]], dict[str, str | None]]] = [
    (
        "Cluster with an endpoint anywhere: every usable node",
        "Cluster",
        [eps("s", ["b"])],
        {"a": None, "b": None, "c": el.REASON_EXCLUDED, "d": el.REASON_NETWORK_UNAVAILABLE},
    ),
    (
        "Cluster without ready endpoints: nobody",
        "Cluster",
        [eps("s", ["a"], ready=False)],
        {"a": el.REASON_NO_ENDPOINT, "b": el.REASON_NO_ENDPOINT},
    ),
    (
        "Cluster without slices: nobody",
        "Cluster",
        [],
        {"a": el.REASON_NO_ENDPOINT, "b": el.REASON_NO_ENDPOINT},
    ),
    (
        "Local: only nodes with a ready endpoint",
        "Local",
        [eps("s", ["b"]), eps("s", ["a"], ready=False, name="s-y")],
        {"a": el.REASON_NO_LOCAL_ENDPOINT, "b": None},
    ),
    (
        "Local: unknown readiness counts as ready",
        "Local",
        [eps("s", ["a"], ready=None)],
        {"a": None, "b": el.REASON_NO_LOCAL_ENDPOINT},
    ),
    (
        "Local: an endpoint on an excluded node does not make it eligible",
        "Local",
        [eps("s", ["c"])],
        {"a": el.REASON_NO_LOCAL_ENDPOINT, "b": el.REASON_NO_LOCAL_ENDPOINT, "c": el.REASON_EXCLUDED},
    ),
]


@pytest.mark.parametrize(("title", "etp", "slices", "expected"), CASES, ids=[c[0] for c in CASES])
def test_eligibility(
    title: str, etp: str, slices: list[dict[str, Any]], expected: dict[str, str | None]
) -> None:
    view = inputs("a", NODES, [svc("s", ["192.0.2.1"], etp=etp)], slices)
    ok, refused = eligible_nodes(view, view.services[0], require_live=True)
    reasons = {r.node: r.reason for r in refused}
    for n, want in expected.items():
        if want is None:
            assert n in ok, title
        else:
            assert reasons.get(n) == want, title


SLICE = st.tuples(st.lists(st.sampled_from("abcd"), max_size=3), st.sampled_from((True, False, None)))


@given(
    st.lists(st.tuples(st.sampled_from(("Cluster", "Local")), st.lists(SLICE, max_size=2)), max_size=6),
    st.booleans(),
)
def test_the_answer_shared_between_services_is_each_ones_own(
    specs: list[tuple[str, list[tuple[list[str], bool | None]]]], require_live: bool
) -> None:
    """``EligibleNodes`` (one answer per kind of endpoints) says what ``eligible_nodes`` says, per Service."""
    services = [svc(f"s{i}", ["192.0.2.1"], etp=etp) for i, (etp, _) in enumerate(specs)]
    slices = [
        eps(f"s{i}", on, ready=ready, name=f"s{i}-{j}")
        for i, (_, parts) in enumerate(specs)
        for j, (on, ready) in enumerate(parts)
    ]
    view = inputs("a", NODES, services, slices, live=["a", "c"])
    shared = EligibleNodes(view, require_live=require_live)
    for service in view.services:
        assert shared(service) == eligible_nodes(view, service, require_live=require_live)


def test_not_live_is_a_refusal_only_when_required() -> None:
    view = inputs("a", NODES[:2], [svc("s", ["192.0.2.1"])], [eps("s", ["a"])], live=["a"])
    ok_l2, refused = eligible_nodes(view, view.services[0], require_live=True)
    ok_bgp, _ = eligible_nodes(view, view.services[0], require_live=False)
    assert ok_l2 == {"a"} and refused[0].reason == el.REASON_NOT_LIVE
    assert ok_bgp == {"a", "b"}


def test_local_endpoint_moves_announcement() -> None:
    nodes = NODES[:2]
    services = [svc("s", ["192.0.2.1"], etp="Local")]
    on_a = layer2_decisions(inputs("a", nodes, services, [eps("s", ["a"])]))[0]
    on_b = layer2_decisions(inputs("a", nodes, services, [eps("s", ["b"])]))[0]
    gone = layer2_decisions(inputs("a", nodes, services, []))[0]
    assert (on_a.owner, on_b.owner, gone.owner) == ("a", "b", None)
    assert el.REASON_NO_LOCAL_ENDPOINT in gone.reason


def test_other_class_is_not_announced() -> None:
    view = inputs("a", NODES[:1], [svc("s", ["192.0.2.1"], lb_class="other.io/lb")], [eps("s", ["a"])])
    assert layer2_decisions(view) == ()


def test_endpoints_summed_over_slices_and_without_node_name() -> None:
    slices: list[Any] = [eps("s", ["a", "a"]), eps("s", ["b"], name="s-2")]
    slices.append(
        {
            "metadata": {"name": "s-3", "namespace": "ns", "labels": {"kubernetes.io/service-name": "s"}},
            "endpoints": [{"addresses": ["10.0.0.9"]}],
        }
    )
    slices.append({"metadata": {"name": "stray", "namespace": "ns"}, "endpoints": [{"nodeName": "a"}]})
    got = endpoints_by_service(slices)
    assert got["ns/s"].ready_by_node == {"a": 2, "b": 1}
    assert got["ns/s"].ready_total == 4
    assert set(got) == {"ns/s"}
