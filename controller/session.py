"""Starting a term of leadership: adopt every assignment that exists, then decide the order of work.

Pure: given the config and the Services as a fresh read shows them, a new ``Allocator``
adopts every IP already written (``ironlb.allocator.adoption``, as the manifest-directory
mode and ``ironlb plan`` do: by key, so two replicas adopt identically), and
the keys come back in the order to reconcile them: Services without an IP first (their
users are waiting, and everything existing is adopted already, so no IP changes), then
the rest, which are mostly no-ops. Where the Services come from (the informer cache when
it was listed after leadership began, else a LIST) is the runtime's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ironlb import services as svc
from ironlb.allocator import Allocator
from ironlb.allocator.adoption import adopt_services
from ironlb.config import Config
from ironlb.kube_types import Service


@dataclass(frozen=True)
class Adoption:
    allocator: Allocator
    adopted: int
    refused: int  # assignments that could not be adopted (conflicting, outside every pool, malformed...)
    order: list[str]  # every key to reconcile, in order


def adopt(
    config: Config, services: Sequence[Service], lb_class: str | None, more_keys: Iterable[str] = ()
) -> Adoption:
    """Adopt the IPs ``services`` show; ``more_keys`` (e.g. from a cache) are reconciled too."""
    allocator = Allocator(config)
    adopted = adopt_services(allocator, services, lb_class)
    keys = {svc.service_key(s) for s in services} | set(more_keys)
    has_ip = {svc.service_key(s) for s in services if svc.ingress_ips(s)}
    return Adoption(
        allocator,
        len(adopted.kept),
        len(adopted.refused),
        sorted(keys, key=lambda k: (k in has_ip, k)),
    )
