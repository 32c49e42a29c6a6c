"""Leader election: pure rules (property-tested) and two electors against the double."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
    next_round_in,
    observe,
    still_leader,
    wake_on,
)
from ironlb.kube.leaderelection import LeaderConfig, LeaderElector
from tests.kubeapi import KubeApiServer, by_plural
from tests.waiting import returns_within

from .conftest import Env

LEASE = "ironlb-controller"


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


def test_watched_changes_that_wake_the_elector() -> None:
    assert wake_on(rec("a", rv="1"), rec("", rv="2"), "b")  # released
    assert wake_on(None, rec("", rv="2"), "b")  # first seen free
    assert wake_on(rec("a"), None, "b")  # deleted
    assert wake_on(rec("a", rv="1"), rec("c", rv="2"), "b")  # another standby took it
    assert wake_on(rec("me", rv="1"), rec("c", rv="2"), "me")  # a leader learns it lost the Lease
    assert not wake_on(rec("a", rv="1"), rec("a", rv="2"), "b")  # a renewal
    assert not wake_on(rec("", rv="1"), rec("me", rv="2"), "me")  # our own acquisition
    assert not wake_on(None, rec("a"), "b")  # first sight of a held Lease
    assert not wake_on(None, None, "b")


def test_next_round_at_retry_period_or_at_expiry() -> None:
    held = Observation(rec("other", duration=15), 100.0)
    assert next_round_in(None, "me", 0, 2) == 2
    assert next_round_in(held, "me", 101, 2) == 2  # expiry far off: the usual retry
    assert next_round_in(held, "me", 114, 2) == 1  # expiry before the next retry: wake at expiry
    assert next_round_in(held, "me", 115, 2) == 2  # expired (but not taken, e.g. the API failed): retry
    assert next_round_in(Observation(rec("me"), 100.0), "me", 114, 2) == 2  # a leader renews
    assert next_round_in(Observation(rec(""), 100.0), "me", 100, 2) == 2  # free: nothing to wait for


@given(
    observed_at=st.floats(0, 1000),
    since=st.floats(0, 40),
    duration=st.integers(1, 30),
    retry=st.floats(0.01, 10),
)
def test_next_round_never_before_the_retry_or_expiry(
    observed_at: float, since: float, duration: int, retry: float
) -> None:
    obs = Observation(rec("other", duration=duration), observed_at)
    now = observed_at + since
    d = next_round_in(obs, "me", now, retry)
    assert 0 < d <= retry
    if d < retry:  # woken early for the expiry: just then the Lease may be taken, not before
        assert decide(obs, "me", now + d * 0.999) == "wait"
        assert decide(obs, "me", observed_at + duration) == "acquire"
        assert now + d == pytest.approx(observed_at + duration)


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


# -- the Lease watch: released Leases are taken at once ------------------------------------
# A retry period of 60 s and waits of at most 20 s: only the watch can make these pass.
SLOW = {"lease_duration": 180.0, "renew_deadline": 120.0, "retry_period": 60.0}


def wait_for(cond: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def lease_spec_of(env: Env) -> dict[str, Any]:
    lease = env.server.store.get(by_plural("leases", "coordination.k8s.io"), "ironlb-system", LEASE)
    return dict(lease["spec"])


def lease_requests(env: Env, verb: str) -> int:
    return sum(1 for r in env.server.requests() if r.resource == "leases" and r.verb == verb)


def test_standby_takes_a_released_lease_without_waiting_for_its_retry(env: Env) -> None:
    started: list[str] = []
    a = LeaderElector(env.api, LeaderConfig("ironlb-system", LEASE, "a", **SLOW)).start()
    b = LeaderElector(
        env.api,
        LeaderConfig("ironlb-system", LEASE, "b", **SLOW),
        on_started_leading=lambda: started.append("b"),
    )
    try:
        wait_for(a.is_leader, 20, "a leads")
        b.start()
        wait_for(lambda: b.holder == "a" and b.wait_watching(0), 20, "b has seen a's Lease and watches it")
        assert not b.is_leader()
        # The watch expires (410): the informer lists again and watches on.
        env.server.expire_watches()
        wait_for(lambda: lease_requests(env, "watch") >= 4, 20, "both watches resumed after the 410")
        assert not b.is_leader() and b.wakeups == 0  # neither the first sight nor the relist woke b
        a.stop(release=True)
        wait_for(b.is_leader, 20, "b takes the released Lease")
        assert started == ["b"] and b.wakeups >= 1
        spec = lease_spec_of(env)
        assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 0
    finally:
        a.stop(release=False)
        b.stop(release=True)


def test_leader_learns_at_once_that_another_holder_took_the_lease(env: Env) -> None:
    lost: list[str] = []
    a = LeaderElector(
        env.api,
        LeaderConfig("ironlb-system", LEASE, "a", **SLOW),
        on_stopped_leading=lambda: lost.append("a"),
    ).start()
    try:
        wait_for(lambda: a.is_leader() and a.wait_watching(0), 20, "a leads and watches")
        coord: Any = client.CoordinationV1Api(env.api)
        coord.patch_namespaced_lease(
            LEASE,
            "ironlb-system",
            {"spec": {"holderIdentity": "intruder"}},
            _content_type="application/merge-patch+json",
        )
        wait_for(lambda: not a.is_leader(), 20, "a steps down")
        assert lost == ["a"] and a.holder == "intruder"
    finally:
        a.stop(release=True)
    # Not ours any more: stopping does not clear someone else's Lease.
    assert lease_spec_of(env)["holderIdentity"] == "intruder"


# -- a renewal that hangs: the API server takes the PUT and never answers -------------------
# Short timings; a Lease of 3 s (vs. a renew deadline of 1 s) leaves a 2 s margin, so the order
# asserted below is the protocol's, not the scheduler's luck.
HANG = {"lease_duration": 3.0, "renew_deadline": 1.0, "retry_period": 0.2}




@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Env, client.ApiClient, client.ApiClient]]:
    """A double that tells two clients apart by their tokens ("a", "b"), so one can be hung."""
    with KubeApiServer(bookmark_interval=0.2, tokens={"a": None, "b": None}) as server:
        kc = server.write_kubeconfig(tmp_path / "kubeconfig", token="a")
        api_a = make_api_client(str(kc))
        api_b = client_with_token(api_a, "b")
        try:
            yield Env(server, api_a, kc), api_a, api_b
        finally:
            server.unhang(drop=True)
            api_a.close()
            api_b.close()


def test_leader_whose_renewal_hangs_stops_leading_before_a_standby_can_take_over(
    pair: tuple[Env, client.ApiClient, client.ApiClient],
) -> None:
    env, api_a, api_b = pair
    lost = threading.Event()
    a_leads_when_b_starts: list[bool] = []
    a = LeaderElector(
        api_a, LeaderConfig("ironlb-system", LEASE, "a", **HANG), on_stopped_leading=lost.set
    ).start()
    b = LeaderElector(
        api_b,
        LeaderConfig("ironlb-system", LEASE, "b", **HANG),
        on_started_leading=lambda: a_leads_when_b_starts.append(returns_within(a.is_leader)),
    )
    try:
        wait_for(a.is_leader, 20, "a leads")
        b.start()
        wait_for(lambda: b.holder == "a" and b.wait_watching(0), 20, "b is a watching standby")
        env.server.hang("update", "leases", user="a")
        assert env.server.wait_hung(1, 10), "a's renewal reaches the server and is held"
        # The accessor answers at once (it must not wait for the hung renewal) and turns False
        # by itself once the renew deadline has passed...
        wait_for(lambda: not returns_within(a.is_leader), 20, "a stops counting itself leader")
        # ...while the Lease still names a, so no standby could have taken over yet.
        assert lease_spec_of(env)["holderIdentity"] == "a" and not returns_within(b.is_leader)
        # The elector thread is not stuck in the hung call: it gives up and steps down.
        assert lost.wait(20), "a's on_stopped_leading ran while its renewals still hang"
        wait_for(b.is_leader, 20, "b takes over once a's Lease expired")
        assert a_leads_when_b_starts == [False]  # b's first moment as leader: a had stopped
        assert lease_spec_of(env)["holderIdentity"] == "b" and not returns_within(a.is_leader)
        # a's renewals arrive now, late: each carries the resourceVersion a read, which b's
        # acquisition made stale, so none is applied (409) and b keeps the Lease.
        assert env.server.unhang() >= 1
        late = [r for r in env.server.requests() if r.user == "a" and r.verb == "update"]
        b_took = min(r.at for r in env.server.requests() if r.user == "b" and r.verb == "update")
        assert [r.code for r in late if r.at > b_took] and all(r.code == 409 for r in late if r.at > b_took)
        wait_for(lambda: a.holder == "b", 20, "a sees b holding the Lease")
        assert lease_spec_of(env)["holderIdentity"] == "b" and b.is_leader() and not a.is_leader()
    finally:
        env.server.unhang(drop=True)
        a.stop(release=False)
        b.stop(release=True)
