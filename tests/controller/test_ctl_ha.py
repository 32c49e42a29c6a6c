"""Two controller processes against one API: one leads, the other writes nothing; when the leader
is killed (SIGKILL) or stopped (SIGTERM) the standby takes over; no Service ever gets two IPs."""

from __future__ import annotations

import json
import signal
import urllib.request
from itertools import groupby

from .conftest import POOLS, Env, lb, wait_for

WRITES = ("create", "update", "patch", "delete")


def leader_metric(env: Env, token: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{env.ports[token]}/metrics", timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith("ironlb_leader_bool "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def reads_lease(env: Env, token: str) -> bool:
    return any(r.resource == "leases" and r.verb == "get" and r.user == token for r in env.server.requests())


def create_batch(env: Env, prefix: str, n: int = 10) -> list[str]:
    names = [f"{prefix}-{i}" for i in range(n)]
    for name in names:
        env.create(lb(name, allocateLoadBalancerNodePorts=False))
    return names


def test_one_leader_standby_idle_and_takeover_after_sigkill_and_sigterm(env: Env) -> None:
    env.set_config(POOLS)
    a = env.spawn("ctl-a")
    wait_for(lambda: env.lease_holder() == "ctl-a", 60, "ctl-a leads")
    b = env.spawn("ctl-b")
    wait_for(lambda: reads_lease(env, "ctl-b"), 60, "ctl-b running as a standby")
    wait_for(lambda: leader_metric(env, "ctl-b") == 0.0, 60, "standby reports ironlb_leader_bool 0")
    assert leader_metric(env, "ctl-a") == 1.0

    names = create_batch(env, "one")
    wait_for(lambda: all(env.ips(n) for n in names), 60, "assigned by the leader")
    assert [r for r in env.writes("ctl-b")] == []  # the standby wrote nothing at all
    assert env.lease_holder() == "ctl-a"

    a.send_signal(signal.SIGKILL)
    a.wait(10)
    wait_for(lambda: env.lease_holder() == "ctl-b", 60, "ctl-b takes over after SIGKILL")
    more = create_batch(env, "two")
    wait_for(lambda: all(env.ips(n) for n in names + more), 60, "assigned by the new leader")

    c = env.spawn("ctl-c", "--log-format", "json")
    wait_for(lambda: reads_lease(env, "ctl-c"), 60, "ctl-c running as a standby")
    b.send_signal(signal.SIGTERM)
    assert b.wait(30) == 0
    assert "released by ctl-b" in env.log_of("ctl-b")
    wait_for(lambda: env.lease_holder() == "ctl-c", 60, "ctl-c takes over after SIGTERM")
    last = create_batch(env, "three")
    wait_for(lambda: all(env.ips(n) for n in names + more + last), 60, "assigned by the third leader")
    c.send_signal(signal.SIGTERM)
    assert c.wait(30) == 0
    records = [json.loads(line) for line in env.log_of("ctl-c").splitlines()]
    assert any(r["msg"] == "lease ironlb-system/ironlb-controller: ctl-c is now the leader" for r in records)

    # Never two writers at once: Service and Event writes come in one block per leader, in order.
    writers = [
        r.user
        for r in env.server.requests()
        if r.verb in WRITES and r.resource in ("services", "events") and r.user != "test"
    ]
    assert [k for k, _ in groupby(writers)] == ["ctl-a", "ctl-b", "ctl-c"]
    # No Service ever had two different IPs written, and no IP went to two Services.
    history = env.ingress_history()
    assert all(len(v) == 1 for v in history.values()), history
    final = [ips for ips in env.all_ips().values() if ips]
    assert len(final) == len(set(final)) == 30


def watches_lease(env: Env, token: str) -> bool:
    return any(
        r.resource == "leases" and r.verb == "watch" and r.user == token for r in env.server.requests()
    )


def test_sigterm_hands_over_at_once_not_at_the_standby_retry(env: Env) -> None:
    """Retry period 60 s, every wait well below it: only the standby's Lease watch can pass this."""
    slow = ("--lease-duration", "180", "--renew-deadline", "120", "--retry-period", "60")
    env.set_config(POOLS)
    a = env.spawn("ctl-a", *slow)
    wait_for(lambda: env.lease_holder() == "ctl-a", 30, "ctl-a leads")
    b = env.spawn("ctl-b", *slow)
    wait_for(
        lambda: reads_lease(env, "ctl-b") and watches_lease(env, "ctl-b"), 30, "ctl-b a watching standby"
    )
    names = create_batch(env, "before", 3)
    wait_for(lambda: all(env.ips(n) for n in names), 30, "assigned by ctl-a")

    a.send_signal(signal.SIGTERM)
    assert a.wait(30) == 0
    wait_for(lambda: env.lease_holder() == "ctl-b", 20, "ctl-b takes the released Lease")
    more = create_batch(env, "after", 3)
    wait_for(lambda: all(env.ips(n) for n in more), 20, "assigned by ctl-b")
    writers = [
        r.user
        for r in env.server.requests()
        if r.verb in WRITES and r.resource in ("services", "events") and r.user != "test"
    ]
    assert [k for k, _ in groupby(writers)] == ["ctl-a", "ctl-b"]
    assert b.poll() is None
