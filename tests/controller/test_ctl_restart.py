"""On the real API server: a restart of the controller changes no IP; cut watches and the 410
relists after an API server restart lose and duplicate no work."""

from __future__ import annotations

import time
from collections import Counter

from tests.controller.conftest import POOLS, Env, lb
from tests.support.waiting import wait_for

N = 400


def status_patches(env: Env, name: str, since: float = 0.0) -> Counter[str]:
    return Counter(r.name or "" for r in env.status_writes(name) if r.code == 200 and r.at >= since)


def test_restart_with_assigned_services_changes_no_ip(env: Env) -> None:
    env.set_config(POOLS)
    env.create_many([lb(f"s{i:04d}", allocateLoadBalancerNodePorts=False) for i in range(N)])
    first = env.controller("ctl-a")
    wait_for(lambda: first.settled() and all(env.all_ips().values()), 120, "first controller done")
    before = env.all_ips()
    assert len(set(before.values())) == N  # all distinct
    env.stop(first)

    # While no controller runs: one Service is created (pending) and one loses its Service.
    env.create(lb("late", allocateLoadBalancerNodePorts=False))
    env.core.delete_namespaced_service("s0003", env.ns)
    freed = before.pop("s0003")
    since = time.time()

    second = env.controller("ctl-b")
    wait_for(lambda: second.settled() and env.ips("late"), 60, "second controller done")
    after = env.all_ips()
    late = after.pop("late")
    assert after == before  # zero IP changes
    # The pending one was allocated only after every existing assignment was adopted:
    # it got the lowest free address, the one the deleted Service held, not anyone else's.
    assert late == freed
    assert status_patches(env, "ctl-b", since) == Counter({"late": 1})
    assert all(r.name == "late" for r in env.writes("ctl-b") if r.resource == "services")


def test_cut_watches_and_410_relists_after_an_api_server_restart_lose_and_duplicate_nothing(
    env: Env,
) -> None:
    env.set_config(POOLS)
    ctl = env.controller(lease_duration=15.0, renew_deadline=10.0, retry_period=2.0)
    src = ctl.source.services
    names: list[str] = []

    def batch(prefix: str, n: int = 20) -> None:
        bodies = [lb(f"{prefix}-{i}", allocateLoadBalancerNodePorts=False) for i in range(n)]
        env.create_many(bodies)
        names.extend(b["metadata"]["name"] for b in bodies)

    batch("a")
    (freed,) = wait_for(lambda: env.ips("a-0"), what="a-0 assigned")
    src.drop_connection()  # cut mid-stream: the informer resumes from its resourceVersion
    wait_for(lambda: src.watches >= 2, what="watch resumed")
    batch("b")
    # The API server restarts: its new watch cache does not know the informer's resourceVersion,
    # so the watch gets 410 Gone and the informer lists again. Changes made meanwhile are
    # seen through that list or the watch after it, never twice, never lost.
    lists = src.lists
    env.kube.cp.restart_apiserver()
    batch("c")
    env.core.delete_namespaced_service("a-0", env.ns)
    names.remove("a-0")
    wait_for(lambda: src.lists > lists, 30, "relisted after 410")
    batch("d")
    wait_for(lambda: all(env.ips(n) for n in names), 60, "every Service assigned")
    wait_for(ctl.settled, 30, "idle")

    patches = status_patches(env, "ctl-a")
    # a-0 was assigned before its deletion; every other Service exactly once.
    assert {n: c for n, c in patches.items() if n != "a-0"} == dict.fromkeys(names, 1)
    ips = [tuple(env.ips(n)) for n in names]
    assert len(set(ips)) == len(ips)
    # a-0's deletion was not lost: its IP (the lowest) was freed and handed to one of the
    # Services created after it (allocation takes the lowest free address).
    assert sum(1 for ip in ips if ip == (freed,)) == 1
    assert all(len(v) == 1 for v in env.ingress_history().values())
