"""Settling: give every Service the allocator does not hold yet its IPs, in the one order all use.

Why one function: ``ironlb plan`` (``batch.allocate_all``), the controller when a config
changes or a term of leadership starts (``controller.runtime``, ``controller.session``) and
the manifest-directory controller (``controller.standalone``) must hand out free IPs in the
same order, or a plan would name other new IPs than the controller then writes. The
controller used to leave that order to its work queue, whose workers race for the
allocator: two Services that lost their IPs to a shrunk pool could get either free address.
Settling decides every pending Service at once, under the allocator's one owner, so the
result is a function of the config and the Services alone.

Order: everything already held (adopted, or kept through a config change) stays; then the
Services that request specific IPs (so that an auto-assigned one never takes an IP someone
asked for), then the others, each group by key (``namespace/name``).

Pure: it mutates only the allocator it is given.
"""

from __future__ import annotations

from collections.abc import Iterable

from ironlb import services as svc
from ironlb.allocator.core import Allocator
from ironlb.allocator.translate import NamespaceLabels, request_from_service
from ironlb.allocator.types import AllocationRequest, Assignment, Refusal
from ironlb.kube_types import Service


def settle_rank(requests_ips: bool, key: str) -> tuple[bool, str]:
    """Where a request comes in the order free IPs are handed out: requested IPs first, then by key."""
    return (not requests_ips, key)


def settle_order(requests: Iterable[AllocationRequest]) -> list[AllocationRequest]:
    """``requests`` in the order free IPs are handed out (``settle_rank``)."""
    return sorted(requests, key=lambda r: settle_rank(bool(r.requested_ips), r.key))


def settle(allocator: Allocator, requests: Iterable[AllocationRequest]) -> dict[str, Assignment | Refusal]:
    """``Allocator.assign`` every request whose key holds nothing yet, in ``settle_order``.

    Returns the outcome per key that was pending (held keys are left alone and left out).
    """
    pending = [r for r in requests if allocator.assignment(r.key) is None]
    return {r.key: allocator.assign(r) for r in settle_order(pending)}


def settle_services(
    allocator: Allocator,
    services: Iterable[Service],
    lb_class: str | None,
    namespaces: NamespaceLabels | None = None,
) -> dict[str, Assignment | Refusal]:
    """``settle`` the Services of ours (``ironlb.services.is_managed``); one whose request cannot be
    built is left out (its reconcile reports it)."""
    requests = []
    for service in services:
        if not svc.is_managed(service, lb_class):
            continue
        request = request_from_service(service, namespaces)
        if isinstance(request, AllocationRequest):
            requests.append(request)
    return settle(allocator, requests)
