"""Which pools admit a Service, and in which order auto-assign pools are tried (pool ``serviceAllocation``).

MetalLB's rules: a pool with ``namespaces`` or namespace selectors admits only
Services of those namespaces; one with Service selectors only Services whose
labels match; pools are tried by ``priority`` (lower first), then the pools
without one, each group in config order. A pool named by annotation must admit
the Service too.

Cost: admission runs on every allocation, so it must not grow with the number of
pools under selectors. The namespace half of the rule depends only on the
namespace and its labels, which few distinct values take: the admitted pools in
try order are computed once per (namespace, labels) and config, and only the
pools that also select Services look at the Service's labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from ironlb.allocator.types import AllocationRequest
from ironlb.config.model import AddressPool

CACHE_LIMIT = 4096
"""Namespace entries kept per config; the cache is dropped when full (a namespace is cheap to recompute)."""


class HasPool(Protocol):
    @property
    def pool(self) -> AddressPool: ...


P = TypeVar("P", bound=HasPool)


@dataclass(frozen=True)
class _ByNamespace(Generic[P]):
    """For one namespace and its labels: the auto-assign pools it may use in try order, and the others."""

    admitted: tuple[P, ...]
    refused: tuple[P, ...]
    select_services: tuple[P, ...]
    """The admitted pools that also select Services (their labels must be checked per request)."""


def try_order(pools: Sequence[P]) -> list[P]:
    """Pools by priority (lower first), then those without one, each group in config order."""
    indexed = list(enumerate(pools))
    indexed.sort(key=lambda e: (e[1].pool.priority is None, e[1].pool.priority or 0, e[0]))
    return [p for _, p in indexed]


class Admission(Generic[P]):
    """Admission of requests to pools under one config (build a new one when the config changes)."""

    def __init__(self, auto_assign: Sequence[P]) -> None:
        self.auto_assign = try_order(auto_assign)
        """The auto-assign pools, in try order."""
        self.selective = any(p.pool.allocation is not None for p in auto_assign)
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...]], _ByNamespace[P]] = {}

    def refusal(self, pool: P, request: AllocationRequest) -> str | None:
        """Why ``pool`` does not admit ``request`` (``None``: it does)."""
        if pool.pool.allocation is None:
            return None
        return pool.pool.refusal(
            request.namespace_name, dict(request.namespace_labels), dict(request.service_labels)
        )

    def candidates(self, request: AllocationRequest) -> tuple[Sequence[P], Sequence[P]]:
        """The auto-assign pools that admit ``request`` in try order, and those that refuse it
        (:meth:`refusal` says why: only computed when a message needs it)."""
        if not self.selective:
            return self.auto_assign, ()
        key = (request.namespace or request.namespace_name, request.namespace_labels)
        found = self._cache.get(key) or self._by_namespace(key)
        if not found.select_services:
            return found.admitted, found.refused
        labels = dict(request.service_labels)
        rejected = [p for p in found.select_services if not p.pool.admits_service(labels)]
        if not rejected:
            return found.admitted, found.refused
        return [p for p in found.admitted if p not in rejected], (*found.refused, *rejected)

    def _by_namespace(self, key: tuple[str, tuple[tuple[str, str], ...]]) -> _ByNamespace[P]:
        namespace, labels = key[0], dict(key[1])
        admitted: list[P] = []
        refused: list[P] = []
        for p in self.auto_assign:
            allocation = p.pool.allocation
            if allocation is None or allocation.admits_namespace(namespace, labels):
                admitted.append(p)
            else:
                refused.append(p)
        selecting = tuple(p for p in admitted if p.pool.allocation and p.pool.allocation.service_selectors)
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        found = self._cache[key] = _ByNamespace(tuple(admitted), tuple(refused), selecting)
        return found
