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

While it lasts, a ``Session`` holds the allocator, the refusals already reported (so
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
from ironlb.allocator.settle import settle_services
from ironlb.allocator.translate import NamespaceLabels, request_from_service
from ironlb.config import Config
from ironlb.kube_types import Service


@dataclass(frozen=True)
class Adoption:
    allocator: Allocator
    adopted: int
    refused: int  # assignments that could not be adopted (conflicting, outside every pool, malformed...)
    order: list[str]  # every key to reconcile, in order


def adopt(
    config: Config,
    services: Sequence[Service],
    lb_class: str | None,
    more_keys: Iterable[str] = (),
    namespaces: NamespaceLabels | None = None,
) -> Adoption:
    """Adopt the IPs ``services`` show; ``more_keys`` (e.g. from a cache) are reconciled too.
    ``namespaces``: the labels of their namespaces (pools may admit Services by them)."""
    allocator = Allocator(config)
    adopted = adopt_services(allocator, services, lb_class, lambda s: request_from_service(s, namespaces))
    settle_services(allocator, services, lb_class, namespaces)  # then every pending one, in plan's order
    keys = {svc.service_key(s) for s in services} | set(more_keys)
    has_ip = {svc.service_key(s) for s in services if svc.ingress_ips(s)}
    return Adoption(
        allocator,
        len(adopted.kept),
        len(adopted.refused),
        sorted(keys, key=lambda k: (k in has_ip, k)),
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

    def record(self, key: str, obj: Service, older: set[str]) -> None:
        """``obj`` is what a write returned; the cache showing any of ``older`` lags behind it."""
        prev = self._written.get(key)
        self._written[key] = _Written(obj, frozenset(older | (prev.older if prev is not None else set())))


@dataclass
class Session:
    """One term of leadership: the state that is only valid while it lasts."""

    allocator: Allocator
    generation: int
    refused: dict[str, str] = field(default_factory=dict)
    """Why each refused Service has no IP, as last reported."""
    overlay: WriteOverlay = field(default_factory=WriteOverlay)
