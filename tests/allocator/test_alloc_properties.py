"""Property tests: allocator invariants over random configs and random operation sequences.

Invariants (issue 2): no IP is held by two Services unless the sharing rules
allow it; every IP lies in a pool the Service may use; re-running from the
produced statuses changes nothing; deleting a Service frees its IP; results are
deterministic. Plus: the range index agrees with a plain set, and a refusal for
lack of addresses means the candidate pools really are full.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import replace
from itertools import combinations, pairwise
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ironlb.allocator import (
    AllocationRequest,
    Allocator,
    Assignment,
    FamilyPolicy,
    Refusal,
    allocate_all,
    sharing_conflict,
    wanted_families,
)
from ironlb.allocator.ranges import RangeIndex, is_buggy
from ironlb.config.model import AddressPool, AddressRange, Config, Family, IPAddress
from ironlb.kube_types import Service
from tests.allocator.builders import service

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = [f"ns/s{i}" for i in range(7)]
POOL_NAMES = ["p0", "p1", "p2"]
PORTS = [("TCP", 80), ("TCP", 443), ("UDP", 53)]


# --- strategies --------------------------------------------------------------------------------


def _range(family: int, pool_i: int, range_j: int, length: int) -> AddressRange:
    if family == 4:
        # starts at .252 so that ranges cross .255/.0 and avoid-buggy-ips matters
        first: IPAddress = ipaddress.IPv4Address(f"10.{pool_i}.{range_j * 2}.252")
    else:
        first = ipaddress.IPv6Address(f"fd00:{pool_i}:{range_j}::fffe")
    last = type(first)(int(first) + length - 1)
    return AddressRange(first, last, f"{first}-{last}")


@st.composite
def configs(draw: st.DrawFn) -> Config:
    n_pools = draw(st.integers(1, 3))
    pools = []
    for i in range(n_pools):
        n_ranges = draw(st.integers(1, 2))
        ranges = tuple(
            _range(draw(st.sampled_from([4, 6])), i, j, draw(st.integers(1, 6))) for j in range(n_ranges)
        )
        pools.append(
            AddressPool(
                name=draw(st.sampled_from(POOL_NAMES[i:])) if i == n_pools - 1 else POOL_NAMES[i],
                ranges=ranges,
                auto_assign=draw(st.sampled_from([True, True, False])),
                avoid_buggy_ips=draw(st.booleans()),
            )
        )
    return Config(pools=tuple(pools))


def _candidate_ips() -> list[IPAddress]:
    out: list[IPAddress] = []
    for i in range(3):
        for j in range(2):
            for family in (4, 6):
                r = _range(family, i, j, 6)
                out.extend(type(r.first)(int(r.first) + k) for k in range(3))
    out.append(ipaddress.ip_address("192.0.2.1"))
    return out


CANDIDATES = _candidate_ips()


@st.composite
def requests(draw: st.DrawFn, key: str | None = None) -> AllocationRequest:
    requested: tuple[IPAddress, ...] = ()
    family_choices: list[tuple[Family, ...]] = [(), (4,), (6,), (4, 6), (6, 4)]
    policy_choices: list[FamilyPolicy] = ["SingleStack", "SingleStack", "PreferDualStack", "RequireDualStack"]
    families = draw(st.sampled_from(family_choices))
    policy = draw(st.sampled_from(policy_choices))
    if draw(st.integers(0, 2)) == 0:
        if draw(st.integers(0, 3)) == 0:  # anything, often malformed
            requested = tuple(
                dict.fromkeys(draw(st.lists(st.sampled_from(CANDIDATES), min_size=1, max_size=2)))
            )
        else:  # one IP that fits the policy, as users mostly write
            requested = (draw(st.sampled_from(CANDIDATES)),)
            families = (4 if requested[0].version == 4 else 6,)
            policy = "SingleStack"
    return AllocationRequest(
        key=key or draw(st.sampled_from(KEYS)),
        families=families,
        family_policy=policy,
        requested_ips=requested,
        pool=draw(st.sampled_from([None] * 6 + ["p0", "p1", "missing"])),
        sharing_key=draw(st.sampled_from([None, "k1", "k1", "k1", "k2"])),
        ports=frozenset(draw(st.lists(st.sampled_from(PORTS), min_size=1, max_size=2))),
        backend_key=draw(st.sampled_from(["Cluster"] * 4 + ["Local {}"])),
    )


operations = st.lists(
    st.one_of(
        st.tuples(st.just("upsert"), requests()),
        st.tuples(st.just("upsert"), requests()),
        st.tuples(st.just("upsert"), requests()),
        st.tuples(st.just("delete"), st.sampled_from(KEYS)),
        st.tuples(st.just("config"), configs()),
    ),
    max_size=30,
)


# --- invariants --------------------------------------------------------------------------------


def check_invariants(a: Allocator, live: dict[str, AllocationRequest]) -> None:
    cfg = a.config
    assignments = a.assignments()
    assert set(assignments) <= set(live)
    held_by_ip: dict[IPAddress, list[str]] = {}
    for key, got in assignments.items():
        request = live[key]
        pool = cfg.pool(got.pool)
        assert pool is not None, (key, got)
        if request.pool is not None:
            assert got.pool == request.pool
        for ip in got.ips:
            assert pool.contains(ip), (key, ip, pool)
            assert not (pool.avoid_buggy_ips and is_buggy(ip))
            held_by_ip.setdefault(ip, []).append(key)
        assert any({f for f in shape} == {ip.version for ip in got.ips} for shape in wanted_families(request))
        assert len({ip.version for ip in got.ips}) == len(got.ips)
        if request.requested_ips:
            assert set(got.ips) == set(request.requested_ips)
    for ip, keys in held_by_ip.items():
        assert a.holders(ip) == tuple(sorted(keys))
        for k1, k2 in combinations(keys, 2):
            assert sharing_conflict(live[k1], live[k2]) is None, (ip, k1, k2)
    for p in cfg.pools:
        assert a.in_use(p.name) == sum(1 for ip in held_by_ip if p.contains(ip))


def check_refusal_is_honest(a: Allocator, request: AllocationRequest, out: Assignment | Refusal) -> None:
    """A plain single-stack request refused for lack of addresses really had none free."""
    if not (
        isinstance(out, Refusal)
        and out.code == "no-ip-available"
        and request.family_policy == "SingleStack"
        and request.families
        and not request.requested_ips
        and not request.current_ips
    ):
        return
    family = request.families[0]
    held = {ip for got in a.assignments().values() for ip in got.ips if ip.version == family}
    for p in a.config.pools:
        if (request.pool == p.name or (request.pool is None and p.auto_assign)) and family in p.families:
            usable = sum(RangeIndex(r, p.avoid_buggy_ips).size for r in p.ranges if r.family == family)
            assert sum(1 for ip in held if p.contains(ip)) == usable, (p, out)


def run_sequence(ops: list[tuple[str, Any]]) -> tuple[Allocator, dict[str, AllocationRequest], list[Any]]:
    a = Allocator(Config())
    live: dict[str, AllocationRequest] = {}
    trace: list[Any] = []
    for op, arg in ops:
        if op == "upsert":
            current = a.assignment(arg.key)
            request = replace(arg, current_ips=current.ips if current else ())
            live[arg.key] = request
            out = a.assign(request)
            trace.append(out)
            check_refusal_is_honest(a, request, out)
            if isinstance(out, Assignment) and not (
                request.pool or request.requested_ips or request.current_ips
            ):
                chosen = a.config.pool(out.pool)
                assert chosen is not None and chosen.auto_assign, (request, out)
        elif op == "delete":
            before = a.assignment(arg)
            live.pop(arg, None)
            released = a.release(arg)
            assert released == before
            assert a.assignment(arg) is None
            for ip in released.ips if released else ():
                assert arg not in a.holders(ip)
            trace.append(released)
        else:
            broken = a.set_config(arg)
            trace.append(broken)
            for b in broken:
                assert a.assignment(b.key) is None
            # the controller then reprocesses every Service, statuses as current IPs
            for key in sorted(live):
                current = a.assignment(key)
                previous = next((b.ips for b in broken if b.key == key), None)
                ips = current.ips if current else (previous or ())
                live[key] = replace(live[key], current_ips=ips)
                trace.append(a.assign(live[key]))
        check_invariants(a, live)
    return a, live, trace


# --- properties --------------------------------------------------------------------------------


@SETTINGS
@given(cfg=configs(), ops=operations)
def test_operation_sequences_keep_invariants(cfg: Config, ops: list[tuple[str, Any]]) -> None:
    a, live, trace = run_sequence([("config", cfg), *ops])
    # deterministic: replaying gives the same answers
    assert run_sequence([("config", cfg), *ops])[2] == trace
    # re-running from the produced statuses (a restarted controller) changes nothing, in any order
    statuses = {key: got.ips for key, got in a.assignments().items()}
    restarted = Allocator(a.config)
    order = sorted(statuses)
    random.Random(len(ops)).shuffle(order)
    for key in order:
        adopted = restarted.adopt(replace(live[key], current_ips=statuses[key]))
        assert isinstance(adopted, Assignment) and adopted.ips == statuses[key]
    assert {k: (g.ips, g.pool) for k, g in restarted.assignments().items()} == {
        k: (g.ips, g.pool) for k, g in a.assignments().items()
    }


@st.composite
def sharing_requests(draw: st.DrawFn) -> AllocationRequest:
    """Requests that often may share: one small pool, two keys, single ports, mostly eTP Cluster."""
    return AllocationRequest(
        key=draw(st.sampled_from(KEYS)),
        families=(4,),
        requested_ips=(ipaddress.IPv4Address("10.0.0.252"),) if draw(st.integers(0, 5)) == 0 else (),
        sharing_key=draw(st.sampled_from(["k1", "k1", "k2", None])),
        ports=frozenset({draw(st.sampled_from([*PORTS, ("TCP", 8080)]))}),
        backend_key=draw(st.sampled_from(["Cluster"] * 4 + ["Local {}"])),
    )


SHARING_CONFIG = Config(pools=(AddressPool("p0", (_range(4, 0, 0, 3),)),))


@SETTINGS
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("upsert"), sharing_requests()),
            st.tuples(st.just("upsert"), sharing_requests()),
            st.tuples(st.just("delete"), st.sampled_from(KEYS)),
        ),
        max_size=25,
    )
)
def test_sharing_sequences_keep_invariants(ops: list[tuple[str, Any]]) -> None:
    a, _, trace = run_sequence([("config", SHARING_CONFIG), *ops])
    held = [ip for got in a.assignments().values() for ip in got.ips]
    event(f"IPs shared at the end: {len(held) - len(set(held))}")
    assert run_sequence([("config", SHARING_CONFIG), *ops])[2] == trace


@SETTINGS
@given(ops=st.lists(sharing_requests(), max_size=25))
def test_a_new_service_joins_a_compatible_shared_ip_first(ops: list[AllocationRequest]) -> None:
    a = Allocator(SHARING_CONFIG)
    live: dict[str, AllocationRequest] = {}
    for request in ops:
        if request.requested_ips or a.assignment(request.key) is not None:
            continue
        compatible = sorted(
            (
                ip
                for ip in {ip for got in a.assignments().values() for ip in got.ips}
                if all(sharing_conflict(request, live[k]) is None for k in a.holders(ip))
            ),
            key=int,
        )
        out = a.assign(request)
        live[request.key] = request
        if compatible:
            event("joined a shared IP")
            assert isinstance(out, Assignment) and out.ips == (compatible[0],)
        elif isinstance(out, Assignment):
            assert a.holders(out.ips[0]) == (request.key,)
        check_invariants(a, live)


@SETTINGS
@given(cfg=configs(), reqs=st.lists(requests(), max_size=12))
def test_deleting_frees_the_ip(cfg: Config, reqs: list[AllocationRequest]) -> None:
    a = Allocator(cfg)
    for request in reqs:
        a.assign(request)
    for key, got in sorted(a.assignments().items()):
        others = [k for k, g in a.assignments().items() if k != key and set(g.ips) & set(got.ips)]
        before = {p.name: a.in_use(p.name) for p in cfg.pools}
        a.release(key)
        if not others:
            assert a.in_use(got.pool) == before[got.pool] - len(got.ips)
            # the freed addresses are allocatable again, by anyone
            for ip in got.ips:
                taker = AllocationRequest(
                    key="ns/taker", families=(4 if ip.version == 4 else 6,), requested_ips=(ip,)
                )
                assert isinstance(a.assign(taker), Assignment)
                a.release("ns/taker")


def _services(draw: st.DrawFn) -> list[Service]:
    out = []
    for i in range(draw(st.integers(0, 10))):
        annotations: dict[str, str] = {}
        if draw(st.booleans()):
            annotations["ironlb.io/allow-shared-ip"] = draw(st.sampled_from(["k1", "k2"]))
        if draw(st.integers(0, 4)) == 0:
            annotations["ironlb.io/address-pool"] = draw(st.sampled_from(POOL_NAMES))
        spec: dict[str, Any] = {
            "ports": [{"port": p, "protocol": proto} for proto, p in draw(st.sets(st.sampled_from(PORTS)))],
            "ipFamilyPolicy": draw(st.sampled_from(["SingleStack", "PreferDualStack", "RequireDualStack"])),
        }
        if draw(st.integers(0, 4)) == 0:
            spec["loadBalancerIP"] = str(draw(st.sampled_from(CANDIDATES)))
        ingress = tuple(str(ip) for ip in draw(st.lists(st.sampled_from(CANDIDATES), max_size=2)))
        out.append(
            service(
                f"s{i}",
                draw(st.sampled_from(["a", "b"])),
                annotations=annotations,
                spec=spec,
                ingress=ingress,
            )
        )
    return out


services_strategy = st.composite(_services)()


@SETTINGS
@given(cfg=configs(), services=services_strategy, seed=st.integers(0, 1000))
def test_plan_is_deterministic_and_stable_from_its_own_statuses(
    cfg: Config, services: list[Service], seed: int
) -> None:
    first = allocate_all(cfg, services)
    shuffled = list(services)
    random.Random(seed).shuffle(shuffled)
    assert allocate_all(cfg, shuffled) == first
    # write the statuses the controller would write, and plan again: nothing moves
    by_key = {r.key: r for r in first}
    written: list[Service] = []
    for s in services:
        new: dict[str, Any] = {**s, "status": {"loadBalancer": {"ingress": []}}}
        result = by_key[f"{s['metadata']['namespace']}/{s['metadata']['name']}"]
        new["status"]["loadBalancer"]["ingress"] = [{"ip": str(ip)} for ip in result.ips]
        written.append(new)  # type: ignore[arg-type]
    again = allocate_all(cfg, written)
    assert [(r.key, r.ips, r.pool) for r in again] == [(r.key, r.ips, r.pool) for r in first]
    assert all(r.note is None for r in again)


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(0, 2**32 - 600),
    length=st.integers(1, 600),
    avoid=st.booleans(),
    ops=st.lists(st.integers(0, 599), max_size=80),
)
def test_range_index_agrees_with_a_set(start: int, length: int, avoid: bool, ops: list[int]) -> None:
    first = ipaddress.IPv4Address(start)
    last = ipaddress.IPv4Address(start + length - 1)
    index = RangeIndex(AddressRange(first, last), avoid)
    usable = [
        ipaddress.IPv4Address(x) for x in range(start, start + length) if not (avoid and x % 256 in (0, 255))
    ]
    assert index.size == len(usable)
    for k, ip in enumerate(usable):
        assert index.index_of(ip) == k and index.ip_at(k) == ip
    taken: set[int] = set()
    for op in ops:
        if not usable:
            break
        k = op % len(usable)
        if k in taken:
            index.free(k)
            taken.discard(k)
        else:
            index.take(k)
            taken.add(k)
        free = [i for i in range(len(usable)) if i not in taken]
        assert index.first_free() == (free[0] if free else None)
        assert index.used == len(taken)
        runs = index.runs()
        assert sorted(i for s, e in runs for i in range(s, e + 1)) == sorted(taken)
        assert all(e1 + 1 < s2 for (_, e1), (s2, _) in pairwise(runs))  # maximal
