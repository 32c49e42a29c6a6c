"""Starting a term of leadership: adopt every assignment that exists, then decide the order of work.

Pure: given the config and the Services as a fresh read shows them, a new ``Allocator``
adopts every IP already written (sorted by key, so two replicas adopt identically), then
decides every Service without IPs in one fixed order (``ironlb.allocator.settle``, as
``ironlb plan`` does), and the keys come back in the order to reconcile them: Services
without an IP first (their users are waiting, and everything existing is adopted already,
so no IP changes), then the rest, which are mostly no-ops. Where the Services come from
(the informer cache when it was listed after leadership began, else a LIST) is the
runtime's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ironlb import services as svc
from ironlb.allocator import Allocator, Refusal, request_from_service
from ironlb.allocator.settle import settle_services
from ironlb.config import Config
from ironlb.kube_types import Service


@dataclass(frozen=True)
class Adoption:
    allocator: Allocator
    adopted: int
    refused: int  # assignments that could not be adopted (conflicting, outside every pool...)
    order: list[str]  # every key to reconcile, in order


def adopt(
    config: Config, services: Sequence[Service], lb_class: str | None, more_keys: Iterable[str] = ()
) -> Adoption:
    """Adopt the IPs ``services`` show; ``more_keys`` (e.g. from a cache) are reconciled too."""
    allocator = Allocator(config)
    adopted = refused = 0
    managed = sorted(
        (s for s in services if svc.is_managed(s, lb_class) and svc.ingress_ips(s)), key=svc.service_key
    )
    for service in managed:
        request = request_from_service(service)
        if isinstance(request, Refusal):
            continue
        if isinstance(allocator.adopt(request), Refusal):
            refused += 1
        else:
            adopted += 1
    settle_services(allocator, services, lb_class)  # then every pending one, in the order plan uses
    keys = {svc.service_key(s) for s in services} | set(more_keys)
    has_ip = {svc.service_key(s) for s in services if svc.ingress_ips(s)}
    return Adoption(allocator, adopted, refused, sorted(keys, key=lambda k: (k in has_ip, k)))
