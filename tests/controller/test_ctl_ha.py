"""Controller processes against the real API server: one leads, the others write nothing; when the
leader is killed (SIGKILL) or stopped (SIGTERM) a standby takes over; no Service ever gets two
IPs; every change of holder is counted in the Lease; two processes with the same identity never
both lead. (A leader whose calls hang: ``test_ctl_hung_calls``, on the double.)"""

from __future__ import annotations

import json
import signal
import socket
import time
import urllib.request
from itertools import groupby

from tests.controller.conftest import POOLS, Env, lb
from tests.support.waiting import wait_for


def leader_metric(env: Env, name: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{env.ports[name]}/metrics", timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith("ironlb_leader_bool "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def reads_lease(env: Env, name: str) -> bool:
    return any(r.resource == "leases" and r.verb == "get" for r in env.requests(name))


def watches_lease(env: Env, name: str) -> bool:
    return any(r.resource == "leases" and r.verb == "watch" for r in env.requests(name))


def create_batch(env: Env, prefix: str, n: int = 10) -> list[str]:
    names = [f"{prefix}-{i}" for i in range(n)]
    env.create_many([lb(name, allocateLoadBalancerNodePorts=False) for name in names])
    return names


def writers(env: Env) -> list[str]:
    """Which controller wrote Services and Events, in order, one entry per run of writes."""
    users = [r.user.rpartition(":")[2] for r in env.writes() if r.resource in ("services", "events")]
    return [k for k, _ in groupby(users)]


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
    assert env.writes("ctl-b") == []  # the standby wrote nothing at all
    assert env.lease_holder() == "ctl-a" and env.lease()["leaseTransitions"] == 0

    a.send_signal(signal.SIGKILL)
    a.wait(10)
    wait_for(lambda: env.lease_holder() == "ctl-b", 60, "ctl-b takes over after SIGKILL")
    assert env.lease()["leaseTransitions"] == 1
    more = create_batch(env, "two")
    wait_for(lambda: all(env.ips(n) for n in names + more), 60, "assigned by the new leader")

    c = env.spawn("ctl-c", "--log-format", "json")
    wait_for(lambda: reads_lease(env, "ctl-c"), 60, "ctl-c running as a standby")
    b.send_signal(signal.SIGTERM)
    assert b.wait(30) == 0
    assert "released by ctl-b" in env.log_of("ctl-b")
    wait_for(lambda: env.lease_holder() == "ctl-c", 60, "ctl-c takes over after SIGTERM")
    assert env.lease()["leaseTransitions"] == 2  # a graceful handover is a change of holder too
    last = create_batch(env, "three")
    wait_for(lambda: all(env.ips(n) for n in names + more + last), 60, "assigned by the third leader")
    c.send_signal(signal.SIGTERM)
    assert c.wait(30) == 0
    records = [json.loads(line) for line in env.log_of("ctl-c").splitlines()]
    assert any(r["msg"] == f"lease {env.ns}/ironlb-controller: ctl-c is now the leader" for r in records)

    # Never two writers at once: Service and Event writes come in one block per leader, in order.
    assert writers(env) == ["ctl-a", "ctl-b", "ctl-c"]
    # No Service ever had two different IPs written, and no IP went to two Services.
    history = env.ingress_history()
    assert all(len(v) == 1 for v in history.values()), history
    final = [ips for ips in env.all_ips().values() if ips]
    assert len(final) == len(set(final)) == 30


def test_sigterm_hands_over_at_once_not_at_the_standby_retry(env: Env) -> None:
    """Retry period 60 s, every wait well below it: only the standby's Lease watch can pass this.
    Both run with the default identity: the host name and a UUID, unique per process."""
    slow = ("--lease-duration", "180", "--renew-deadline", "120", "--retry-period", "60")
    env.set_config(POOLS)
    a = env.spawn("ctl-a", *slow, identity="")
    first = wait_for(env.lease_holder, 30, "ctl-a leads")
    assert first.startswith(socket.gethostname() + "_")
    b = env.spawn("ctl-b", *slow, identity="")
    wait_for(
        lambda: reads_lease(env, "ctl-b") and watches_lease(env, "ctl-b"), 30, "ctl-b a watching standby"
    )
    names = create_batch(env, "before", 3)
    wait_for(lambda: all(env.ips(n) for n in names), 30, "assigned by ctl-a")

    a.send_signal(signal.SIGTERM)
    assert a.wait(30) == 0
    second = wait_for(lambda: env.lease_holder() not in ("", first) and env.lease_holder(), 20, "ctl-b leads")
    assert second.startswith(socket.gethostname() + "_")  # same host, another process, another identity
    more = create_batch(env, "after", 3)
    wait_for(lambda: all(env.ips(n) for n in more), 20, "assigned by ctl-b")
    assert writers(env) == ["ctl-a", "ctl-b"]
    assert b.poll() is None


def test_two_processes_with_the_same_identity_never_both_lead(env: Env) -> None:
    """The same ``--identity`` given to two replicas: one leads, the other stays a standby that
    writes nothing, and stopping it does not release the leader's Lease."""
    env.set_config(POOLS)
    env.spawn("ctl-a", identity="twin")
    wait_for(lambda: env.lease_holder() == "twin" and leader_metric(env, "ctl-a") == 1.0, 60, "ctl-a leads")
    acquired = env.lease()["acquireTime"]
    b = env.spawn("ctl-b", identity="twin")
    wait_for(lambda: leader_metric(env, "ctl-b") == 0.0, 60, "ctl-b a standby")
    names = create_batch(env, "one", 5)
    wait_for(lambda: all(env.ips(n) for n in names), 60, "assigned by ctl-a")
    deadline = time.monotonic() + 4.0  # more than a lease duration
    while time.monotonic() < deadline:
        assert (leader_metric(env, "ctl-a"), leader_metric(env, "ctl-b")) == (1.0, 0.0)
        time.sleep(0.2)
    assert env.writes("ctl-b") == []  # not a Lease write, not a Service write, no 409 fight
    b.send_signal(signal.SIGTERM)
    assert b.wait(30) == 0
    assert env.lease()["acquireTime"] == acquired and env.lease_holder() == "twin"
    assert leader_metric(env, "ctl-a") == 1.0
    assert "released" not in env.log_of("ctl-b")
    assert writers(env) == ["ctl-a"]
