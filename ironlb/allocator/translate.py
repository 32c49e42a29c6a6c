"""Translate a raw Service into an ``AllocationRequest``: the only place the allocator meets Kubernetes.

Kept beside the allocator, not inside it (MetalLB's habit), so the allocator's
rules can be tested and benchmarked with plain requests, and so the controller
and ``ironlb plan`` build requests the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ironlb import services as svc
from ironlb.allocator.types import AllocationRequest, Labels, Refusal
from ironlb.kube_types import NAMESPACE_NAME_LABEL, Namespace, Service

NamespaceLabels = Mapping[str, Mapping[str, str]]
"""Labels per namespace name, as :func:`namespace_labels` reads them from Namespace objects."""


def namespace_labels(namespaces: Iterable[Namespace]) -> dict[str, dict[str, str]]:
    """Each Namespace's labels by name, with ``kubernetes.io/metadata.name`` set as the API server sets it
    (a manifest may leave it out)."""
    out: dict[str, dict[str, str]] = {}
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            continue
        labels = meta.get("labels") or {}
        clean = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
        out[name] = {**clean, NAMESPACE_NAME_LABEL: name}
    return out


def _labels_of(namespace: str, known: NamespaceLabels | None) -> Labels:
    """A namespace's labels: those known, else only its name label (a namespace not read yet)."""
    labels = (known or {}).get(namespace)
    if labels is None:
        return ((NAMESPACE_NAME_LABEL, namespace),)
    return tuple(sorted(labels.items()))


def request_from_service(
    service: Service, namespaces: NamespaceLabels | None = None
) -> AllocationRequest | Refusal:
    """The allocation request for ``service``, or a ``Refusal`` (code ``invalid-request``)
    when a field the allocator needs is malformed (bad IP text, two IPs of one family,
    unknown ipFamilyPolicy...).

    Does not apply the type/class filter: callers check ``ironlb.services.is_managed`` first.
    ``current_ips`` come from ``status.loadBalancer.ingress``; ``namespaces`` gives the labels of the
    Service's namespace (see :func:`namespace_labels`) for the pools' service allocation.
    """
    try:
        requested = svc.requested_ips(service)
        families = svc.ip_families(service)
        policy = svc.ip_family_policy(service)
    except svc.ServiceSpecError as exc:
        return Refusal(str(exc), "invalid-request")
    namespace = svc.namespace_and_name(service)[0] or "default"
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
        namespace=namespace,
        namespace_labels=_labels_of(namespace, namespaces),
        service_labels=svc.labels(service),
    )
