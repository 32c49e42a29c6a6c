"""Translate a raw Service into an ``AllocationRequest``: the only place the allocator meets Kubernetes.

Kept beside the allocator, not inside it (MetalLB's habit), so the allocator's
rules can be tested and benchmarked with plain requests, and so the controller
and ``ironlb plan`` build requests the same way.
"""

from __future__ import annotations

from ironlb import services as svc
from ironlb.allocator.types import AllocationRequest, Refusal
from ironlb.kube_types import Service


def request_from_service(service: Service) -> AllocationRequest | Refusal:
    """The allocation request for ``service``, or a ``Refusal`` (code ``invalid-request``)
    when a field the allocator needs is malformed (bad IP text, two IPs of one family,
    unknown ipFamilyPolicy...).

    Does not apply the type/class filter: callers check ``ironlb.services.is_managed`` first.
    ``current_ips`` come from ``status.loadBalancer.ingress``.
    """
    try:
        requested = svc.requested_ips(service)
        families = svc.ip_families(service)
        policy = svc.ip_family_policy(service)
    except svc.ServiceSpecError as exc:
        return Refusal(str(exc), "invalid-request")
    if not families and requested:
        # ipFamilies is always set by the API server; manifests may omit it. Follow the requested IPs.
        families = tuple(dict.fromkeys(4 if ip.version == 4 else 6 for ip in requested))
    return AllocationRequest(
        key=svc.service_key(service),
        families=families,
        family_policy=policy,
        requested_ips=requested,
        pool=svc.address_pool(service),
        sharing_key=svc.sharing_key(service),
        ports=svc.ports(service),
        backend_key=svc.backend_key(service),
        current_ips=svc.ingress_ips(service),
    )
