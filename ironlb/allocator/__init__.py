"""IP allocation for LoadBalancer Services: pure decisions, no I/O, no Kubernetes in the core.

- ``types``: ``AllocationRequest`` in, ``Assignment`` / ``Refusal`` out;
- ``core.Allocator``: the stateful allocator the controller keeps (``set_config``,
  ``set_namespace_labels``, ``assign``, ``adopt``, ``release``, ``in_use``/``size``/``usage``);
- ``admission``: which pools admit a Service and in which order pools are tried;
- ``policy``: the family shapes a request accepts and whom it may share an IP with;
- ``translate.request_from_service``: Service dict -> request (the Kubernetes edge);
- ``batch.allocate_all``: (config, Services) -> results, for ``ironlb plan``;
- ``ranges``: the per-range free-address index that keeps costs independent of pool size.
"""

from ironlb.allocator.batch import ServiceResult, allocate_all
from ironlb.allocator.core import Allocator
from ironlb.allocator.policy import sharing_conflict, wanted_families
from ironlb.allocator.translate import namespace_labels, request_from_service
from ironlb.allocator.types import (
    AllocationRequest,
    Assignment,
    FamilyPolicy,
    Invalidation,
    Outcome,
    PoolUsage,
    Port,
    Refusal,
    RefusalCode,
)

__all__ = [
    "AllocationRequest",
    "Allocator",
    "Assignment",
    "FamilyPolicy",
    "Invalidation",
    "Outcome",
    "PoolUsage",
    "Port",
    "Refusal",
    "RefusalCode",
    "ServiceResult",
    "allocate_all",
    "namespace_labels",
    "request_from_service",
    "sharing_conflict",
    "wanted_families",
]
