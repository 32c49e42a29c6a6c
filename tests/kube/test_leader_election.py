"""Leader election: pure rules (property-tested) and electors against the real API server (a
renewal that hangs: against the double, which can hold a call unanswered)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
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
    is_mine,
    lease_spec,
    micro_time,
    next_round_in,
    observe,
    still_leader,
    wake_on,
)
from ironlb.kube.leaderelection import LeaderConfig, LeaderElector
from tests.support.kubeapi import KubeApiServer, by_plural
from tests.support.pytest_plugin import Kube
from tests.support.waiting import returns_within, wait_for

LEASE = "ironlb-controller"
T1, T2 = "2026-01-01T00:00:00.000001Z", "2026-01-01T00:00:05.000001Z"


def rec(
    holder: str, rv: str = "1", duration: int = 15, transitions: int = 0, acquired: str = T1
) -> LeaseRecord:
    return LeaseRecord(holder, duration, acquired, None, transitions, rv)


def test_decisions() -> None:
    assert decide(None, 0, mine=False) == "create"
    assert decide(Observation(rec("me"), 0), 100, mine=True) == "renew"
    assert decide(Observation(rec("other"), 10), 24.9, mine=False) == "wait"
    assert decide(Observation(rec("other"), 10), 25, mine=False) == "acquire"
    assert decide(Observation(rec(""), 10), 10, mine=False) == "acquire"  # released
    # Our identity, but not our acquisition (a twin, or this pod's previous container): not ours.
    assert decide(Observation(rec("me"), 10), 24.9, mine=False) == "wait"
    assert decide(Observation(rec("me"), 10), 25, mine=False) == "acquire"
    first = observe(None, rec("other", rv="1"), 10)
    assert observe(first, rec("other", rv="1"), 20) is first  # unchanged: keep first-seen time
    assert observe(first, rec("other", rv="2"), 20).observed_at == 20
    assert still_leader(10, 10, 19.9) and not still_leader(10, 10, 20) and not still_leader(None, 10, 0)


def test_a_lease_is_mine_only_when_this_process_acquired_it() -> None:
    assert is_mine(rec("me", acquired=T1), "me", {T1})
    assert is_mine(rec("me", acquired="2026-01-01T00:00:00.000001+00:00"), "me", {T1})  # same instant
    assert not is_mine(rec("me", acquired=T2), "me", {T1})  # another process under our name
    assert not is_mine(rec("other", acquired=T1), "me", {T1})
    assert not is_mine(rec("", acquired=T1), "", {T1})  # released
    assert not is_mine(rec("me", acquired=T1), "me", set())  # e.g. found after a restart


def test_watched_changes_that_wake_the_elector() -> None:
    assert wake_on(rec("a", rv="1"), rec("", rv="2"), mine=False)  # released
    assert wake_on(None, rec("", rv="2"), mine=False)  # first seen free
    assert wake_on(rec("a"), None, mine=False)  # deleted
    assert wake_on(rec("a", rv="1"), rec("c", rv="2"), mine=False)  # another standby took it
    assert wake_on(rec("me", rv="1"), rec("c", rv="2"), mine=False)  # a leader learns it lost the Lease
    assert wake_on(
        rec("me", rv="1", acquired=T1), rec("me", rv="2", acquired=T2), mine=False
    )  # a twin took it
    assert not wake_on(rec("a", rv="1"), rec("a", rv="2"), mine=False)  # a renewal
    assert not wake_on(rec("", rv="1"), rec("me", rv="2"), mine=True)  # our own acquisition
    assert not wake_on(None, rec("a"), mine=False)  # first sight of a held Lease
    assert not wake_on(None, None, mine=False)


def test_next_round_at_retry_period_or_at_expiry() -> None:
    held = Observation(rec("other", duration=15), 100.0)
    assert next_round_in(None, 0, 2, mine=False) == 2
    assert next_round_in(held, 101, 2, mine=False) == 2  # expiry far off: the usual retry
    assert next_round_in(held, 114, 2, mine=False) == 1  # expiry before the next retry: wake at expiry
    assert next_round_in(held, 115, 2, mine=False) == 2  # expired (but not taken, e.g. the API failed)
    assert next_round_in(Observation(rec("me"), 100.0), 114, 2, mine=True) == 2  # a leader renews
    assert next_round_in(Observation(rec(""), 100.0), 100, 2, mine=False) == 2  # free: nothing to wait for


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
    d = next_round_in(obs, now, retry, mine=False)
    assert 0 < d <= retry
    if d < retry:  # woken early for the expiry: just then the Lease may be taken, not before
        assert decide(obs, now + d * 0.999, mine=False) == "wait"
        assert decide(obs, observed_at + duration, mine=False) == "acquire"
        assert now + d == pytest.approx(observed_at + duration)


def test_lease_spec_transitions_and_micro_times() -> None:
    whole = dt.datetime(2026, 1, 1, 0, 0, 0, tzinfo=dt.UTC)
    assert micro_time(whole).microsecond == 1 and format_micro_time(whole) == "2026-01-01T00:00:00.000001Z"
    taken = lease_spec(rec("other", transitions=3), "me", whole, 15, mine=False)
    assert taken["leaseTransitions"] == 4 and taken["holderIdentity"] == "me"
    assert lease_spec(rec("me", transitions=3), "me", whole, 15, mine=True)["leaseTransitions"] == 3
    assert lease_spec(None, "me", whole, 15, mine=False)["leaseTransitions"] == 0
    # Every change of holder counts, as client-go counts it: a released Lease taken over...
    assert lease_spec(rec("", transitions=3), "me", whole, 15, mine=False)["leaseTransitions"] == 4
    # ...and a Lease under our name that this process did not acquire.
    twin = lease_spec(rec("me", transitions=3, acquired=T2), "me", whole, 15, mine=False)
    assert twin["leaseTransitions"] == 4 and twin["acquireTime"] == micro_time(whole)


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
    if decide(obs, now, mine=False) == "acquire":
        assert not still_leader(last_renew, deadline, now)


def test_config_rejects_inconsistent_timings() -> None:
    with pytest.raises(ValueError):
        LeaderConfig("ns", "n", "me", lease_duration=5, renew_deadline=10, retry_period=2)


# -- electors on the real API server ---------------------------------------------------------------


@pytest.fixture
def clients(kube: Kube) -> Iterator[dict[str, Any]]:
    """One client per elector, each its own ServiceAccount, so the audit log tells them apart."""
    made: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in made:
            made[name] = make_api_client(str(kube.kubeconfig(name)), program="ironlb-controller")
        return made[name]

    class Clients(dict[str, Any]):
        def __missing__(self, name: str) -> Any:
            return get(name)

    try:
        yield Clients()
    finally:
        for c in made.values():
            c.close()


def elector(kube: Kube, api: Any, identity: str, clock: list[float], **kw: Any) -> LeaderElector:
    cfg = LeaderConfig(kube.ns, LEASE, identity, **kw)
    wall = lambda: dt.datetime(2026, 1, 1, 0, 0, int(clock[0]) % 60, tzinfo=dt.UTC)  # noqa: E731 (microsecond 0)
    return LeaderElector(api, cfg, clock=lambda: clock[0], wall=wall)


def lease(kube: Kube) -> dict[str, Any]:
    body = kube.coordination.read_namespaced_lease(LEASE, kube.ns, _preload_content=False).data
    return dict(json.loads(body)["spec"])


def test_one_leader_takeover_on_expiry_and_step_down(kube: Kube, clients: dict[str, Any]) -> None:
    clock = [1000.0]
    a, b = elector(kube, clients["a"], "a", clock), elector(kube, clients["b"], "b", clock)
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
    spec = lease(kube)
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
    assert not a.step()  # a comes back and sees b holding a live lease
    assert not any(r.code == 422 for r in kube.audit() if r.resource == "leases")
    managers = kube.coordination.read_namespaced_lease(LEASE, kube.ns).metadata.managed_fields
    assert {f.manager for f in managers} == {"ironlb-controller"}


def test_a_graceful_handover_counts_as_a_transition(kube: Kube, clients: dict[str, Any]) -> None:
    clock = [0.0]
    started: list[str] = []
    a = elector(kube, clients["a"], "a", clock)
    b = LeaderElector(
        clients["b"],
        LeaderConfig(kube.ns, LEASE, "b"),
        clock=lambda: clock[0],
        on_started_leading=lambda: started.append("b"),
    )
    assert a.step() and not b.step()
    assert lease(kube)["leaseTransitions"] == 0
    assert a.release() and not a.is_leader()
    released = lease(kube)
    assert released["holderIdentity"] in (None, "") and released["leaseTransitions"] == 0
    assert b.step() and started == ["b"]  # no waiting for the lease duration
    assert lease(kube)["leaseTransitions"] == 1  # a -> b is a change of holder, released or not
    clock[0] += 1
    assert a.step() is False and b.step() and lease(kube)["leaseTransitions"] == 1  # renewals do not count


def test_stale_read_gets_409_and_no_leadership(kube: Kube, clients: dict[str, Any]) -> None:
    clock = [0.0]
    a, b = elector(kube, clients["a"], "a", clock), elector(kube, clients["b"], "b", clock)
    assert a.step()
    clock[0] += 20  # b would consider a's lease expired...
    b.step()  # (b observes at t=20)
    clock[0] += 16
    stale = b.read()
    a.step()  # ...but a renews between b's read and b's write
    assert not b.attempt(stale)
    assert not b.is_leader() and a.is_leader()
    assert [r.code for r in kube.audit(kube.user("b")) if r.verb == "update"][-1] == 409


def test_leader_keeps_leading_through_one_conflict(kube: Kube, clients: dict[str, Any]) -> None:
    clock = [0.0]
    a = elector(kube, clients["a"], "a", clock)
    assert a.step()
    stale = a.read()
    kube.coordination.patch_namespaced_lease(LEASE, kube.ns, {"metadata": {"labels": {"x": "1"}}})
    clock[0] += 2
    assert not a.attempt(stale)  # 409: this renewal failed...
    assert a.is_leader()  # ...but leadership lasts until the renew deadline
    assert a.step()  # and the next round renews (a label does not make the Lease someone else's)
    clock[0] += 9.9
    assert a.is_leader()
    clock[0] += 0.2
    assert not a.is_leader()  # no successful renewal for the renew deadline: stop writing


def test_two_processes_with_the_same_identity_never_both_lead(kube: Kube, clients: dict[str, Any]) -> None:
    """The same ``--identity`` twice: one leads; the other never takes the Lease for its own, and
    stopping it does not release the leader's Lease."""
    fast = {"lease_duration": 3.0, "renew_deadline": 2.0, "retry_period": 0.2}
    first = LeaderElector(clients["a"], LeaderConfig(kube.ns, LEASE, "twin", **fast)).start()
    second: LeaderElector | None = None
    try:
        wait_for(first.is_leader, 20, "the first leads")
        acquired = lease(kube)["acquireTime"]
        second = LeaderElector(clients["b"], LeaderConfig(kube.ns, LEASE, "twin", **fast)).start()
        wait_for(lambda: second is not None and second.wait_watching(0), 20, "the second watches")
        deadline = time.monotonic() + 4.0  # more than a lease duration
        while time.monotonic() < deadline:
            assert first.is_leader() and not second.is_leader()
            time.sleep(0.05)
        assert lease(kube)["acquireTime"] == acquired  # renewed by the first all along
        assert not [r for r in kube.audit(kube.user("b")) if r.verb in ("update", "create")]
        second.stop(release=True)  # not its Lease: nothing to release
        assert lease(kube)["holderIdentity"] == "twin" and first.is_leader()
        assert not [r for r in kube.audit(kube.user("b")) if r.verb in ("update", "create")]
    finally:
        if second is not None:
            second.stop(release=False)
        first.stop(release=True)
    assert lease(kube)["holderIdentity"] in (None, "")  # the first released its own


