"""Pure readers over a raw Service dict, shared by the controller and the speakers.

Both programs must read a Service identically -- which annotation key wins,
which class is ours, what a "backend key" is -- or the controller would assign
an IP that the speakers then refuse to announce. So every such reading lives
here, once, as a small pure function over ``ironlb.kube_types.Service``.

Annotations are looked up under ``ironlb.io/`` first, then MetalLB's
``metallb.io/`` and ``metallb.universe.tf/`` keys, so a MetalLB user's Services
keep working unchanged. Nothing here raises on absent fields or on values of the
wrong JSON type (manifests given to ``ironlb plan`` are not validated by an API
server): those read as absent. Values the user must fix (an unparsable IP, an
unknown family policy) raise ``ServiceSpecError`` with a message naming the field.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import sys
from typing import Any, Literal, cast

from ironlb.config.model import Family, IPAddress
from ironlb.kube_types import Service

ANNOTATION_PREFIXES: tuple[str, ...] = ("ironlb.io/", "metallb.io/", "metallb.universe.tf/")
"""Prefixes tried in this order; ironlb's own wins."""

ADDRESS_POOL = "address-pool"
LOAD_BALANCER_IPS = "loadBalancerIPs"
ALLOW_SHARED_IP = "allow-shared-ip"
IP_ALLOCATED_FROM_POOL = "ip-allocated-from-pool"
BGP_COMMUNITIES = "bgp-communities"
BGP_LOCALPREF = "bgp-localpref"

ANNOTATION_ADDRESS_POOL = "ironlb.io/" + ADDRESS_POOL
ANNOTATION_LOAD_BALANCER_IPS = "ironlb.io/" + LOAD_BALANCER_IPS
ANNOTATION_ALLOW_SHARED_IP = "ironlb.io/" + ALLOW_SHARED_IP
ANNOTATION_IP_ALLOCATED_FROM_POOL = "ironlb.io/" + IP_ALLOCATED_FROM_POOL
"""Written by the controller (ironlb's key only)."""
ANNOTATION_BGP_COMMUNITIES = "ironlb.io/" + BGP_COMMUNITIES
ANNOTATION_BGP_LOCALPREF = "ironlb.io/" + BGP_LOCALPREF

TrafficPolicy = Literal["Cluster", "Local"]
FamilyPolicy = Literal["SingleStack", "PreferDualStack", "RequireDualStack"]
"""Same literal as ``ironlb.allocator.types.FamilyPolicy``; not imported, so the allocator stays a leaf."""
Port = tuple[str, int]
"""``(protocol, port)``, e.g. ``("TCP", 80)``."""

FAMILY_NAMES: dict[str, Family] = {"IPv4": 4, "IPv6": 6}


class ServiceSpecError(ValueError):
    """A Service field ironlb reads is malformed; the message names the field and is shown to the user."""


