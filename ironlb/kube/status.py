"""Writing a Service's load-balancer status and ironlb's annotations, in one request.

The decisions are pure: ``ingress_needs_patch`` compares what is written with what
should be, counting a missing ``ipMode`` as the ``VIP`` the API server fills in
(otherwise the controller would re-patch forever), ignoring order; ``status_patch``
builds one merge patch. ``ServiceWriter`` sends it to ``/status``, guarded by the
resourceVersion the decision was made on (a stale view gets 409 and is retried after
the informer catches up, never overwriting a newer write), under the client's field
manager (``Rest`` adds it to every write).

One request, not two: the API server's status strategy for Services resets only
``spec`` on a ``/status`` write; metadata (labels, annotations) is kept, as on the main
resource. So the ``ironlb.io/ip-allocated-from-pool`` annotation rides in the status
write: one API write per allocation, one resourceVersion check, and the IP and its
pool land together (a stop between two writes can no longer leave one without the
other). MetalLB's controller writes its pool annotation the same way (its only writes
to a Service are ``update services/status``), and the controller needs no
``patch services`` permission.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

from kubernetes import client

from ironlb.kube.client import WRITE_TIMEOUT
from ironlb.kube.errors import api_errors
from ironlb.kube.rest import MERGE_PATCH, Rest
from ironlb.kube_types import LoadBalancerIngress, Service

log = logging.getLogger(__name__)

DEFAULT_IP_MODE = "VIP"


def desired_ingress(ips: Sequence[str]) -> list[LoadBalancerIngress]:
    return [{"ip": ip, "ipMode": DEFAULT_IP_MODE} for ip in ips]


def _normalized(entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    out = []
    for e in entries:
        ip = str(e.get("ip") or "")
        mode = str(e.get("ipMode") or (DEFAULT_IP_MODE if ip else ""))
        out.append((ip, str(e.get("hostname") or ""), mode))
    return sorted(out)


def current_ingress(service: Service) -> list[LoadBalancerIngress]:
    return list(((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])


def current_ips(service: Service) -> list[str]:
    return [e["ip"] for e in current_ingress(service) if e.get("ip")]


def ingress_needs_patch(service: Service, ips: Sequence[str]) -> bool:
    """True when ``status.loadBalancer.ingress`` differs from exactly ``ips`` (as ``VIP``)."""
    current = cast(Sequence[Mapping[str, Any]], current_ingress(service))
    desired = cast(Sequence[Mapping[str, Any]], desired_ingress(ips))
    return _normalized(current) != _normalized(desired)


def _rv(service: Service) -> str | None:
    return (service.get("metadata") or {}).get("resourceVersion")


def ingress_patch(service: Service, ips: Sequence[str]) -> dict[str, Any]:
    """Merge patch for ``/status`` that sets (or, for no ips, removes) the ingress list."""
    ingress: list[LoadBalancerIngress] | None = desired_ingress(ips) or None
    patch: dict[str, Any] = {"status": {"loadBalancer": {"ingress": ingress}}}
    if _rv(service):
        patch["metadata"] = {"resourceVersion": _rv(service)}
    return patch


def annotations_changes(service: Service, desired: Mapping[str, str | None]) -> dict[str, str | None]:
    """The annotations that differ from ``desired`` (value: set, None: remove)."""
    current = (service.get("metadata") or {}).get("annotations") or {}
    return {k: v for k, v in desired.items() if current.get(k) != v}


def status_patch(
    service: Service, ips: Sequence[str] | None, annotations: Mapping[str, str | None]
) -> dict[str, Any] | None:
    """The one merge patch for ``/status`` that makes ``service`` show ``ips`` as its ingress
    (``None``: leave the ingress alone; empty: clear it) and ``annotations``; None when
    nothing differs."""
    changes = annotations_changes(service, annotations)
    ingress = ips is not None and ingress_needs_patch(service, ips)
    if not changes and not ingress:
        return None
    patch: dict[str, Any] = ingress_patch(service, ips or ()) if ingress else {}
    meta: dict[str, Any] = patch.setdefault("metadata", {})
    if changes:
        meta["annotations"] = changes
    if _rv(service):
        meta["resourceVersion"] = _rv(service)
    return patch


class ServiceWriter:
    """Sends the patches; each method returns the Service as the server now has it."""

    def __init__(self, api_client: client.ApiClient, *, request_timeout: float = WRITE_TIMEOUT) -> None:
        self._rest = Rest(api_client)
        self._timeout = request_timeout
        self.updates = 0  # successful writes, for the ironlb_k8s_client_updates_total metric

    def write(
        self,
        service: Service,
        *,
        ips: Sequence[str] | None = None,
        annotations: Mapping[str, str | None] | None = None,
    ) -> Service:
        """Make ``service`` show ``ips`` (None: as it is) and ``annotations`` with at most one request."""
        body = status_patch(service, ips, annotations or {})
        if body is None:
            return service
        meta = service.get("metadata") or {}
        name, ns = meta.get("name", ""), meta.get("namespace", "")
        log.debug("patching %s/%s status: %s", ns, name, body)
        with api_errors():
            resp = self._rest.call(
                "patch_namespaced_service_status",
                namespace=ns,
                name=name,
                body=body,
                content_type=MERGE_PATCH,
                timeout=self._timeout,
            )
        self.updates += 1
        updated = cast(Service, json.loads(resp.data))
        updated.setdefault("kind", "Service")
        updated.setdefault("apiVersion", "v1")
        return updated

    def set_ingress(self, service: Service, ips: Sequence[str]) -> Service:
        """Write ``ips`` as the ingress (empty: clear it), unless already so."""
        return self.write(service, ips=ips)
