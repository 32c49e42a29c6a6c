"""Property (issue 15): no Service ever holds an IP of a pool that does not admit it.

Random pools with random service allocation (namespaces, namespace selectors,
Service selectors, priorities), random Services in a few namespaces with random
labels, and random operation sequences: Services created, changed (new labels),
deleted; the config changed; namespaces relabelled. After every operation, each
held IP's pool admits its Service under the labels in force *now*; a fresh
allocation comes from the first admitting pool in try order that had room; and a
refusal because no pool admits names every auto-assign pool.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironlb.allocator import AllocationRequest, Allocator, Assignment, Refusal
from ironlb.allocator.ranges import RangeIndex
from ironlb.config.model import (
    AddressPool,
    AddressRange,
    Config,
    LabelSelector,
    SelectorRequirement,
    ServiceAllocation,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMESPACES = ["a", "b", "c"]
KEYS = [f"{ns}/s{i}" for ns in NAMESPACES for i in range(3)]
NS_LABELS = [{}, {"tier": "prod"}, {"tier": "dev"}, {"team": "x"}, {"tier": "prod", "team": "x"}]
SVC_LABELS = [{}, {"app": "web"}, {"app": "api"}, {"app": "db"}]
NS_SELECTORS = [
    LabelSelector((("tier", "prod"),)),
    LabelSelector((), (SelectorRequirement("team", "Exists"),)),
    LabelSelector((("kubernetes.io/metadata.name", "c"),)),
]
SVC_SELECTORS = [
    LabelSelector((("app", "web"),)),
    LabelSelector((), (SelectorRequirement("app", "In", ("api", "db")),)),
    LabelSelector((), (SelectorRequirement("app", "NotIn", ("db",)),)),
]


def _range(pool: int, family: int, size: int) -> AddressRange:
    first: ipaddress.IPv4Address | ipaddress.IPv6Address = (
        ipaddress.IPv4Address(f"10.0.{pool}.0") if family == 4 else ipaddress.IPv6Address(f"fd00:{pool}::")
    )
    return AddressRange(first, type(first)(int(first) + size - 1))


@st.composite
def allocations(draw: st.DrawFn) -> ServiceAllocation | None:
    if draw(st.integers(0, 3)) == 0:
        return None
    return ServiceAllocation(
        priority=draw(st.none() | st.integers(0, 3)),
        namespaces=tuple(draw(st.lists(st.sampled_from(NAMESPACES), max_size=2, unique=True))),
        namespace_selectors=tuple(draw(st.lists(st.sampled_from(NS_SELECTORS), max_size=2, unique=True))),
        service_selectors=tuple(draw(st.lists(st.sampled_from(SVC_SELECTORS), max_size=2, unique=True))),
    )


@st.composite
def configs(draw: st.DrawFn) -> Config:
    pools = []
    for i in range(draw(st.integers(1, 4))):
        families = draw(st.sampled_from([(4,), (4,), (6,), (4, 6)]))
        pools.append(
            AddressPool(
                f"p{i}",
                tuple(_range(i, f, draw(st.integers(1, 3))) for f in families),
                auto_assign=draw(st.sampled_from([True, True, True, False])),
                avoid_buggy_ips=False,
                allocation=draw(allocations()),
            )
        )
    return Config(pools=tuple(pools))


@st.composite
def requests(draw: st.DrawFn) -> AllocationRequest:
    key = draw(st.sampled_from(KEYS))
    requested = ()
    if draw(st.integers(0, 5)) == 0:
        requested = (ipaddress.IPv4Address(f"10.0.{draw(st.integers(0, 3))}.{draw(st.integers(0, 2))}"),)
    return AllocationRequest(
        key=key,
        families=(4,) if requested else draw(st.sampled_from([(), (4,), (6,)])),
        requested_ips=requested,
        pool=draw(st.sampled_from([None] * 5 + ["p0", "p1"])),
        sharing_key=draw(st.sampled_from([None, None, "k"])),
        ports=frozenset({draw(st.sampled_from([("TCP", 80), ("TCP", 443)]))}),
        namespace=key.split("/")[0],
        service_labels=tuple(sorted(draw(st.sampled_from(SVC_LABELS)).items())),
    )


operations = st.lists(
    st.one_of(
        st.tuples(st.just("upsert"), requests()),
        st.tuples(st.just("upsert"), requests()),
        st.tuples(st.just("upsert"), requests()),
        st.tuples(st.just("delete"), st.sampled_from(KEYS)),
        st.tuples(st.just("config"), configs()),
        st.tuples(st.just("relabel"), st.tuples(st.sampled_from(NAMESPACES), st.sampled_from(NS_LABELS))),
    ),
    max_size=30,
)


def ns_pairs(namespace: str, labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"kubernetes.io/metadata.name": namespace, **labels}.items()))


class World:
    """The cluster as the controller sees it: the allocator, the live Services, the namespaces' labels."""

    def __init__(self) -> None:
        self.a = Allocator(Config())
        self.live: dict[str, AllocationRequest] = {}
        self.labels: dict[str, dict[str, str]] = {ns: {} for ns in NAMESPACES}

    def with_labels(self, request: AllocationRequest) -> AllocationRequest:
        ns = request.namespace_name
        return replace(request, namespace_labels=ns_pairs(ns, self.labels[ns]))

    def reassign(self, keys: list[str], previous: dict[str, Any]) -> None:
        """What the controller does after an invalidation: assign each again, its status as current IPs."""
        for key in sorted(keys):
            if key not in self.live:
                continue
            current = self.a.assignment(key)
            ips = current.ips if current else previous.get(key, ())
            self.live[key] = replace(self.with_labels(self.live[key]), current_ips=ips)
            self.a.assign(self.live[key])

    def upsert(self, request: AllocationRequest) -> None:
        current = self.a.assignment(request.key)
        request = replace(self.with_labels(request), current_ips=current.ips if current else ())
        room = self.free_by_pool(request)
        self.live[request.key] = request
        out = self.a.assign(request)
        self.check_fresh_choice(request, out, room)
        self.check_refusal_names_pools(request, out)

    def relabel(self, namespace: str, labels: dict[str, str]) -> None:
        self.labels[namespace] = dict(labels)
        broken = self.a.set_namespace_labels(namespace, ns_pairs(namespace, labels))
        for b in broken:
            assert self.a.assignment(b.key) is None and b.key.startswith(f"{namespace}/")
        self.check_invariant()  # before the controller assigns anything again
        keys = [k for k in self.live if k.startswith(f"{namespace}/")]
        self.reassign(keys, {b.key: b.ips for b in broken})

    def set_config(self, cfg: Config) -> None:
        broken = self.a.set_config(cfg)
        self.check_invariant()
        self.reassign(list(self.live), {b.key: b.ips for b in broken})

    # --- checks ---------------------------------------------------------------------------------

    def check_invariant(self) -> None:
        """Every held IP lies in a pool that admits its Service under the labels in force now."""
        for key, got in self.a.assignments().items():
            request = self.live[key]
            ns = request.namespace_name
            pool = self.a.config.pool(got.pool)
            assert pool is not None and all(pool.contains(ip) for ip in got.ips)
            why = pool.refusal(
                ns, {**self.labels[ns], "kubernetes.io/metadata.name": ns}, dict(request.service_labels)
            )
            assert why is None, (key, got, why)

    def free_by_pool(self, request: AllocationRequest) -> dict[str, int]:
        """Free addresses of the request's family per pool, before it is assigned."""
        family = request.families[0] if request.families else 4
        held = {ip for got in self.a.assignments().values() for ip in got.ips if ip.version == family}
        held -= set(request.current_ips)
        out = {}
        for p in self.a.config.pools:
            usable = sum(RangeIndex(r, p.avoid_buggy_ips).size for r in p.ranges if r.family == family)
            out[p.name] = usable - sum(1 for ip in held if p.contains(ip))
        return out

    def check_fresh_choice(
        self, request: AllocationRequest, out: Assignment | Refusal, room: dict[str, int]
    ) -> None:
        """A fresh single-family allocation comes from the first admitting pool in try order with room."""
        if request.pool or request.requested_ips or request.current_ips or request.sharing_key:
            return
        if not request.families:
            return
        ns = request.namespace_name
        autos = [(i, p) for i, p in enumerate(self.a.config.pools) if p.auto_assign]
        autos.sort(key=lambda e: (e[1].priority is None, e[1].priority or 0, e[0]))  # MetalLB's order
        admitting = [
            p
            for _, p in autos
            if p.refusal(ns, dict(request.namespace_labels), dict(request.service_labels)) is None
        ]
        first = next((p.name for p in admitting if room[p.name] > 0), None)
        if first is None:
            assert isinstance(out, Refusal), (request, out)
        else:
            assert isinstance(out, Assignment) and out.pool == first, (request, out, room)

    def check_refusal_names_pools(self, request: AllocationRequest, out: Assignment | Refusal) -> None:
        if not (
            isinstance(out, Refusal)
            and out.code == "not-admitted"
            and out.reason.startswith("no address pool")
        ):
            return
        for p in self.a.config.pools:
            if p.auto_assign:
                assert f'pool "{p.name}": ' in out.reason, (out, p)


@SETTINGS
@given(cfg=configs(), ops=operations)
def test_no_service_ever_holds_an_ip_of_a_pool_that_does_not_admit_it(
    cfg: Config, ops: list[tuple[str, Any]]
) -> None:
    world = World()
    world.set_config(cfg)
    for op, arg in ops:
        if op == "upsert":
            world.upsert(arg)
        elif op == "delete":
            world.live.pop(arg, None)
            world.a.release(arg)
        elif op == "config":
            world.set_config(arg)
        else:
            world.relabel(*arg)
        world.check_invariant()
