"""Adoption: keep every IP a Service already shows, before anything new is handed out.

Why one function: a new term of the controller's leadership (``controller.session``), the
manifest-directory controller (``controller.standalone``) and ``ironlb plan``
(``batch.allocate_all``) must keep the same IPs the same way, or a restart, a new leader
or a plan would move IPs the running system keeps. Requests are adopted in key
(``namespace/name``) order, so that of two Services showing the same IP the same one keeps
it everywhere, and only through ``Allocator.adopt`` (keep or refuse, never allocate).

Pure: it mutates only the allocator it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ironlb import services as svc
from ironlb.allocator.core import Allocator
from ironlb.allocator.translate import request_from_service
from ironlb.allocator.types import AllocationRequest, Assignment, Refusal
from ironlb.kube_types import Service


@dataclass(frozen=True)
class Adopted:
    kept: Mapping[str, Assignment]
    """Per Service key: the IPs it keeps."""
    refused: Mapping[str, Refusal]
    """Per Service key: why the IPs it shows cannot be kept (in use, outside every pool, malformed...)."""


def adopt_requests(allocator: Allocator, requests: Iterable[AllocationRequest]) -> Adopted:
    """Adopt the ``current_ips`` of every request that has some, in key order."""
    kept: dict[str, Assignment] = {}
    refused: dict[str, Refusal] = {}
    for request in sorted((r for r in requests if r.current_ips), key=lambda r: r.key):
        outcome = allocator.adopt(request)
        if isinstance(outcome, Assignment):
            kept[request.key] = outcome
        else:
            refused[request.key] = outcome
    return Adopted(kept, refused)


def adopt_services(
    allocator: Allocator,
    services: Iterable[Service],
    lb_class: str | None,
    translate: Callable[[Service], AllocationRequest | Refusal] = request_from_service,
) -> Adopted:
    """Adopt the IPs in the status of every Service of ours (``ironlb.services.is_managed``).

    A Service whose request cannot be built (``translate`` refuses it) keeps nothing: refused.
    """
    requests: list[AllocationRequest] = []
    untranslatable: dict[str, Refusal] = {}
    for service in services:
        if not (svc.is_managed(service, lb_class) and svc.ingress_ips(service)):
            continue
        request = translate(service)
        if isinstance(request, Refusal):
            untranslatable[svc.service_key(service)] = request
        else:
            requests.append(request)
    adopted = adopt_requests(allocator, requests)
    return Adopted(adopted.kept, {**untranslatable, **adopted.refused})
