"""``allocate_all``: the whole-cluster decision behind ``ironlb plan``: filters, phases, determinism."""

from __future__ import annotations

import random

from ironlb.allocator import ServiceResult, allocate_all
from tests.allocator.builders import config, pool, service

CFG = config(pool("default", "10.0.0.0/30"))


def summary(results: list[ServiceResult]) -> list[tuple[str, list[str], str | None]]:
    return [(r.key, [str(i) for i in r.ips], r.error) for r in results]


def test_only_managed_services_sorted_by_key() -> None:
    services = [
        service("b"),
        service("a", "zzz"),
        service("c", type_="ClusterIP"),
        service("d", spec={"loadBalancerClass": "other"}),
        service("a"),
    ]
    assert [r.key for r in allocate_all(CFG, services)] == ["default/a", "default/b", "zzz/a"]
    assert [r.key for r in allocate_all(CFG, services, lb_class="other")] == ["default/d"]


def test_adoption_comes_before_any_new_allocation() -> None:
    # "a" sorts first and is pending; "z" already has 10.0.0.0 in its status and keeps it.
    results = allocate_all(CFG, [service("a"), service("z", ingress=("10.0.0.0",))])
    assert summary(results) == [("default/a", ["10.0.0.1"], None), ("default/z", ["10.0.0.0"], None)]


def test_requested_ips_come_before_pending() -> None:
    services = [service("a"), service("b", spec={"loadBalancerIP": "10.0.0.0"})]
    assert summary(allocate_all(CFG, services)) == [
        ("default/a", ["10.0.0.1"], None),
        ("default/b", ["10.0.0.0"], None),
    ]


def test_adoption_beats_a_request_for_the_same_ip() -> None:
    services = [service("a", spec={"loadBalancerIP": "10.0.0.0"}), service("b", ingress=("10.0.0.0",))]
    a, b = allocate_all(CFG, services)
    assert a.error == "IP 10.0.0.0 is already in use by default/b, which does not share it " + (
        "(neither sets allow-shared-ip)"
    )
    assert [str(i) for i in b.ips] == ["10.0.0.0"]


def test_conflicting_statuses_first_key_keeps_the_other_moves_with_a_note() -> None:
    services = [service("b", ingress=("10.0.0.0",)), service("a", ingress=("10.0.0.0",))]
    a, b = allocate_all(CFG, services)
    assert [str(i) for i in a.ips] == ["10.0.0.0"] and a.note is None
    assert [str(i) for i in b.ips] == ["10.0.0.1"]
    assert b.note is not None and "in use by default/a" in b.note


def test_errors_and_results_carry_pool_and_sharing_key() -> None:
    services = [
        service("bad", spec={"loadBalancerIP": "x"}),
        service("web", annotations={"ironlb.io/allow-shared-ip": "k"}),
        service("gone", annotations={"ironlb.io/address-pool": "nope", "ironlb.io/allow-shared-ip": "j"}),
    ]
    bad, gone, web = allocate_all(CFG, services)
    assert bad.error is not None and "spec.loadBalancerIP" in bad.error and bad.pool is None
    assert gone.error == 'address pool "nope" does not exist' and gone.sharing_key == "j" and gone.ips == ()
    assert web.error is None and web.pool == "default" and web.sharing_key == "k"


def test_input_order_does_not_matter() -> None:
    services = [service(f"s{i}", ingress=(f"10.0.0.{i % 5}",) if i % 3 == 0 else ()) for i in range(8)]
    expected = allocate_all(CFG, services)
    for seed in range(5):
        shuffled = list(services)
        random.Random(seed).shuffle(shuffled)
        assert allocate_all(CFG, shuffled) == expected
