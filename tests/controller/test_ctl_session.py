"""``controller.session.adopt``: what a new term of leadership keeps, and the order of work."""

from __future__ import annotations

import random
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.session import Adoption, WriteOverlay, adopt
from ironlb.allocator import Allocator
from ironlb.allocator.adoption import adopt_services
from ironlb.allocator.settle import settle_services
from ironlb.allocator.translate import request_from_service
from ironlb.kube_types import Service
from tests.allocator.builders import config, pool, service


def test_existing_ips_are_adopted_then_the_others_settled_and_those_without_one_come_first() -> None:
    cfg = config(pool("main", "10.0.0.0/29"))
    services = [
        service("b-has", ingress=("10.0.0.3",)),
        service("a-has", ingress=("10.0.0.1",)),
        service("z-new"),
        service("c-new"),
        service("clash", ingress=("10.0.0.1",)),  # the same IP as a-has: not adoptable
        service("outside", ingress=("192.0.2.1",)),  # in no pool: not adoptable
        service("other-type", type_="ClusterIP"),
    ]
    adoption = adopt(cfg, services, None, more_keys=["default/only-in-cache"])
    assert adoption.adopted == 2 and adoption.refused == 2
    held = {key: [str(ip) for ip in a.ips] for key, a in adoption.allocator.assignments().items()}
    # Adopted first; then every Service without IPs (or with IPs it cannot keep) is settled in key
    # order, as ironlb plan does: first free IPs, no race between the workers that write them.
    assert held == {
        "default/a-has": ["10.0.0.1"],
        "default/b-has": ["10.0.0.3"],
        "default/c-new": ["10.0.0.0"],
        "default/clash": ["10.0.0.2"],
        "default/outside": ["10.0.0.4"],
        "default/z-new": ["10.0.0.5"],
    }
    clash = adoption.allocator.assignment("default/clash")
    assert (
        clash is not None and clash.reason is not None and "already in use by default/a-has" in clash.reason
    )
    assert adoption.order == [
        "default/c-new",
        "default/only-in-cache",
        "default/other-type",
        "default/z-new",
        "default/a-has",
        "default/b-has",
        "default/clash",
        "default/outside",
    ]


def test_another_class_is_reconciled_but_not_adopted() -> None:
    cfg = config(pool("main", "10.0.0.0/29"))
    theirs = service("theirs", spec={"loadBalancerClass": "other"}, ingress=("10.0.0.1",))
    adoption = adopt(cfg, [theirs], None)
    assert adoption.adopted == 0 and adoption.order == ["default/theirs"]
    assert adoption.allocator.assignment("default/theirs") is None


def assignments(adoption: Adoption) -> dict[str, list[str]]:
    return {key: [str(ip) for ip in a.ips] for key, a in adoption.allocator.assignments().items()}


backlogs = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]),
        st.sampled_from([None, 1, 3, 6, 9]),  # the IP its status shows (10.0.0.x), or none
        st.sampled_from([None, 2, 3, "x"]),  # the IP it asks for (spec.loadBalancerIP; x: malformed), or none
    ),
    max_size=8,
    unique_by=lambda t: t[0],
)