# -- the Lease watch: released Leases are taken at once ------------------------------------
# A retry period of 60 s and waits of at most 20 s: only the watch can make these pass.
SLOW = {"lease_duration": 180.0, "renew_deadline": 120.0, "retry_period": 60.0}


def test_standby_takes_a_released_lease_without_waiting_for_its_retry(
    kube: Kube, clients: dict[str, Any]
) -> None:
    started: list[str] = []
    a = LeaderElector(clients["a"], LeaderConfig(kube.ns, LEASE, "a", **SLOW)).start()
    b = LeaderElector(
        clients["b"],
        LeaderConfig(kube.ns, LEASE, "b", **SLOW),
        on_started_leading=lambda: started.append("b"),
    )
    try:
        wait_for(a.is_leader, 20, "a leads")
        b.start()
        wait_for(lambda: b.holder == "a" and b.wait_watching(0), 20, "b has seen a's Lease and watches it")
        assert not b.is_leader()
        # The API server restarts: the watches end, resume from a resourceVersion that is gone
        # (410), list again and watch on.
        kube.cp.restart_apiserver()
        wait_for(lambda: b._informer.lists >= 2 and a._informer.lists >= 2, 30, "both relisted after the 410")
        assert not b.is_leader() and b.wakeups == 0  # neither the first sight nor the relist woke b
        a.stop(release=True)
        wait_for(b.is_leader, 20, "b takes the released Lease")
        assert started == ["b"] and b.wakeups >= 1
        spec = lease(kube)
        assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
    finally:
        a.stop(release=False)
        b.stop(release=True)


