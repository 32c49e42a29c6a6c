"""The stateful allocator: which Service holds which IP, under one config.

Maps plus a few verbs, like MetalLB's ``internal/allocator``: ``set_config``
(returns the assignments the new config broke), ``assign`` (converge one
request: keep what is still valid, else allocate), ``adopt`` (keep only, never
allocate: used to load existing statuses before anything new is handed out),
``release``. Pure: no I/O, no Kubernetes, no clock. The controller keeps one
instance; ``ironlb plan`` builds a fresh one per run (``ironlb.allocator.batch``).

How the controller drives it (MetalLB's pattern):

1. at start, ``set_config(config)``, then ``adopt(request_from_service(s))`` for every
   Service that has IPs in its status -- before anything new is handed out;
2. per Service event, ``assign(request)`` and write the status only when it changed;
   on deletion, ``release(key)``;
3. on a config change, ``set_config`` and then ``assign`` every Service again
   (the returned ``Invalidation``s say which lost their IPs and why); on a change of a
   namespace's labels, ``set_namespace_labels`` (same); after any ``release`` or
   invalidation, retry the refused ones, since freed IPs may unblock them.

A Service only ever holds IPs of a pool that admits it (``ironlb.allocator.admission``):
every kept, requested or fresh IP is checked, and a config or label change that
makes a pool stop admitting a Service frees its IPs like a shrunk pool does.

Costs: every verb is O(log n) in the number of held IPs (dict lookups, sorted
run starts per range) times small config-sized factors (pools, ranges); nothing
depends on pool size.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from ironlb.allocator import policy
from ironlb.allocator.admission import Admission
from ironlb.allocator.policy import family_refusal, sharing_conflict, wanted_families
from ironlb.allocator.ranges import RangeIndex
from ironlb.allocator.types import (
    AllocationRequest,
    Assignment,
    Invalidation,
    Labels,
    PoolUsage,
    Refusal,
)
from ironlb.config.model import AddressPool, Config, Family, IPAddress


class _Pool:
    def __init__(self, pool: AddressPool) -> None:
        self.pool = pool
        self.name = pool.name
        self.ranges = [RangeIndex(r, pool.avoid_buggy_ips) for r in pool.ranges]
        self.families = frozenset(r.family for r in self.ranges)

    def has_family(self, family: Family) -> bool:
        return family in self.families


class Allocator:
    """IP assignments for Services under one config. Not thread-safe; one owner."""

    def __init__(self, config: Config | None = None) -> None:
        self._config = Config()
        self._pools: dict[str, _Pool] = {}
        self._admission: Admission[_Pool] = Admission([])
        self._locator: dict[int, tuple[list[int], list[tuple[int, _Pool, RangeIndex]]]] = {}
        # Few objects per Service on purpose: the cyclic GC's cost grows with tracked objects.
        self._assigned: dict[str, Assignment] = {}
        self._requests: dict[str, AllocationRequest] = {}
        self._holders: dict[IPAddress, AllocationRequest | dict[str, AllocationRequest]] = {}
        """Who holds each IP: the request itself when alone (the common case), else a dict by key."""
        self._by_sharing_key: dict[str, dict[IPAddress, int]] = {}
        if config is not None:
            self.set_config(config)

    # --- config ------------------------------------------------------------------------------

    @property
    def config(self) -> Config:
        return self._config

    def set_config(self, config: Config) -> list[Invalidation]:
        """Switch to ``config``; every assignment it no longer allows is released and returned.

        An assignment survives when all its IPs still lie, usable, in one pool
        the request may use (the pool may have been renamed: the assignment then
        names the new pool). The caller should re-``assign`` every released key
        (and, since freed IPs may unblock others, every refused one).
        """
        self._config = config
        self._pools = {}
        by_family: dict[int, list[tuple[int, int, _Pool, RangeIndex]]] = {4: [], 6: []}
        for pool in config.pools:
            state = _Pool(pool)
            self._pools[pool.name] = state
            for index in state.ranges:
                by_family[index.family].append((int(index.range.first), int(index.range.last), state, index))
        self._locator = {}
        for family, entries in by_family.items():
            entries.sort(key=lambda e: e[0])
            self._locator[family] = ([e[0] for e in entries], [(e[1], e[2], e[3]) for e in entries])
        self._admission = Admission([p for p in self._pools.values() if p.pool.auto_assign])

        old_assigned, old_requests = self._assigned, self._requests
        self._assigned = {}
        self._requests = {}
        self._holders = {}
        self._by_sharing_key = {}
        return self._recheck(old_assigned.items(), old_requests, "after a config change")

    def set_namespace_labels(self, namespace: str, labels: Labels) -> list[Invalidation]:
        """The labels of ``namespace`` changed: re-check the Services of it that hold IPs.

        Each one's request takes the new labels; an assignment whose pool no longer
        admits it is released and returned, as :meth:`set_config` does.
        """
        labels = tuple(sorted(labels))
        affected = {
            key: replace(request, namespace_labels=labels)
            for key, request in self._requests.items()
            if request.namespace_name == namespace and request.namespace_labels != labels
        }
        held = [(key, assignment) for key in affected if (assignment := self._unhold(key)) is not None]
        return self._recheck(held, affected, f"after a label change of namespace {namespace}")

    def _recheck(
        self,
        held: Iterable[tuple[str, Assignment]],
        requests: Mapping[str, AllocationRequest],
        why: str,
    ) -> list[Invalidation]:
        """Hold each assignment again when still valid for its request; the others are released."""
        broken: list[Invalidation] = []
        for key, assignment in held:
            request = requests[key]
            checked = self._check_ips(assignment.ips, request, "IP")
            if isinstance(checked, Assignment):
                self._hold(request, checked)
            else:
                broken.append(
                    Invalidation(key, assignment.ips, assignment.pool, f"released {why}: {checked.reason}")
                )
        return broken

    # --- verbs -------------------------------------------------------------------------------

    def assign(self, request: AllocationRequest) -> Assignment | Refusal:
        """Converge ``request.key``: keep its IPs when still valid, else allocate anew.

        Order: the IPs it holds here (or, if none, ``request.current_ips``) are kept
        when they satisfy the request; else the requested IPs; else the first free
        address of the annotated pool or of the auto-assign pools in declaration
        order (an IP already shared under the same key comes first). On refusal
        the key holds nothing. Idempotent.
        """
        note, kept = self._try_keep(request)
        if kept is not None:
            return kept
        if request.requested_ips:
            result = self._check_ips(request.requested_ips, request, "requested IP")
        else:
            result = self._allocate_fresh(request)
        if isinstance(result, Refusal):
            if note and result.reason not in note:
                return Refusal(f"{result.reason} ({note})", result.code)
            return result
        changed = set(result.ips) != set(request.current_ips)
        result = Assignment(result.ips, result.pool, note if note and changed else None)
        self._hold(request, result)
        return result

    def adopt(self, request: AllocationRequest) -> Assignment | Refusal:
        """Keep the IPs ``request.key`` holds (or ``request.current_ips``) if still valid; never allocate.

        Used to load existing statuses before any new allocation, so a restart
        changes nothing. Refusal code ``not-adoptable`` with the reason otherwise;
        the key then holds nothing.
        """
        note, kept = self._try_keep(request)
        if kept is not None:
            return kept
        return Refusal(note or "no IPs to adopt", "not-adoptable")

    def release(self, key: str) -> Assignment | None:
        """Free everything ``key`` holds; returns what it held."""
        return self._unhold(key)

    # --- queries -----------------------------------------------------------------------------

    def assignment(self, key: str) -> Assignment | None:
        return self._assigned.get(key)

    def assignments(self) -> dict[str, Assignment]:
        """Every current assignment by key."""
        return dict(self._assigned)

    def holders(self, ip: IPAddress) -> tuple[str, ...]:
        """The keys holding ``ip``, sorted."""
        return tuple(sorted(self._holders_of(ip)))

    def pool_of(self, ip: IPAddress) -> str | None:
        """The pool whose usable addresses include ``ip``."""
        found = self._locate(ip)
        return found[0].name if found else None

    def in_use(self, pool: str) -> int:
        """Distinct addresses of ``pool`` held by at least one Service (0 for an unknown pool)."""
        state = self._pools.get(pool)
        return sum(r.used for r in state.ranges) if state else 0

    def size(self, pool: str) -> int:
        """Usable addresses of ``pool`` (avoided ones excluded; 0 for an unknown pool)."""
        state = self._pools.get(pool)
        return sum(r.size for r in state.ranges) if state else 0

    def usage(self) -> dict[str, PoolUsage]:
        """``PoolUsage`` per configured pool, in declaration order."""
        return {name: PoolUsage(self.in_use(name), self.size(name)) for name in self._pools}

    # --- internals ---------------------------------------------------------------------------

    def _try_keep(self, request: AllocationRequest) -> tuple[str | None, Assignment | None]:
        """Release what the key holds, then re-hold it (or the current IPs) if still valid.

        Returns (why they could not be kept, or None; the kept assignment, or None).
        """
        prior = self._unhold(request.key)
        keep = prior.ips if prior is not None else request.current_ips
        if not keep:
            return None, None
        if request.requested_ips and set(keep) != set(request.requested_ips):
            wanted = policy.ips_text(request.requested_ips)
            return f"{policy.ips_text(keep)} released: the Service requests {wanted}", None
        checked = self._check_ips(keep, request, "IP")
        if isinstance(checked, Refusal) and checked.code == "invalid-request" and len(keep) > 1:
            # the family policy narrowed (e.g. dual-stack -> single-stack): keep what still fits
            for shape in wanted_families(request):
                subset = tuple(ip for ip in keep if policy.family(ip) in shape)
                if subset and len(subset) == len(shape):
                    narrowed = self._check_ips(subset, request, "IP")
                    if isinstance(narrowed, Assignment):
                        dropped = policy.ips_text(ip for ip in keep if ip not in subset)
                        narrowed = Assignment(
                            narrowed.ips, narrowed.pool, f"{dropped} released: {checked.reason}"
                        )
                        self._hold(request, narrowed)
                        return None, narrowed
        if isinstance(checked, Refusal):
            return f"{policy.ips_text(keep)} released: {checked.reason}", None
        if prior is not None and prior.reason and set(checked.ips) != set(request.current_ips):
            # Decided earlier (``settle``) and not written yet: the Service still shows the IPs it
            # had, so the reason they changed still holds (the controller's Event says it).
            checked = Assignment(checked.ips, checked.pool, prior.reason)
        self._hold(request, checked)
        return None, checked

    def _locate(self, ip: IPAddress) -> tuple[_Pool, RangeIndex] | None:
        table = self._locator.get(ip.version)
        if not table:
            return None
        firsts, entries = table
        i = bisect.bisect_right(firsts, int(ip)) - 1
        if i < 0:
            return None
        last, pool, index = entries[i]
        if int(ip) > last:
            return None
        return pool, index

    def _holders_of(self, ip: IPAddress) -> dict[str, AllocationRequest]:
        holders = self._holders.get(ip)
        if holders is None:
            return {}
        if isinstance(holders, AllocationRequest):
            return {holders.key: holders}
        return holders

    def _conflict(self, ip: IPAddress, request: AllocationRequest) -> str | None:
        if ip not in self._holders:
            return None
        holders = self._holders_of(ip)
        for key in sorted(holders):
            if key == request.key:
                continue
            why = sharing_conflict(request, holders[key])
            if why:
                return f"IP {ip} is already in use by {key}, which does not share it ({why})"
        return None

    def _check_ips(
        self, ips: tuple[IPAddress, ...], request: AllocationRequest, label: str
    ) -> Assignment | Refusal:
        """Whether ``request`` may hold exactly ``ips`` (requested or kept); never mutates."""
        refusal = family_refusal(ips, request, label)
        if refusal is not None:
            return refusal
        if request.pool is not None and request.pool not in self._pools:
            return Refusal(f'address pool "{request.pool}" does not exist', "unknown-pool")
        pool: _Pool | None = None
        for ip in ips:
            placed = self._place_ip(ip, ips, pool, request, label)
            if isinstance(placed, Refusal):
                return placed
            pool = placed
        assert pool is not None
        order = {f: i for i, f in enumerate(request.families)}
        ordered = tuple(sorted(ips, key=lambda ip: (order.get(policy.family(ip), 9), ip.version)))
        return Assignment(ordered, pool.name)

    def _place_ip(
        self,
        ip: IPAddress,
        ips: tuple[IPAddress, ...],
        pool: _Pool | None,
        request: AllocationRequest,
        label: str,
    ) -> _Pool | Refusal:
        """The pool holding ``ip`` for ``request`` (``pool``: the one the Service's other IPs are in)."""
        found = self._locate(ip)
        if found is None:
            return Refusal(f"{label} {ip} is not in any pool", "not-in-pool")
        owner, index = found
        if request.pool is not None and owner.name != request.pool:
            return Refusal(
                f'{label} {ip} is not in pool "{request.pool}" (it is in pool "{owner.name}")',
                "not-in-pool",
            )
        if not index.holds(ip):
            return Refusal(
                f'{label} {ip} is avoided in pool "{owner.name}" (avoid-buggy-ips: no .0 or .255)',
                "not-in-pool",
            )
        if pool is not None and owner is not pool:
            return Refusal(
                f'{label}s {policy.ips_text(ips)} are in different pools ("{pool.name}", "{owner.name}");'
                " all IPs of a Service come from one pool",
                "invalid-request",
            )
        if pool is None:
            why = self._admission.refusal(owner, request)
            if why:
                return Refusal(
                    f'{label} {ip} is in pool "{owner.name}", which does not admit {request.key}: {why}',
                    "not-admitted",
                )
        conflict = self._conflict(ip, request)
        if conflict:
            return Refusal(conflict, "ip-in-use")
        return owner

    def _candidate_pools(
        self, request: AllocationRequest
    ) -> tuple[Sequence[_Pool], Sequence[_Pool]] | Refusal:
        """The pools to try in order, and the auto-assign pools that do not admit the request."""
        if request.pool is not None:
            pool = self._pools.get(request.pool)
            if pool is None:
                return Refusal(f'address pool "{request.pool}" does not exist', "unknown-pool")
            why = self._admission.refusal(pool, request)
            if why:
                return Refusal(
                    f'address pool "{pool.name}" does not admit {request.key}: {why}', "not-admitted"
                )
            return [pool], ()
        if not self._admission.auto_assign:
            return Refusal(
                "no address pool has auto-assign enabled; request a pool with the address-pool annotation",
                "no-ip-available",
            )
        pools, refused = self._admission.candidates(request)
        if not pools:
            return Refusal(
                f"no address pool admits {request.key}: {self._refused_text(refused, request)}",
                "not-admitted",
            )
        return pools, refused

    def _refused_text(self, refused: Sequence[_Pool], request: AllocationRequest) -> str:
        return "; ".join(f'pool "{p.name}": {self._admission.refusal(p, request)}' for p in refused)

    def _pick(self, pool: _Pool, family: Family, request: AllocationRequest) -> IPAddress | None:
        if request.sharing_key is not None:
            shared = self._by_sharing_key.get(request.sharing_key, {})
            for ip in sorted(shared, key=policy.ip_sort_key):
                if policy.family(ip) != family:
                    continue
                found = self._locate(ip)
                if found and found[0] is pool and self._conflict(ip, request) is None:
                    return ip
        for index in pool.ranges:
            if index.family != family:
                continue
            k = index.first_free()
            if k is not None:
                return index.ip_at(k)
        return None

    def _allocate_fresh(self, request: AllocationRequest) -> Assignment | Refusal:
        candidates = self._candidate_pools(request)
        if isinstance(candidates, Refusal):
            return candidates
        pools, refused = candidates
        result = self._allocate_from(pools, request)
        if isinstance(result, Refusal) and refused:
            text = self._refused_text(refused, request)
            return Refusal(f"{result.reason}; pools that do not admit {request.key}: {text}", result.code)
        return result

    def _allocate_from(self, pools: Sequence[_Pool], request: AllocationRequest) -> Assignment | Refusal:
        """The first free IPs of the shapes the request accepts, from ``pools`` in order."""
        shapes = wanted_families(request)
        offered: list[tuple[Family, ...]] = []
        for shape in shapes:
            for pool in pools:
                if not all(pool.has_family(f) for f in shape):
                    continue
                if shape not in offered:
                    offered.append(shape)
                picks: list[IPAddress] = []
                for family in shape:
                    ip = self._pick(pool, family, request)
                    if ip is None:
                        break
                    picks.append(ip)
                else:
                    return Assignment(tuple(picks), pool.name)
        names = ", ".join(f'"{p.name}"' for p in pools)
        where = f"pool {names}" if len(pools) == 1 else f"auto-assign pools {names}"
        if not offered:
            wanted = " or ".join(policy.families_text(s) for s in shapes)
            if len(pools) == 1:
                missing = policy.families_text(f for f in shapes[0] if not pools[0].has_family(f))
                return Refusal(
                    f"{where} has no {missing} addresses ({request.family_policy} Service needs {wanted})",
                    "no-ip-available",
                )
            return Refusal(f"none of the {where} has {wanted} addresses", "no-ip-available")
        if request.family_policy == "SingleStack" and not request.families:
            return Refusal(f"no available IPs in {where}", "no-ip-available")
        needed = " or ".join(policy.families_text(s) for s in offered)
        return Refusal(f"no available IPs in {where} (needs {needed})", "no-ip-available")

    def _hold(self, request: AllocationRequest, assignment: Assignment) -> None:
        self._assigned[request.key] = assignment
        self._requests[request.key] = request
        for ip in assignment.ips:
            holders = self._holders.get(ip)
            if holders is None:
                found = self._locate(ip)
                assert found is not None
                index = found[1]
                k = index.index_of(ip)
                assert k is not None
                index.take(k)
                self._holders[ip] = request
            elif isinstance(holders, AllocationRequest):
                self._holders[ip] = {holders.key: holders, request.key: request}
            else:
                holders[request.key] = request
            if request.sharing_key is not None:
                counts = self._by_sharing_key.setdefault(request.sharing_key, {})
                counts[ip] = counts.get(ip, 0) + 1

    def _unhold(self, key: str) -> Assignment | None:
        """Drop ``key``'s assignment, freeing IPs nobody else holds; returns what it held."""
        assignment = self._assigned.pop(key, None)
        if assignment is None:
            return None
        sharing = self._requests.pop(key).sharing_key
        for ip in assignment.ips:
            holders = self._holders[ip]
            if isinstance(holders, dict):
                del holders[key]
                if len(holders) == 1:
                    (self._holders[ip],) = holders.values()
            else:
                del self._holders[ip]
                found = self._locate(ip)
                assert found is not None
                k = found[1].index_of(ip)
                assert k is not None
                found[1].free(k)
            if sharing is not None:
                counts = self._by_sharing_key[sharing]
                counts[ip] -= 1
                if not counts[ip]:
                    del counts[ip]
                    if not counts:
                        del self._by_sharing_key[sharing]
        return assignment
