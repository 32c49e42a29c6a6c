"""Two controller processes against one API: one leads, the other writes nothing; when the leader
is killed (SIGKILL) or stopped (SIGTERM) the standby takes over; no Service ever gets two IPs."""

from __future__ import annotations

import json
import signal
import urllib.request
from itertools import groupby
from typing import Any

from tests.waiting import returns_within

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


# -- the leader's API calls hang (accepted, never answered) --------------------------------
# Lease of 3 s, renew deadline 1 s: the old leader must have stopped writing 2 s before the
# standby may take over. In-process controllers, each with its own token, so the double's
# log tells their requests apart.
HANG = {"lease_duration": 3.0, "renew_deadline": 1.0, "retry_period": 0.2}


def status_patches(env: Env, user: str) -> list[Any]:
    return [
        r
        for r in env.server.requests()
        if r.user == user and r.verb == "patch" and r.rbac_resource == "services/status"
    ]


def test_leader_with_hung_lease_writes_stops_writing_before_the_standby_starts(env: Env) -> None:
    env.set_config(POOLS)
    a = env.controller("ctl-a", **HANG)
    wait_for(a.settled, 20, "ctl-a leads")
    b = env.controller("ctl-b", **HANG)
    wait_for(lambda: reads_lease(env, "ctl-b"), 20, "ctl-b running as a standby")
    names = create_batch(env, "before", 3)
    wait_for(lambda: all(env.ips(n) for n in names), 20, "assigned by ctl-a")

    try:
        # ctl-a's next status write is caught in flight: accepted by the server, never answered...
        env.server.hang("patch", "services/status", user="ctl-a", name="caught")
        env.create(lb("caught"))
        assert env.server.wait_hung(1, 20), "ctl-a's status patch of 'caught' is held"
        # ...and then its Lease renewals hang as well.
        env.server.hang("update", "leases", user="ctl-a")
        assert env.server.wait_hung(2, 20), "ctl-a's renewal is held"
        wait_for(lambda: not returns_within(a.is_leader), 20, "ctl-a stops counting itself leader")
        assert env.lease_holder() == "ctl-a" and not returns_within(b.is_leader)  # nobody may take over yet
        env.create(lb("during"))  # not hung: ctl-a must leave it to the next leader by itself

        wait_for(lambda: env.lease_holder() == "ctl-b", 20, "ctl-b takes over once the Lease expired")
        wait_for(lambda: env.ips("caught") and env.ips("during"), 20, "ctl-b assigns what ctl-a left")
        b_first = min(r.at for r in env.writes("ctl-b") if r.resource in ("services", "events"))
        # While its calls hang, nothing of ctl-a's is logged after ctl-b's first write.
        assert not [r for r in env.writes("ctl-a") if r.at >= b_first]
        assert all(r.at < b_first for r in status_patches(env, "ctl-a"))

        # The held requests arrive now, late. Each carries the resourceVersion ctl-a decided on;
        # ctl-b has written 'caught' (and the Lease) since, so none of them is applied.
        assert env.server.unhang() >= 2
        late = [r for r in env.writes("ctl-a") if r.at >= b_first]
        assert late and all(r.code == 409 for r in late), [(r.rbac_resource, r.code) for r in late]
        assert [r.code for r in status_patches(env, "ctl-a") if r.name == "caught"] == [409]
        assert not [r for r in env.writes("ctl-a") if r.name == "during"]
        # Writes never interleave: Service status writes come in one block per leader, in order.
        writers = [r.user for r in env.writes() if r.rbac_resource == "services/status" and r.code < 300]
        assert [k for k, _ in groupby(writers)] == ["ctl-a", "ctl-b"]
        wait_for(
            lambda: not a.active() and a.elector is not None and a.elector.holder == "ctl-b",
            20,
            "ctl-a a standby",
        )
        last = create_batch(env, "after", 2)
        wait_for(lambda: all(env.ips(n) for n in last), 20, "assigned by ctl-b")
        history = env.ingress_history()
        assert all(len(v) == 1 for v in history.values()), history  # no Service ever had two IPs
        final = [ips for ips in env.all_ips().values() if ips]
        assert len(final) == len(set(final)) == 7
    finally:
        env.server.unhang(drop=True)  # on failure: let hung calls end before the controllers stop


ONE_IP = """\
address-pools:
- name: main
  protocol: layer2
  addresses: [10.200.0.1/32]
"""


def test_late_write_of_the_old_leader_to_a_service_the_new_leader_left_alone_is_repaired(env: Env) -> None:
    """The limit of the guard, shown: a write held longer than the Lease margin still lands.

    ctl-a's status patch giving the pool's only IP to 'b-first' is held. ctl-b takes over and,
    with one worker (so in order), gives that IP to 'a-second' and refuses 'b-first' without
    writing it. ctl-a's patch then arrives: its resourceVersion is still current, so it is
    applied, as kube-apiserver would (no request timeout can recall bytes already sent), and
    two Services show the same IP until ctl-b, seeing the change, clears 'b-first'.
    """
    env.set_config(ONE_IP)
    a = env.controller("ctl-a", **HANG)
    wait_for(a.settled, 20, "ctl-a leads")
    b = env.controller("ctl-b", workers=1, **HANG)
    wait_for(lambda: reads_lease(env, "ctl-b"), 20, "ctl-b running as a standby")
    try:
        env.server.hang("patch", "services/status", user="ctl-a", name="b-first")
        env.create(lb("b-first"))
        assert env.server.wait_hung(1, 20), "ctl-a's status patch of 'b-first' is held"
        env.server.hang("update", "leases", user="ctl-a")
        assert env.server.wait_hung(2, 20), "ctl-a's renewal is held"
        wait_for(lambda: not returns_within(a.is_leader), 20, "ctl-a stops counting itself leader")
        env.create(lb("a-second"))
        wait_for(lambda: env.ips("a-second") == ["10.200.0.1"], 20, "ctl-b gives the IP to 'a-second'")
        wait_for(lambda: env.events("AllocationFailed", "b-first"), 20, "ctl-b refuses 'b-first'")
        assert b.is_leader() and env.ips("b-first") == []
        b_first_write = min(r.at for r in env.writes("ctl-b") if r.resource == "services")
        env.server.unhang()
        late = status_patches(env, "ctl-a")[-1]
        assert (late.name, late.code) == ("b-first", 200) and late.at > b_first_write  # applied, late
        wait_for(lambda: env.ips("b-first") == [], 20, "ctl-b clears the IP ctl-a wrote late")
        repair = [r for r in status_patches(env, "ctl-b") if r.name == "b-first" and r.code == 200]
        assert repair and repair[-1].at > late.at
        assert env.ips("a-second") == ["10.200.0.1"] and env.ingress_history()["default/b-first"] == [
            ("10.200.0.1",)
        ]
    finally:
        env.server.unhang(drop=True)