def test_leader_learns_at_once_that_another_holder_took_the_lease(
    kube: Kube, clients: dict[str, Any]
) -> None:
    lost: list[str] = []
    a = LeaderElector(
        clients["a"],
        LeaderConfig(kube.ns, LEASE, "a", **SLOW),
        on_stopped_leading=lambda: lost.append("a"),
    ).start()
    try:
        wait_for(lambda: a.is_leader() and a.wait_watching(0), 20, "a leads and watches")
        kube.coordination.patch_namespaced_lease(
            LEASE,
            kube.ns,
            {"spec": {"holderIdentity": "intruder"}},
            _content_type="application/merge-patch+json",
        )
        wait_for(lambda: not a.is_leader(), 20, "a steps down")
        assert lost == ["a"] and a.holder == "intruder"
    finally:
        a.stop(release=True)
    # Not ours any more: stopping does not clear someone else's Lease.
    assert lease(kube)["holderIdentity"] == "intruder"


def test_client_with_token_drops_the_kubeconfig_refresh_hook(kube: Kube) -> None:
    admin = make_api_client(str(kube.kubeconfig("admin")))
    kube.grant("reader", [{"apiGroups": [""], "resources": ["services"], "verbs": ["list"]}])
    reader = client_with_token(admin, kube.cp.token(kube.ns, "reader"))
    try:
        client.CoreV1Api(reader).list_namespaced_service(kube.ns)
        with pytest.raises(client.ApiException) as exc:
            client.CoreV1Api(reader).create_namespaced_config_map(kube.ns, {"metadata": {"name": "x"}})
        assert exc.value.status == 403
        client.CoreV1Api(admin).create_namespaced_config_map(kube.ns, {"metadata": {"name": "x"}})
    finally:
        admin.close()
        reader.close()
    calls = [
        (r.user.rpartition(":")[2], r.verb, r.code)
        for r in kube.audit()
        if r.resource in ("services", "configmaps")
    ]
    assert calls == [("reader", "list", 200), ("reader", "create", 403), ("admin", "create", 201)]


