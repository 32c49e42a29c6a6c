"""``settle``: the one order in which Services without IPs get free ones (plan and controller)."""

from __future__ import annotations

from typing import Any

from ironlb.allocator import AllocationRequest, Allocator, Assignment, request_from_service
from ironlb.allocator.settle import settle, settle_order, settle_services
from tests.allocator.builders import config, pool, service


def _request(name: str, **kw: Any) -> AllocationRequest:
    request = request_from_service(service(name, **kw))
    assert isinstance(request, AllocationRequest), request
    return request


def test_requested_ips_first_then_by_key_and_held_keys_left_alone() -> None:
    allocator = Allocator(config(pool("main", "10.0.0.0/29")))
    held = _request("a-held", ingress=("10.0.0.0",))
    assert isinstance(allocator.adopt(held), Assignment)
    requests = [
        _request("z-auto"),
        _request("b-auto"),
        _request("y-wants", spec={"loadBalancerIP": "10.0.0.1"}),
        held,
    ]
    order = [r.key for r in settle_order(requests)]
    assert order == ["default/y-wants", "default/a-held", "default/b-auto", "default/z-auto"]
    outcome = settle(allocator, requests)
    ips = {key: [str(ip) for ip in o.ips] for key, o in outcome.items() if isinstance(o, Assignment)}
    # y-wants gets the IP it asks for although b-auto comes first by key; a-held is not touched.
    assert ips == {
        "default/y-wants": ["10.0.0.1"],
        "default/b-auto": ["10.0.0.2"],
        "default/z-auto": ["10.0.0.3"],
    }


def test_a_settled_assignment_keeps_its_reason_until_the_service_shows_it() -> None:
    """The controller settles first and writes later: the reason the IP changed reaches its Event."""
    allocator = Allocator(config(pool("main", "10.0.0.0/30")))
    moved = service("moved", ingress=("10.9.9.9",))  # outside every pool: cannot be kept
    settle_services(allocator, [moved], None)
    settled = allocator.assignment("default/moved")
    assert settled is not None and settled.reason is not None and "not in any pool" in settled.reason
    again = allocator.assign(_request("moved", ingress=("10.9.9.9",)))
    assert isinstance(again, Assignment) and again.reason == settled.reason
    written = allocator.assign(_request("moved", ingress=tuple(str(ip) for ip in settled.ips)))
    assert isinstance(written, Assignment) and written.reason is None
