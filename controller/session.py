"""One term of leadership: what it adopts when it starts, and what it keeps while it lasts.

Starting a term is pure: given the config and the Services as a fresh read shows them, a
new ``Allocator`` adopts every IP already written (``ironlb.allocator.adoption``, as the
manifest-directory mode and ``ironlb plan`` do: by key, so two replicas adopt
identically), then decides every Service without IPs in one fixed order
(``ironlb.allocator.settle``, as ``ironlb plan`` does), and the keys come back in the order
to reconcile them: Services without an IP first (their users are waiting, and everything
existing is adopted already, so no IP changes), then the rest, which are mostly no-ops.
Where the Services come from (the informer cache when it was listed after leadership began,
else a LIST) is the runtime's business.

The pending Services are decided in that order, but not all before the first is written: a
``SettlePlan`` holds them in settle order and decides them as the workers reach them
(``SettlePlan.before``, under the controller's lock, before each reconcile: every pending
Service up to that key in plan order). Anything else that could take or free an IP (a Service
not in the plan, or already decided, deleted or changed since it was planned, a config or
namespace change) first finishes the whole plan. So every Service gets the IPs an eager settle
gives it, while the first statuses are written before the last of thousands of pending Services
is decided (the backlog's first IP no longer waits for the whole plan).

While it lasts, a ``Session`` holds the allocator, the plan, the refusals already reported (so
reprocessing does not repeat their Events) and the ``WriteOverlay``; a new term starts
them afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ironlb import services as svc
from ironlb.allocator import Allocator
from ironlb.allocator.adoption import adopt_services
from ironlb.allocator.settle import settle_rank
from ironlb.allocator.translate import NamespaceLabels, request_from_service
from ironlb.allocator.types import AllocationRequest
from ironlb.config import Config
from ironlb.kube_types import Service


class SettlePlan:
    """The pending Services in settle order (``ironlb.allocator.settle``), decided lazily.

    Each Service's allocation request is built when its turn comes, not before (building all of
    them up front was most of a start-up's adoption: 10,000 pending Services, 0.15 s before the
    first could be written); the order needs only whether it requests IPs, and its key.
    A Service whose request cannot be built (a malformed field) is skipped, as an eager settle
    leaves it out. Not thread-safe: the caller holds the lock that owns the allocator."""

    def __init__(
        self,
        allocator: Allocator,
        pending: Iterable[tuple[str, Service]],
        namespaces: NamespaceLabels | None = None,
    ) -> None:
        """``pending``: our Services that hold nothing, each with its key; ``namespaces``: their
        namespaces' labels, read now (a namespace's later change is the controller's to apply,
        after the plan is finished)."""
        self._allocator = allocator
        entries = []
        for key, service in pending:
            try:
                requests_some = bool(svc.requested_ips(service))
            except svc.ServiceSpecError:
                continue  # its request cannot be built: left out, as settle leaves it out
            entries.append((settle_rank(requests_some, key), key, service))
        entries.sort(key=lambda e: e[0])
        self._order = [(key, service) for _, key, service in entries]
        self._index = {key: i for i, (key, _) in enumerate(self._order)}
        self._versions = {key: resource_version(service) for key, service in self._order}
        names = {svc.namespace_and_name(service)[0] or "default" for _, service in self._order}
        known = namespaces or {}
        self._namespaces: dict[str, Mapping[str, str]] = {
            name: labels for name in names if (labels := known.get(name)) is not None
        }
        self._next = 0  # the first Service not decided yet

    @property
    def done(self) -> bool:
        return self._next >= len(self._order)

    def pending(self) -> int:
        return len(self._order) - self._next

    def before(self, key: str, service: Service | None) -> None:
        """Before ``key`` is reconciled on ``service`` (None: deleted): decide every Service up to
        ``key`` in plan order. When ``key`` is not (or no longer) waiting in the plan, or its Service
        is not the one planned (deleted or changed since: its reconcile may free or take IPs), all
        of them: whatever a reconcile changes then comes after the whole plan, as after an eager
        settle."""
        index = self._index.get(key)
        planned = (
            index is not None
            and index >= self._next
            and service is not None
            and resource_version(service) == self._versions.get(key)
        )
        self._advance(index + 1 if planned and index is not None else len(self._order))

    def finish(self) -> None:
        """Decide every Service left (before anything else changes the allocator)."""
        self._advance(len(self._order))

    def _advance(self, end: int) -> None:
        while self._next < end:
            key, service = self._order[self._next]
            self._next += 1
            if self._allocator.assignment(key) is not None:  # as settle: held keys stay
                continue
            request = request_from_service(service, self._namespaces)
            if isinstance(request, AllocationRequest):
                self._allocator.assign(request)


@dataclass(frozen=True)
class Adoption:
    allocator: Allocator
    adopted: int
    refused: int  # assignments that could not be adopted (conflicting, outside every pool, malformed...)
    order: list[str]  # every key to reconcile, in order
    plan: SettlePlan  # the pending Services, decided (finished) unless adopted with lazy=True


def adopt(
    config: Config,
    services: Sequence[Service],
    lb_class: str | None,
    more_keys: Iterable[str] = (),
    namespaces: NamespaceLabels | None = None,
    *,
    lazy: bool = False,
) -> Adoption:
    """Adopt the IPs ``services`` show; ``more_keys`` (e.g. from a cache) are reconciled too.
    ``namespaces``: the labels of their namespaces (pools may admit Services by them).
    Then every pending Service is settled in plan's order: at once, or with ``lazy`` by the
    returned ``plan`` as the workers reach them."""
    allocator = Allocator(config)
    # Each Service's key, class and status read once: at start-up this runs over every Service
    # before the first IP can be written (10,000 pending, in process, medians of 7 in 4 runs each:
    # 0.064-0.075 -> 0.052-0.065 s).
    keyed = [(svc.service_key(s), s) for s in services]
    has_ip = {key for key, s in keyed if svc.ingress_ips(s)}
    ours = [(key, s) for key, s in keyed if svc.is_managed(s, lb_class)]
    holding = (s for key, s in ours if key in has_ip)
    adopted = adopt_services(allocator, holding, lb_class, lambda s: request_from_service(s, namespaces))
    pending = ((key, s) for key, s in ours if allocator.assignment(key) is None)
    plan = SettlePlan(allocator, pending, namespaces)
    if not lazy:
        plan.finish()
    keys = {key for key, _ in keyed}
    keys.update(more_keys)
    return Adoption(
        allocator,
        len(adopted.kept),
        len(adopted.refused),
        sorted(keys, key=lambda k: (k in has_ip, k)),
        plan,
    )


def resource_version(obj: Mapping[str, Any] | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


@dataclass(frozen=True)
class _Written:
    """A Service as our last write left it, and the versions the cache may still show instead."""

    obj: Service
    older: frozenset[str]


class WriteOverlay:
    """What our writes returned, shown instead of the cache until the informer catches up.

    A lagging cache would otherwise make the next reconcile of that Service decide on the
    state before our write, and write again (a conflict at best).
    """

    def __init__(self) -> None:
        self._written: dict[str, _Written] = {}

    def current(self, key: str, cached: Service | None) -> Service | None:
        """The cached Service, or what our last write returned while the cache still shows older."""
        written = self._written.get(key)
        if written is None:
            return cached
        if cached is not None and resource_version(cached) in written.older:
            return written.obj
        del self._written[key]
        return cached

    def caught_up(self, key: str, cached: Service | None) -> bool:
        """True when ``cached`` is exactly what our last write of ``key`` returned: the informer's
        report of our own write. Deciding on it again would decide what was just written; the
        entry is dropped (the cache shows it now)."""
        written = self._written.get(key)
        if written is None or cached is None or resource_version(cached) != resource_version(written.obj):
            return False
        del self._written[key]
        return True

    def record(self, key: str, obj: Service, older: set[str]) -> None:
        """``obj`` is what a write returned; the cache showing any of ``older`` lags behind it."""
        prev = self._written.get(key)
        self._written[key] = _Written(obj, frozenset(older | (prev.older if prev is not None else set())))


@dataclass
class Session:
    """One term of leadership: the state that is only valid while it lasts."""

    allocator: Allocator
    generation: int
    plan: SettlePlan | None = None
    """The pending Services still to decide in settle order (``None``: all decided)."""
    refused: dict[str, str] = field(default_factory=dict)
    """Why each refused Service has no IP, as last reported."""
    overlay: WriteOverlay = field(default_factory=WriteOverlay)

    def settle_before(self, key: str, service: Service | None) -> None:
        """Before ``key`` is reconciled on ``service``: its turn in the plan (``SettlePlan.before``)."""
        if self.plan is not None:
            self.plan.before(key, service)

    def settle_all(self) -> None:
        """Before anything but a reconcile changes the allocator: the whole plan is decided."""
        if self.plan is not None:
            self.plan.finish()
