"""``controller.session.adopt``: what a new term of leadership keeps, and the order of work."""

from __future__ import annotations

from controller.session import adopt
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
