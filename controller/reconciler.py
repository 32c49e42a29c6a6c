"""Converge one Service: the controller's pure decision, MetalLB's thin reconciler in Python.

Given one Service (or ``None`` once it is deleted) and the allocator, ``reconcile``
says what ``status.loadBalancer.ingress`` and the ``ironlb.io/ip-allocated-from-pool``
annotation should be, which Events to record, and a sync state. It mutates only the
allocator (which is pure state) and does no I/O, so every rule is tested with plain
dicts; the runtime compares the decision with the object and writes only differences.

Rules:

- deleted: its IPs are freed;
- not ours any more (no longer ``type: LoadBalancer``, or another ``loadBalancerClass``):
  IPs freed; status and annotation cleared when ironlb wrote them (``ClearAssignment``);
- ours: ``Allocator.assign`` keeps the current IPs when still valid, else allocates.
  A changed assignment yields ``IPAllocated`` (and ``ClearAssignment`` when IPs were
  dropped); a refusal clears the status and yields ``AllocationFailed`` for a Service
  that had no IP, or ``ClearAssignment`` + ``AdditionalAssignFailed`` for one that
  lost the IPs it had (a config change or a new request left them invalid and no
  other could be given). A refusal already reported for this Service is not reported
  again (``previous_refusal``), so reprocessing does not spam Events.

Sync state: ``done``; ``reprocess-all`` when IPs were freed (refused Services may now
fit); the runtime turns failed writes into ``retry``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ironlb import services as svc
from ironlb.allocator import Allocator, Assignment, Refusal, request_from_service
from ironlb.allocator.translate import NamespaceLabels
from ironlb.config.model import IPAddress
from ironlb.kube_types import Service

SyncState = Literal["done", "retry", "reprocess-all"]
EventType = Literal["Normal", "Warning"]

IP_ALLOCATED = "IPAllocated"
ALLOCATION_FAILED = "AllocationFailed"
CLEAR_ASSIGNMENT = "ClearAssignment"
ADDITIONAL_ASSIGN_FAILED = "AdditionalAssignFailed"

POOL_ANNOTATION = svc.ANNOTATION_IP_ALLOCATED_FROM_POOL


@dataclass(frozen=True)
class EventSpec:
    type: EventType
    reason: str
    message: str


@dataclass(frozen=True)
class Decision:
    """What one Service should look like; ``None``/empty fields mean "leave it alone"."""

    key: str
    ingress: tuple[str, ...] | None = None
    """Desired ``status.loadBalancer.ingress`` IPs; ``()`` clears it; ``None`` leaves it."""
    annotations: Mapping[str, str | None] = field(default_factory=dict)
    """Annotations to set (value) or remove (``None``)."""
    events: tuple[EventSpec, ...] = ()
    sync: SyncState = "done"
    refusal: str | None = None
    """Why the Service has no IP (``None`` when it has one or is not ours)."""


def _ips_text(ips: tuple[IPAddress, ...] | tuple[str, ...]) -> str:
    """MetalLB's ``%q`` of its IP list: ``["192.0.2.1" "2001:db8::1"]`` (Go's slice format, no comma)."""
    return "[" + " ".join(f'"{ip}"' for ip in ips) + "]"


def _pool_annotation(service: Service) -> str | None:
    return (service.get("metadata", {}).get("annotations") or {}).get(POOL_ANNOTATION)


def _not_ours_reason(service: Service, lb_class: str | None) -> str:
    if not svc.is_load_balancer(service):
        return f"the Service is no longer of type LoadBalancer (type {service.get('spec', {}).get('type')})"
    theirs = svc.load_balancer_class(service)
    if theirs is None:
        return f"the Service has no loadBalancerClass; ironlb serves class {lb_class!r}"
    return f"the Service's loadBalancerClass is {theirs!r}, not ironlb's"


def reconcile(
    key: str,
    service: Service | None,
    allocator: Allocator,
    lb_class: str | None,
    *,
    previous_refusal: str | None = None,
    namespaces: NamespaceLabels | None = None,
) -> Decision:
    """Converge ``key`` in ``allocator`` and return what the Service should look like.

    ``namespaces``: the labels of the Services' namespaces (pools may admit Services by them)."""
    if service is None:
        freed = allocator.release(key)
        return Decision(key, sync="reprocess-all" if freed else "done")

    current = svc.ingress_ips(service)
    if not svc.is_managed(service, lb_class):
        return _not_ours(key, service, allocator, lb_class, current)

    prior = allocator.assignment(key)
    translated = request_from_service(service, namespaces)
    if isinstance(translated, Refusal):
        allocator.release(key)
        outcome: Assignment | Refusal = translated
    else:
        outcome = allocator.assign(translated)

    if isinstance(outcome, Assignment):
        return _assigned(key, outcome, prior, current)
    return _refused(key, service, outcome, prior, current, previous_refusal)