def double_lease(server: KubeApiServer) -> dict[str, Any]:
    return dict(server.store.get(by_plural("leases", "coordination.k8s.io"), "ironlb-system", LEASE)["spec"])


# -- a renewal that hangs: the API server takes the PUT and never answers -------------------
# Short timings; a Lease of 3 s (vs. a renew deadline of 1 s) leaves a 2 s margin, so the order
# asserted below is the protocol's, not the scheduler's luck.
HANG = {"lease_duration": 3.0, "renew_deadline": 1.0, "retry_period": 0.2}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[KubeApiServer, client.ApiClient, client.ApiClient]]:
    """The double (a call that hangs is what a real server cannot do on demand), telling two
    clients apart by their tokens ("a", "b"), so one can be hung."""
    with KubeApiServer(bookmark_interval=0.2) as server:
        kc = server.write_kubeconfig(tmp_path / "kubeconfig", token="a")
        api_a = make_api_client(str(kc))
        api_b = client_with_token(api_a, "b")
        try:
            yield server, api_a, api_b
        finally:
            server.unhang(drop=True)
            api_a.close()
            api_b.close()


def test_leader_whose_renewal_hangs_stops_leading_before_a_standby_can_take_over(
    pair: tuple[KubeApiServer, client.ApiClient, client.ApiClient],
) -> None:
    server, api_a, api_b = pair
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
        server.hang("update", "leases", user="a")
        assert server.wait_hung(1, 10), "a's renewal reaches the server and is held"
        # The accessor answers at once (it must not wait for the hung renewal) and turns False
        # by itself once the renew deadline has passed...
        wait_for(lambda: not returns_within(a.is_leader), 20, "a stops counting itself leader")
        # ...while the Lease still names a, so no standby could have taken over yet.
        assert double_lease(server)["holderIdentity"] == "a" and not returns_within(b.is_leader)
        # The elector thread is not stuck in the hung call: it gives up and steps down.
        assert lost.wait(20), "a's on_stopped_leading ran while its renewals still hang"
        wait_for(b.is_leader, 20, "b takes over once a's Lease expired")
        assert a_leads_when_b_starts == [False]  # b's first moment as leader: a had stopped
        assert double_lease(server)["holderIdentity"] == "b" and not returns_within(a.is_leader)
        # a's renewals arrive now, late: each carries the resourceVersion a read, which b's
        # acquisition made stale, so none is applied (409) and b keeps the Lease.
        assert server.unhang() >= 1
        late = [r for r in server.requests() if r.user == "a" and r.verb == "update"]
        b_took = min(r.at for r in server.requests() if r.user == "b" and r.verb == "update")
        assert [r.code for r in late if r.at > b_took] and all(r.code == 409 for r in late if r.at > b_took)
        wait_for(lambda: a.holder == "b", 20, "a sees b holding the Lease")
        assert double_lease(server)["holderIdentity"] == "b" and b.is_leader() and not a.is_leader()
    finally:
        server.unhang(drop=True)
        a.stop(release=False)
        b.stop(release=True)
