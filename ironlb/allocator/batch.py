"""Allocate for a whole set of Services at once.

This is what ``ironlb plan`` shows and what a freshly started controller converges to.

Pure function over (config, Services). Deterministic: Services are handled in
``namespace/name`` order within three phases, so the same input always gives
the same answer:

1. adoption -- IPs already in ``status.loadBalancer.ingress`` are kept when still valid
   (``adoption.adopt_requests``, as the controller adopts);
2. Services that request specific IPs;
3. everything else (pending), from the pools.

Phases 2 and 3 are ``settle.settle``, which the controller runs too when a config changes
or a term of leadership starts: the plan names the IPs the controller then writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ironlb import services as svc
from ironlb.allocator.adoption import adopt_requests
from ironlb.allocator.core import Allocator
from ironlb.allocator.settle import settle
from ironlb.allocator.translate import namespace_labels, request_from_service
from ironlb.allocator.types import AllocationRequest, Assignment, Refusal
from ironlb.config.model import Config, IPAddress
from ironlb.kube_types import Namespace, Service


@dataclass(frozen=True)
class ServiceResult:
    """The allocation outcome for one managed Service."""

    namespace: str
    name: str
    ips: tuple[IPAddress, ...]
    pool: str | None
    sharing_key: str | None
    error: str | None
    """The refusal's reason; ``None`` when assigned."""
    note: str | None = None
    """When assigned but different from the Service's current IPs: why they changed."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def allocate_all(
    config: Config,
    services: Iterable[Service],
    lb_class: str | None = None,
    *,
    namespaces: Iterable[Namespace] = (),
) -> list[ServiceResult]:
    """One ``ServiceResult`` per Service that is ``type: LoadBalancer`` and of our class,
    sorted by namespace/name. Other Services are left out. ``namespaces`` (Namespace objects)
    give the labels pools with namespace selectors look at.
    """
    managed = sorted((s for s in services if svc.is_managed(s, lb_class)), key=svc.namespace_and_name)
    allocator = Allocator(config)
    labels = namespace_labels(namespaces)
    outcomes: dict[str, Assignment | Refusal] = {}
    requests: dict[str, AllocationRequest] = {}
    for service in managed:
        key = svc.service_key(service)
        translated = request_from_service(service, labels)
        if isinstance(translated, Refusal):
            outcomes[key] = translated
        else:
            requests[key] = translated

    outcomes.update(adopt_requests(allocator, requests.values()).kept)
    outcomes.update(settle(allocator, (r for key, r in requests.items() if key not in outcomes)))

    results: list[ServiceResult] = []
    for service in managed:
        namespace, name = svc.namespace_and_name(service)
        outcome = outcomes[svc.service_key(service)]
        if isinstance(outcome, Assignment):
            results.append(
                ServiceResult(
                    namespace=namespace,
                    name=name,
                    ips=outcome.ips,
                    pool=outcome.pool,
                    sharing_key=svc.sharing_key(service),
                    error=None,
                    note=outcome.reason,
                )
            )
        else:
            results.append(
                ServiceResult(
                    namespace=namespace,
                    name=name,
                    ips=(),
                    pool=None,
                    sharing_key=svc.sharing_key(service),
                    error=outcome.reason,
                )
            )
    return results
