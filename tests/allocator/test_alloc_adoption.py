"""Adoption, the one way existing IPs are kept: by the controller's new term, its manifest mode and plan."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.session import adopt
from ironlb.allocator import Allocator, allocate_all
from ironlb.allocator.adoption import adopt_requests, adopt_services
from tests.allocator.builders import config, pool, req, service

CFG = config(pool("main", "10.0.0.0/29"))


def test_keeps_what_fits_refuses_the_rest_and_allocates_nothing() -> None:
    allocator = Allocator(CFG)
    services = [
        service("web", ingress=("10.0.0.3",)),
        service("web-twin", ingress=("10.0.0.3",)),  # the same IP, a later key: refused
        service("outside", ingress=("192.0.2.1",)),
        service("bad", spec={"ipFamilyPolicy": "Sometimes"}, ingress=("10.0.0.4",)),  # cannot be translated
        service("pending"),  # nothing to adopt
        service("theirs", spec={"loadBalancerClass": "other"}, ingress=("10.0.0.5",)),  # not ours
    ]
    adopted = adopt_services(allocator, services, None)
    assert {k: [str(i) for i in a.ips] for k, a in adopted.kept.items()} == {"default/web": ["10.0.0.3"]}
    assert set(adopted.refused) == {"default/web-twin", "default/outside", "default/bad"}
    assert "in use by default/web" in adopted.refused["default/web-twin"].reason
    assert allocator.in_use("main") == 1


def test_key_order_decides_who_keeps_a_shared_ip() -> None:
    # "a-b/x" sorts before "a/x" as a key ('-' < '/'), after it as (namespace, name): the key decides.
    first = req("a-b/x", current=("10.0.0.1",))
    second = req("a/x", current=("10.0.0.1",))
    for order in ([first, second], [second, first]):
        adopted = adopt_requests(Allocator(CFG), order)
        assert list(adopted.kept) == ["a-b/x"] and list(adopted.refused) == ["a/x"]


statuses = st.lists(
    st.tuples(st.sampled_from(["a", "a-b", "b"]), st.sampled_from(["x", "y", "x-1"]), st.integers(0, 9)),
    max_size=12,
    unique_by=lambda t: (t[0], t[1]),
)


@settings(max_examples=200, deadline=None)
@given(statuses)
def test_plan_keeps_what_a_new_controller_term_keeps(shown: list[tuple[str, str, int]]) -> None:
    """Whatever the statuses show (conflicts, IPs outside the pool), plan and a new controller term
    keep the same IPs, and hand the same new ones (settled in plan order) to the Services they refuse."""
    services = [service(name, ns, ingress=(f"10.0.0.{last}",)) for ns, name, last in shown]
    kept = adopt(CFG, services, None).allocator
    planned = {r.key: r for r in allocate_all(CFG, services)}
    for ns, name, last in shown:
        key = f"{ns}/{name}"
        assignment = kept.assignment(key)
        shown_ip = f"10.0.0.{last}"
        if assignment is not None and shown_ip in [str(ip) for ip in assignment.ips]:
            assert planned[key].ips == assignment.ips and planned[key].note is None, key
        else:  # not kept by the controller: plan does not keep it either, and settles it the same way
            assert shown_ip not in [str(ip) for ip in planned[key].ips], key
            assert planned[key].ips == (assignment.ips if assignment is not None else ()), key
