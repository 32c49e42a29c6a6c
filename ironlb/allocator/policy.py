"""What a request accepts: the IP family shapes it may hold, and whom it may share an IP with.

Pure rules over :class:`~ironlb.allocator.types.AllocationRequest`, kept apart
from the allocator's bookkeeping (``core``), plus the small text helpers its
messages share.
"""

from __future__ import annotations

from collections.abc import Iterable

from ironlb.allocator.types import AllocationRequest
from ironlb.config.model import Family, IPAddress


def family(ip: IPAddress) -> Family:
    return 4 if ip.version == 4 else 6


def ip_sort_key(ip: IPAddress) -> tuple[int, int]:
    return (ip.version, int(ip))


def families_text(families: Iterable[Family]) -> str:
    return " and ".join(f"IPv{f}" for f in families)


def ips_text(ips: Iterable[IPAddress]) -> str:
    return ", ".join(str(ip) for ip in ips)


def sharing_conflict(new: AllocationRequest, holder: AllocationRequest) -> str | None:
    """Why ``new`` may not share an IP with ``holder`` (``None`` when it may).

    Both must carry the same non-empty sharing key, use disjoint (protocol, port)
    pairs, and have the same backend key.
    """
    if new.sharing_key is None and holder.sharing_key is None:
        return "neither sets allow-shared-ip"
    if new.sharing_key != holder.sharing_key:
        return "allow-shared-ip keys differ"
    overlap = sorted(new.ports & holder.ports)
    if overlap:
        return "both use port " + ", ".join(f"{proto}/{port}" for proto, port in overlap)
    if new.backend_key != holder.backend_key:
        return "externalTrafficPolicy or, for Local, the selector differ"
    return None


def wanted_families(request: AllocationRequest) -> list[tuple[Family, ...]]:
    """The family combinations that satisfy the request, best first.

    SingleStack: the first of ``families`` (IPv4, else IPv6, when unspecified).
    RequireDualStack: both. PreferDualStack: both, else either alone, in
    ``families`` order (only the listed families when ``families`` is given).
    """
    fams = request.families
    if request.family_policy == "SingleStack":
        return [fams[:1]] if fams else [(4,), (6,)]
    if request.family_policy == "RequireDualStack":
        order = fams + tuple(f for f in (4, 6) if f not in fams)
        return [order[:2]]
    order = fams or (4, 6)
    if len(order) == 1:
        return [order]
    return [order, order[:1], order[1:2]]
