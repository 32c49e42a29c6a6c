"""Leader election: pure rules (property-tested) and two electors against the double."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes import client

from ironlb.kube.client import client_with_token, make_api_client
from ironlb.kube.leader import (
    LeaseRecord,
    Observation,
    decide,
    format_micro_time,
    lease_spec,
    micro_time,
    observe,
    still_leader,
)
from ironlb.kube.leaderelection import LeaderConfig, LeaderElector
from tests.kubeapi import KubeApiServer

from .conftest import Env


def rec(holder: str, rv: str = "1", duration: int = 15, transitions: int = 0) -> LeaseRecord:
    return LeaseRecord(holder, duration, None, None, transitions, rv)


def test_decisions() -> None:
    assert decide(None, "me", 0) == "create"
    assert decide(Observation(rec("me"), 0), "me", 100) == "renew"
    assert decide(Observation(rec("other"), 10), "me", 24.9) == "wait"
    assert decide(Observation(rec("other"), 10), "me", 25) == "acquire"
    assert decide(Observation(rec(""), 10), "me", 10) == "acquire"  # released
    first = observe(None, rec("other", rv="1"), 10)
    assert observe(first, rec("other", rv="1"), 20) is first  # unchanged: keep first-seen time
    assert observe(first, rec("other", rv="2"), 20).observed_at == 20
    assert still_leader(10, 10, 19.9) and not still_leader(10, 10, 20) and not still_leader(None, 10, 0)


def test_lease_spec_transitions_and_micro_times() -> None:
    whole = dt.datetime(2026, 1, 1, 0, 0, 0, tzinfo=dt.UTC)
    assert micro_time(whole).microsecond == 1 and format_micro_time(whole) == "2026-01-01T00:00:00.000001Z"
    taken = lease_spec(rec("other", transitions=3), "me", whole, 15)
    assert taken["leaseTransitions"] == 4 and taken["holderIdentity"] == "me"
    assert lease_spec(rec("me", transitions=3), "me", whole, 15)["leaseTransitions"] == 3
    assert lease_spec(None, "me", whole, 15)["leaseTransitions"] == 0


@given(
    renew_gaps=st.lists(st.floats(0.1, 3.0), min_size=1, max_size=20),
    observe_delays=st.lists(st.floats(0.0, 5.0), min_size=20, max_size=20),
    probe=st.floats(0.0, 40.0),
)
def test_standby_never_acquires_while_leader_believes_it_leads(
    renew_gaps: list[float], observe_delays: list[float], probe: float
) -> None:
    duration, deadline = 15, 10.0
    t, obs = 0.0, None
    last_renew = 0.0
    for i, gap in enumerate(renew_gaps):
        t += gap
        last_renew = t  # the leader's successful write at t changes the resourceVersion...
        obs = observe(
            obs, rec("leader", rv=str(i), duration=duration), t + observe_delays[i]
        )  # ...seen later by the standby
    assert obs is not None
    now = max(t, obs.observed_at) + probe
    if decide(obs, "standby", now) == "acquire":
        assert not still_leader(last_renew, deadline, now)


def elector(env: Env, identity: str, clock: list[float], **kw: float) -> LeaderElector:
    cfg = LeaderConfig("ironlb-system", "ironlb-controller", identity, **kw)
    wall = lambda: dt.datetime(2026, 1, 1, 0, 0, int(clock[0]) % 60, tzinfo=dt.UTC)  # noqa: E731 (microsecond 0)
    return LeaderElector(env.api, cfg, clock=lambda: clock[0], wall=wall)


def test_one_leader_takeover_on_expiry_and_step_down(env: Env) -> None:
    clock = [1000.0]
    a, b = elector(env, "a", clock), elector(env, "b", clock)
    assert a.step() and not b.step()
    for _ in range(5):  # a keeps renewing; b never takes over
        clock[0] += 2
        assert a.step() and not b.step()
    assert b.holder == "a"
    # a stops renewing (e.g. SIGKILL): b waits a full lease duration from its last observation.
    clock[0] += 14
    assert not b.step()
    assert not a.is_leader()  # past its renew deadline a no longer writes, even without a step
    clock[0] += 1.5
    assert b.step()
    lease = client.CoordinationV1Api(env.api).read_namespaced_lease("ironlb-controller", "ironlb-system")
    assert lease.spec.holder_identity == "b" and lease.spec.lease_transitions == 1
    assert not a.step()  # a comes back and sees b holding a live lease
    assert not any(r.code == 422 for r in env.server.requests())


def test_release_hands_over_at_once(env: Env) -> None:
    clock = [0.0]
    started: list[str] = []
    a = elector(env, "a", clock)
    b = LeaderElector(
        env.api,
        a.cfg.__class__("ironlb-system", "ironlb-controller", "b"),
        clock=lambda: clock[0],
        on_started_leading=lambda: started.append("b"),
    )
    assert a.step() and not b.step()
    assert a.release() and not a.is_leader()
    assert b.step() and started == ["b"]  # no waiting for the lease duration


def test_stale_read_gets_409_and_no_leadership(env: Env) -> None:
    clock = [0.0]
    a, b = elector(env, "a", clock), elector(env, "b", clock)
    assert a.step()
    clock[0] += 20  # b would consider a's lease expired...
    b.step()  # (b observes at t=20)
    clock[0] += 16
    stale = b.read()
    a.step()  # ...but a renews between b's read and b's write
    assert not b.attempt(stale)
    assert not b.is_leader() and a.is_leader()
    assert any(r.code == 409 for r in env.server.requests())


def test_config_rejects_inconsistent_timings() -> None:
    with pytest.raises(ValueError):
        LeaderConfig("ns", "n", "me", lease_duration=5, renew_deadline=10, retry_period=2)


def test_client_with_token_drops_the_kubeconfig_refresh_hook(tmp_path: Path) -> None:
    grants = {"admin": None, "reader": [("list", "services")]}
    with KubeApiServer(tokens=grants) as server:
        admin = make_api_client(str(server.write_kubeconfig(tmp_path / "kc", token="admin")))
        reader = client_with_token(admin, "reader")
        client.CoreV1Api(reader).list_namespaced_service("default")
        with pytest.raises(client.ApiException) as exc:
            client.CoreV1Api(reader).create_namespaced_config_map("default", {"metadata": {"name": "x"}})
        assert exc.value.status == 403
        client.CoreV1Api(admin).create_namespaced_config_map("default", {"metadata": {"name": "x"}})
        assert [r.user for r in server.requests()] == ["reader", "reader", "admin"]
        admin.close()
        reader.close()


def test_leader_keeps_leading_through_one_conflict(env: Env) -> None:
    clock = [0.0]
    a = elector(env, "a", clock)
    assert a.step()
    stale = a.read()
    coord = client.CoordinationV1Api(env.api)
    coord.patch_namespaced_lease("ironlb-controller", "ironlb-system", {"metadata": {"labels": {"x": "1"}}})
    clock[0] += 2
    assert not a.attempt(stale)  # 409: this renewal failed...
    assert a.is_leader()  # ...but leadership lasts until the renew deadline
    assert a.step()  # and the next round renews
    clock[0] += 9.9
    assert a.is_leader()
    clock[0] += 0.2
    assert not a.is_leader()  # no successful renewal for the renew deadline: stop writing