@settings(max_examples=200, deadline=None)
@given(backlogs, st.randoms(use_true_random=False))
def test_a_lazy_plan_decides_what_an_eager_settle_decides_whatever_order_the_workers_take(
    shown: list[tuple[str, int | None, int | str | None]], rnd: random.Random
) -> None:
    """Workers reach the keys in any order (and Services outside the plan come in between):
    each reconcile first settles the plan up to its key, and the result is an eager settle's,
    which is what ``ironlb plan``'s settle decides (``ironlb.allocator.settle``)."""
    cfg = config(pool("main", "10.0.0.0/29"))  # 8 IPs: some backlogs exhaust it
    services = [
        service(
            name,
            ingress=(f"10.0.0.{shows}",) if shows is not None else (),
            spec={"loadBalancerIP": f"10.0.0.{asks}"} if asks is not None else {},
        )
        for name, shows, asks in shown
    ]
    eager = adopt(cfg, services, None)
    lazy = adopt(cfg, services, None, lazy=True)
    assert eager.plan.done and eager.order == lazy.order
    reference = Allocator(cfg)
    adopt_services(reference, services, None, request_from_service)
    settle_services(reference, services, None)
    assert assignments(eager) == {k: [str(ip) for ip in a.ips] for k, a in reference.assignments().items()}
    by_key = {f"default/{s['metadata']['name']}": s for s in services}
    keys = [*lazy.order, "default/not-in-the-plan"]
    rnd.shuffle(keys)
    for key in keys:
        lazy.plan.before(key, by_key.get(key))
        if key in assignments(eager):  # its turn has come: decided as the eager settle decided it
            assert assignments(lazy).get(key) == assignments(eager)[key], key
        if key == "default/not-in-the-plan":
            assert lazy.plan.done
    lazy.plan.finish()
    assert assignments(lazy) == assignments(eager)


def test_a_lazy_plan_decides_nothing_past_the_key_a_worker_reached() -> None:
    cfg = config(pool("main", "10.0.0.0/29"))
    services = [service("a-has", ingress=("10.0.0.0",)), service("b"), service("c"), service("d")]
    adoption = adopt(cfg, services, None, lazy=True)
    assert assignments(adoption) == {"default/a-has": ["10.0.0.0"]} and adoption.plan.pending() == 3
    adoption.plan.before("default/c", services[2])  # b comes first in plan order: decided too, d not yet
    assert assignments(adoption) == {
        "default/a-has": ["10.0.0.0"],
        "default/b": ["10.0.0.1"],
        "default/c": ["10.0.0.2"],
    }
    adoption.plan.before("default/b", services[1])  # already decided: anything else finishes the plan first
    assert adoption.plan.done and assignments(adoption)["default/d"] == ["10.0.0.3"]


def test_a_planned_service_deleted_or_changed_since_finishes_the_plan_before_its_reconcile() -> None:
    """Its reconcile may free or take IPs: that must come after the whole plan, as after an eager
    settle, not before the Services planned after it."""
    cfg = config(pool("main", "10.0.0.0/29"))
    services = [with_rv(service(name), "7") for name in ("b", "c", "d")]
    for seen in (None, with_rv(services[1], "8")):  # deleted; changed since it was planned
        adoption = adopt(cfg, services, None, lazy=True)
        adoption.plan.before("default/c", seen)
        assert adoption.plan.done and assignments(adoption)["default/d"] == ["10.0.0.2"]
    adoption = adopt(cfg, services, None, lazy=True)
    adoption.plan.before("default/c", services[1])  # the very Service planned: d waits its turn
    assert not adoption.plan.done and "default/d" not in assignments(adoption)


def with_rv(obj: Service, rv: str) -> Service:
    return cast(Service, {**obj, "metadata": {**obj["metadata"], "resourceVersion": rv}})


def test_the_informers_report_of_our_own_write_is_caught_up_once_and_nothing_else_is() -> None:
    overlay = WriteOverlay()
    before, written = with_rv(service("a"), "1"), with_rv(service("a", ingress=("10.0.0.1",)), "2")
    assert not overlay.caught_up("default/a", written)  # nothing written yet
    overlay.record("default/a", written, {"1"})
    assert not overlay.caught_up("default/a", before)  # the cache still lags: decide on the write
    assert overlay.current("default/a", before) is written
    assert not overlay.caught_up("default/a", with_rv(written, "3"))  # someone changed it since
    assert not overlay.caught_up("default/a", None)  # deleted
    assert not overlay.caught_up("default/b", written)
    assert overlay.caught_up("default/a", with_rv(written, "2"))  # exactly our write: nothing to decide
    assert not overlay.caught_up("default/a", with_rv(written, "2"))  # and the entry is gone
    assert overlay.current("default/a", before) is before
