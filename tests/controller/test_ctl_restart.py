"""A restart changes no IP; dropped watches and 410 relists lose and duplicate no work."""

from __future__ import annotations

from collections import Counter

from tests.kubeapi import by_plural

from .conftest import POOLS, Env, lb, wait_for

N = 1000


def status_patches(env: Env, user: str) -> Counter[str]:
    return Counter(
        r.name or ""
        for r in env.server.requests()
        if r.verb == "patch" and r.subresource == "status" and r.code == 200 and r.user == user
    )


def test_restart_with_1000_assigned_services_changes_no_ip(env: Env) -> None:
    env.set_config(POOLS)
    env.seed([lb(f"s{i:04d}", ns=f"ns{i % 7}", allocateLoadBalancerNodePorts=False) for i in range(N)])
    first = env.controller("ctl-a")
    wait_for(first.settled, 120, "first controller idle")
    before = env.all_ips()
    assert len({ips for ips in before.values()}) == N  # all distinct
    env.stop(first)

    # While no controller runs: one Service is created (pending) and one loses its Service.
    env.create(lb("late", allocateLoadBalancerNodePorts=False))
    env.core.delete_namespaced_service("s0003", "ns3")
    freed = before.pop("ns3/s0003")
    env.server.clear_requests()

    second = env.controller("ctl-b")
    wait_for(second.settled, 60, "second controller idle")
    after = env.all_ips()
    late = after.pop("default/late")
    assert after == before  # zero IP changes
    # The pending one was allocated only after every existing assignment was adopted:
    # it got the lowest free address, the one the deleted Service held, not anyone else's.
    assert late == freed
    assert status_patches(env, "ctl-b") == Counter({"late": 1})
    assert all(r.name == "late" for r in env.writes("ctl-b") if r.resource == "services")


def test_dropped_watches_and_410_relists_lose_and_duplicate_nothing(env: Env) -> None:
    env.set_config(POOLS)
    ctl = env.controller()
    src = ctl.source.services
    names: list[str] = []

    def batch(prefix: str, n: int = 20) -> None:
        for i in range(n):
            name = f"{prefix}-{i}"
            env.create(lb(name, allocateLoadBalancerNodePorts=False))
            names.append(name)

    batch("a")
    (freed,) = wait_for(lambda: env.ips("a-0"), what="a-0 assigned")
    env.server.drop_watches()  # cut mid-stream: the informer resumes from its resourceVersion
    wait_for(lambda: src.watches >= 2, what="watch resumed")
    batch("b")
    # An outage during which Services come and go and the history is compacted:
    # the informer's resume point is gone, so it gets 410 and lists again.
    env.server.begin_outage("refuse")
    try:
        c = [lb(f"c-{i}", allocateLoadBalancerNodePorts=False) for i in range(20)]
        env.seed(c)
        names.extend(f"c-{i}" for i in range(20))
        env.server.store.delete(by_plural("services"), "default", "a-0")
        names.remove("a-0")
        env.server.compact()
    finally:
        env.server.end_outage()
    wait_for(lambda: src.lists >= 2, what="relisted after 410")

    def expire() -> bool:
        env.server.expire_watches()  # ERROR 410 Gone inside the stream (once a watch is open)
        return src.lists >= 3

    wait_for(expire, what="relisted after an expired watch")
    batch("d")
    wait_for(lambda: all(env.ips(n) for n in names), 60, "every Service assigned")
    wait_for(ctl.settled, 30, "idle")

    patches = status_patches(env, "ctl-a")
    # a-0 was assigned before its deletion; every other Service exactly once.
    assert {n: c for n, c in patches.items() if n != "a-0"} == dict.fromkeys(names, 1)
    ips = [tuple(env.ips(n)) for n in names]
    assert len(set(ips)) == len(ips)
    # a-0's deletion during the outage was not lost: its IP (the lowest) was freed and handed
    # to one of the Services created after it (allocation takes the lowest free address).
    assert sum(1 for ip in ips if ip == (freed,)) == 1
    assert all(len(v) == 1 for v in env.ingress_history().values())