def _get(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...``, or ``None`` as soon as a level is missing or not a mapping."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _str(value: Any) -> str | None:
    """A scalar as text (YAML may turn ``"80"`` into 80), else ``None``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def namespace_and_name(service: Service) -> tuple[str, str]:
    """``(namespace, name)``, empty strings when absent."""
    meta = service.get("metadata") if isinstance(service, dict) else None
    if isinstance(meta, dict):  # the usual case, read directly: every decision asks for every Service
        ns, name = meta.get("namespace"), meta.get("name")
        if isinstance(ns, str) and isinstance(name, str):
            return ns, name
    return (
        _str(_get(service, "metadata", "namespace")) or "",
        _str(_get(service, "metadata", "name")) or "",
    )


def service_key(service: Service) -> str:
    """``namespace/name`` (``name`` when there is no namespace), as ``ironlb.kube_types.object_key``."""
    ns, name = namespace_and_name(service)
    return f"{ns}/{name}" if ns else name


def labels(service: Service) -> tuple[tuple[str, str], ...]:
    """``metadata.labels`` as sorted pairs (values of other JSON types read as text, or are left out)."""
    raw = _get(service, "metadata", "labels")
    if not isinstance(raw, dict):
        return ()
    pairs = ((str(k), _str(v)) for k, v in raw.items())
    return tuple(sorted((k, v) for k, v in pairs if v is not None))


def annotation(service: Service, name: str) -> str | None:
    """The value of annotation ``name`` (without prefix) under the first prefix that has it.

    Empty strings count as set (an empty sharing key is still "the user wrote it").
    """
    annotations = _get(service, "metadata", "annotations")
    if not isinstance(annotations, dict):
        return None
    for prefix in ANNOTATION_PREFIXES:
        value = _str(annotations.get(prefix + name))
        if value is not None:
            return value
    return None


def is_load_balancer(service: Service) -> bool:
    """``spec.type == LoadBalancer``."""
    return bool(_get(service, "spec", "type") == "LoadBalancer")


def load_balancer_class(service: Service) -> str | None:
    """``spec.loadBalancerClass`` or ``None``."""
    return _str(_get(service, "spec", "loadBalancerClass")) or None


def has_our_class(service: Service, lb_class: str | None) -> bool:
    """Whether the class filter selects this Service.

    With a configured class, only Services of exactly that class are ours;
    with none configured, only Services without a class.
    """
    return load_balancer_class(service) == (lb_class or None)


def is_managed(service: Service, lb_class: str | None) -> bool:
    """LoadBalancer and selected by the class filter: the Services ironlb acts on."""
    return is_load_balancer(service) and has_our_class(service, lb_class)


def parse_ip(text: str, what: str) -> IPAddress:
    """One IP address, or ``ServiceSpecError`` naming ``what``."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise ServiceSpecError(f"{what}: {text.strip()!r} is not a valid IP address") from None


def requested_ips(service: Service) -> tuple[IPAddress, ...]:
    """The IPs the user asks for: ``spec.loadBalancerIP`` or the ``loadBalancerIPs`` annotation.

    The annotation is comma-separated with at most one IP per family. Both set
    and different is an error, as is an unparsable address or two of one family.
    """
    annotated = (annotation(service, LOAD_BALANCER_IPS) or "").strip()
    legacy = (_str(_get(service, "spec", "loadBalancerIP")) or "").strip()
    if not annotated:
        return (parse_ip(legacy, "spec.loadBalancerIP"),) if legacy else ()
    ips: list[IPAddress] = []
    for part in annotated.split(","):
        if not part.strip():
            continue
        ip = parse_ip(part, f"annotation {ANNOTATION_LOAD_BALANCER_IPS}")
        if any(other.version == ip.version for other in ips):
            raise ServiceSpecError(
                f"annotation {ANNOTATION_LOAD_BALANCER_IPS}: at most one IPv{ip.version} address"
                f" may be requested, got {annotated!r}"
            )
        ips.append(ip)
    if legacy and parse_ip(legacy, "spec.loadBalancerIP") not in ips:
        raise ServiceSpecError(
            f"spec.loadBalancerIP {legacy} and annotation {ANNOTATION_LOAD_BALANCER_IPS}"
            f" {annotated!r} disagree; set only one"
        )
    return tuple(ips)


def address_pool(service: Service) -> str | None:
    """The pool the ``address-pool`` annotation selects (``None`` when absent or empty)."""
    return (annotation(service, ADDRESS_POOL) or "").strip() or None


def sharing_key(service: Service) -> str | None:
    """The ``allow-shared-ip`` key (``None`` when absent or empty: an empty key shares with nobody)."""
    return (annotation(service, ALLOW_SHARED_IP) or "").strip() or None


def ports(service: Service) -> frozenset[Port]:
    """``(protocol, port)`` of every port; protocol defaults to TCP. Malformed entries are skipped."""
    out: set[Port] = set()
    for entry in _list(_get(service, "spec", "ports")):
        port = _get(entry, "port")
        if isinstance(port, bool) or not isinstance(port, int | str):
            continue
        try:
            number = int(port)
        except ValueError:
            continue
        out.add((_str(_get(entry, "protocol")) or "TCP", number))
    return frozenset(out)


def external_traffic_policy(service: Service) -> TrafficPolicy:
    """``spec.externalTrafficPolicy``; Kubernetes' default is Cluster."""
    return "Local" if _get(service, "spec", "externalTrafficPolicy") == "Local" else "Cluster"


def internal_traffic_policy(service: Service) -> TrafficPolicy:
    """``spec.internalTrafficPolicy``; Kubernetes' default is Cluster."""
    return "Local" if _get(service, "spec", "internalTrafficPolicy") == "Local" else "Cluster"


def backend_key(service: Service) -> str:
    """What must be equal for two Services to share an IP besides the sharing key.

    ``"Cluster"`` for eTP Cluster; for eTP Local the selector too, because an IP
    is announced only from nodes with endpoints and both Services must agree on them.
    """
    if external_traffic_policy(service) == "Cluster":
        return "Cluster"
    selector = _get(service, "spec", "selector") or {}
    return "Local " + json.dumps(selector, sort_keys=True, separators=(",", ":"), default=str)


def ip_families(service: Service) -> tuple[Family, ...]:
    """``spec.ipFamilies`` as families, in order; empty when unspecified.

    Raises ``ServiceSpecError`` for an unknown family name.
    """
    families: list[Family] = []
    for name in _list(_get(service, "spec", "ipFamilies")):
        family = FAMILY_NAMES.get(name) if isinstance(name, str) else None
        if family is None:
            raise ServiceSpecError(f"spec.ipFamilies: unknown family {name!r} (expected IPv4 or IPv6)")
        if family not in families:
            families.append(family)
    return tuple(families)


def ip_family_policy(service: Service) -> FamilyPolicy:
    """``spec.ipFamilyPolicy``; SingleStack when unspecified (Kubernetes' default).

    Raises ``ServiceSpecError`` for an unknown policy.
    """
    value = _get(service, "spec", "ipFamilyPolicy") or "SingleStack"
    if value == "SingleStack":
        return "SingleStack"
    if value == "PreferDualStack":
        return "PreferDualStack"
    if value == "RequireDualStack":
        return "RequireDualStack"
    raise ServiceSpecError(
        f"spec.ipFamilyPolicy: unknown policy {value!r}"
        " (expected SingleStack, PreferDualStack or RequireDualStack)"
    )


def ingress_ips(service: Service) -> tuple[IPAddress, ...]:
    """The IPs in ``status.loadBalancer.ingress``, without duplicates, hostnames or unparsable entries."""
    out: list[IPAddress] = []
    for entry in _list(_get(service, "status", "loadBalancer", "ingress")):
        text = _str(_get(entry, "ip"))
        ip = _status_ip(text) if text else None
        if ip is not None and ip not in out:
            out.append(ip)
    return tuple(out)


@functools.lru_cache(maxsize=1 << 16)
def _status_ip(text: str) -> IPAddress | None:
    """An ingress IP parsed once: every decision reads the status again (addresses are immutable)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def allocated_from_pool(service: Service) -> str | None:
    """The pool the controller recorded in ``ip-allocated-from-pool`` (any prefix)."""
    return annotation(service, IP_ALLOCATED_FROM_POOL) or None


def bgp_communities(service: Service) -> str | None:
    """The raw ``bgp-communities`` annotation (comma-separated; parsed by the BGP side)."""
    return annotation(service, BGP_COMMUNITIES)


def bgp_localpref(service: Service) -> str | None:
    """The raw ``bgp-localpref`` annotation (parsed by the BGP side)."""
    return annotation(service, BGP_LOCALPREF)


_KEPT_META = ("name", "namespace", "uid", "resourceVersion", "labels")
_KEPT_SPEC = (
    "type",
    "loadBalancerClass",
    "loadBalancerIP",
    "ipFamilies",
    "ipFamilyPolicy",
    "externalTrafficPolicy",
)
_INTERNED_SPEC = ("type", "loadBalancerClass", "ipFamilyPolicy", "externalTrafficPolicy")


def _interned(value: Any) -> Any:
    return sys.intern(value) if isinstance(value, str) else value


def allocation_view(service: Service) -> Service:
    """``service`` with only the fields the controller reads (allocation, status, Events).

    What an informer cache of the controller holds: the API server's object also carries
    ``managedFields``, cluster IPs, ``last-applied-configuration`` and the like, several
    times the size of what allocation needs, for every Service of the cluster. Kept:
    name, namespace, uid, resourceVersion, labels (pools may select Services by them);
    annotations under ``ANNOTATION_PREFIXES``; type, class, requested IP, families and
    policy, port numbers and protocols, the external traffic policy (and the selector
    when that is Local, for ``backend_key``); ``status.loadBalancer``. Every reader here
    gives the same answer on the view as on the full object. Values repeated across
    Services (namespace, type, protocol...) are interned, so each is stored once.
    """
    meta = _get(service, "metadata")
    spec = _get(service, "spec")
    view: dict[str, Any] = {
        "kind": _interned(service.get("kind", "Service")),
        "apiVersion": _interned(service.get("apiVersion", "v1")),
        "metadata": _metadata_view(meta if isinstance(meta, dict) else {}),
        "spec": _spec_view(spec if isinstance(spec, dict) else {}),
    }
    load_balancer = _get(service, "status", "loadBalancer")
    if load_balancer:
        view["status"] = {"loadBalancer": load_balancer}
    return cast(Service, view)


def _metadata_view(meta: dict[str, Any]) -> dict[str, Any]:
    """The kept metadata (``allocation_view``): identity, labels and our annotations."""
    view_meta: dict[str, Any] = {k: meta[k] for k in _KEPT_META if k in meta}
    if "namespace" in view_meta:
        view_meta["namespace"] = _interned(view_meta["namespace"])
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        ours = {
            k: v for k, v in annotations.items() if isinstance(k, str) and k.startswith(ANNOTATION_PREFIXES)
        }
        if ours:
            view_meta["annotations"] = ours
    return view_meta


def _spec_view(spec: dict[str, Any]) -> dict[str, Any]:
    """The kept spec (``allocation_view``), with repeated values interned."""
    view_spec: dict[str, Any] = {k: spec[k] for k in _KEPT_SPEC if k in spec}
    for k in _INTERNED_SPEC:
        if k in view_spec:
            view_spec[k] = _interned(view_spec[k])
    if isinstance(view_spec.get("ipFamilies"), list):
        view_spec["ipFamilies"] = [_interned(f) for f in view_spec["ipFamilies"]]
    if spec.get("externalTrafficPolicy") == "Local" and "selector" in spec:
        view_spec["selector"] = spec["selector"]
    if "ports" in spec:
        view_spec["ports"] = [
            {k: _interned(p[k]) for k in ("protocol", "port") if k in p} if isinstance(p, dict) else p
            for p in _list(spec["ports"])
        ]
    return view_spec