def reconcile_remembering(
    key: str,
    service: Service | None,
    allocator: Allocator,
    lb_class: str | None,
    refused: dict[str, str],
    *,
    namespaces: NamespaceLabels | None = None,
) -> Decision:
    """:func:`reconcile`, reading and updating ``refused`` (Service key -> the refusal last reported).

    Both runtimes (the leader's sessions and the standalone controller) keep refusals this way."""
    decision = reconcile(
        key, service, allocator, lb_class, previous_refusal=refused.get(key), namespaces=namespaces
    )
    if decision.refusal is not None:
        refused[key] = decision.refusal
    else:
        refused.pop(key, None)
    return decision


def _not_ours(
    key: str, service: Service, allocator: Allocator, lb_class: str | None, current: tuple[IPAddress, ...]
) -> Decision:
    freed = allocator.release(key)
    annotated = _pool_annotation(service) is not None
    # Clear only what ironlb wrote: IPs it held, or (after a restart) annotated IPs from its pools.
    ours = (freed is not None and set(current) <= set(freed.ips)) or (
        annotated and all(allocator.pool_of(ip) is not None for ip in current)
    )
    sync: SyncState = "reprocess-all" if freed else "done"
    # The API server itself empties status.loadBalancer when a Service stops being of type
    # LoadBalancer: what ironlb held is still released, and said so.
    released = current or (freed.ips if freed is not None else ())
    if not ours or not (released or annotated):
        return Decision(key, sync=sync)
    events: tuple[EventSpec, ...] = ()
    if released:
        events = (
            EventSpec(
                "Normal",
                CLEAR_ASSIGNMENT,
                f"released {_ips_text(released)}: {_not_ours_reason(service, lb_class)}",
            ),
        )
    return Decision(
        key,
        ingress=() if current else None,
        annotations={POOL_ANNOTATION: None} if annotated else {},
        events=events,
        sync=sync,
    )


def _assigned(
    key: str, outcome: Assignment, prior: Assignment | None, current: tuple[IPAddress, ...]
) -> Decision:
    events: list[EventSpec] = []
    if set(outcome.ips) != set(current):
        dropped = tuple(ip for ip in current if ip not in outcome.ips)
        if dropped:
            why = outcome.reason or "no longer allowed"
            events.append(EventSpec("Normal", CLEAR_ASSIGNMENT, f"released {_ips_text(dropped)}: {why}"))
        events.append(EventSpec("Normal", IP_ALLOCATED, f"Assigned IP {_ips_text(outcome.ips)}"))
    freed = prior is not None and bool(set(prior.ips) - set(outcome.ips))
    return Decision(
        key,
        ingress=tuple(str(ip) for ip in outcome.ips),
        annotations={POOL_ANNOTATION: outcome.pool},
        events=tuple(events),
        sync="reprocess-all" if freed else "done",
    )


def _refused(
    key: str,
    service: Service,
    refusal: Refusal,
    prior: Assignment | None,
    current: tuple[IPAddress, ...],
    previous_refusal: str | None,
) -> Decision:
    had = current or (prior.ips if prior else ())
    events: list[EventSpec] = []
    if current:
        events.append(
            EventSpec("Normal", CLEAR_ASSIGNMENT, f"released {_ips_text(current)}: {refusal.reason}")
        )
    if refusal.reason != previous_refusal or current:
        if had:
            events.append(
                EventSpec(
                    "Warning",
                    ADDITIONAL_ASSIGN_FAILED,
                    f'Failed to assign another IP to "{key}" after {_ips_text(had)} was released:'
                    f" {refusal.reason}",
                )
            )
        else:
            events.append(
                EventSpec(
                    "Warning", ALLOCATION_FAILED, f'Failed to allocate IP for "{key}": {refusal.reason}'
                )
            )
    return Decision(
        key,
        ingress=() if current else None,
        annotations={POOL_ANNOTATION: None} if _pool_annotation(service) is not None else {},
        events=tuple(events),
        sync="reprocess-all" if prior is not None else "done",
        refusal=refusal.reason,
    )
