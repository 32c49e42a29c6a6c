"""The allocator's own vocabulary: what a Service asks for, and what it gets.

The allocator knows nothing of Kubernetes (MetalLB's habit): callers translate
a Service into an ``AllocationRequest`` (see ``ironlb.allocator.translate``) and
get back either an ``Assignment`` or a ``Refusal`` whose ``reason`` is written
for the user (it becomes an Event and the ``error`` of ``ironlb plan``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ironlb.config.model import Family, IPAddress

FamilyPolicy = Literal["SingleStack", "PreferDualStack", "RequireDualStack"]
Port = tuple[str, int]
"""``(protocol, port)``, e.g. ``("TCP", 80)``."""
Labels = tuple[tuple[str, str], ...]
"""Kubernetes labels as sorted ``(key, value)`` pairs (hashable, so requests stay frozen)."""

RefusalCode = Literal[
    "invalid-request",  # the Service itself is malformed (bad IP text, policy/IP mismatch); user must fix
    "unknown-pool",  # the annotated pool does not exist
    "not-in-pool",  # a requested IP lies outside every pool, or outside the annotated pool
    "ip-in-use",  # a requested IP is held by a Service that does not share it
    "no-ip-available",  # no pool the Service may use has a free address of the needed family
    "not-admitted",  # no pool (or not the annotated one) admits the Service (pool serviceAllocation)
    "not-adoptable",  # only from Allocator.adopt: the current IPs cannot be kept
]
"""Machine-readable kind of a refusal (for metrics and retry decisions)."""


@dataclass(frozen=True, slots=True)
class AllocationRequest:
    """Everything the allocator needs to know about one Service.

    ``families`` is ``spec.ipFamilies`` in order (may be empty = unspecified:
    IPv4 preferred, IPv6 when only IPv6 is possible). ``current_ips`` are the IPs
    the Service already has (``status.loadBalancer.ingress``): they are kept when
    still valid, so a restart changes nothing.
    """

    key: str
    """``namespace/name``: identifies the holder in reasons and in ``release``."""
    families: tuple[Family, ...] = ()
    family_policy: FamilyPolicy = "SingleStack"
    requested_ips: tuple[IPAddress, ...] = ()
    pool: str | None = None
    """The pool the Service asks for by annotation (allowed even with auto-assign off)."""
    sharing_key: str | None = None
    """Non-empty ``allow-shared-ip`` key, or ``None`` (shares with nobody)."""
    ports: frozenset[Port] = frozenset()
    backend_key: str = "Cluster"
    """Sharing Services must have equal backend keys (see ``ironlb.services.backend_key``)."""
    current_ips: tuple[IPAddress, ...] = ()
    namespace: str = ""
    """The Service's namespace, for the pools' service allocation (empty: the part of ``key`` before '/')."""
    namespace_labels: Labels = ()
    """The labels of the Service's namespace, sorted pairs."""
    service_labels: Labels = ()
    """The Service's own labels, sorted pairs."""

    @property
    def namespace_name(self) -> str:
        """``namespace``, else the part of ``key`` before '/' (empty for a key without one)."""
        if self.namespace:
            return self.namespace
        ns, sep, _ = self.key.partition("/")
        return ns if sep else ""


@dataclass(frozen=True, slots=True)
class Assignment:
    """The IPs a Service holds, all from one pool, ordered by the request's families."""

    ips: tuple[IPAddress, ...]
    pool: str
    reason: str | None = None
    """Why the IPs differ from the request's ``current_ips``, when they do and had been set
    (e.g. the old IP left its pool after a config change); ``None`` otherwise."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """No IP for this Service, with a reason a user can act on."""

    reason: str
    code: RefusalCode


@dataclass(frozen=True, slots=True)
class Invalidation:
    """An assignment a config change broke: the IPs were freed, the Service must be assigned again."""

    key: str
    ips: tuple[IPAddress, ...]
    pool: str
    reason: str


@dataclass(frozen=True, slots=True)
class PoolUsage:
    """For metrics: distinct addresses held and usable addresses (may be huge for IPv6)."""

    in_use: int
    size: int


Outcome = Assignment | Refusal
