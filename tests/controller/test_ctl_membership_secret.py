"""The speakers' membership Secret, on the real API server: the leader creates it when missing (64
random bytes), never touches an existing one, a standby makes no request for it at all, and a
refused create is retried without holding up allocation."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import pytest
from kubernetes import client

from controller.options import parse_options
from ironlb.kube.client import make_api_client
from ironlb.kube.membership_secret import KEY_BYTES, Outcome, ensure_membership_secret
from tests.controller.conftest import EVERYTHING, POOLS, Env, everything_but, lb
from tests.support.waiting import wait_for

NAME, KEY = "ironlb-memberlist", "secretkey"


def secret(env: Env, name: str = NAME) -> dict[str, Any] | None:
    try:
        resp = env.core.read_namespaced_secret(name, env.ns, _preload_content=False)
    except client.exceptions.ApiException:
        return None
    out: dict[str, Any] = json.loads(resp.data)
    return out


def secret_requests(env: Env, name: str) -> list[Any]:
    return [r for r in env.requests(name) if r.resource == "secrets"]


def key_of(obj: dict[str, Any]) -> bytes:
    return base64.b64decode(obj["data"][KEY], validate=True)


def test_the_leader_creates_the_secret_when_missing(env: Env) -> None:
    env.set_config(POOLS)
    assert secret(env) is None
    ctl = env.controller("ctl-a")
    created = wait_for(lambda: secret(env), what="the membership Secret")
    assert created["type"] == "Opaque"
    assert len(key_of(created)) == KEY_BYTES
    creates = [r for r in secret_requests(env, "ctl-a") if r.verb == "create"]
    assert [(r.namespace, r.code) for r in creates] == [(env.ns, 201)]
    assert ctl.is_leader()
    assert created["metadata"]["managedFields"][0]["manager"] == "ironlb-controller"
    # The key is random: a second install (another namespace's worth) gets another one.
    other = make_api_client(str(env.kubeconfig("test")))
    try:
        assert ensure_membership_secret(other, env.ns, "another") is Outcome.CREATED
    finally:
        other.close()  # type: ignore[no-untyped-call]
    another = secret(env, "another")
    assert another is not None and key_of(another) != key_of(created)


def test_an_existing_secret_is_left_untouched(env: Env) -> None:
    env.set_config(POOLS)
    mine = {"metadata": {"name": NAME}, "data": {KEY: base64.b64encode(b"k" * 32).decode()}}
    env.core.create_namespaced_secret(env.ns, mine)
    before = secret(env)
    assert before is not None
    env.create(lb("web"))
    env.controller("ctl-a")
    wait_for(lambda: env.ips("web"), what="the leader allocating")
    wait_for(
        lambda: any(r.verb == "get" and r.code == 200 for r in secret_requests(env, "ctl-a")),
        what="the leader looking at the Secret",
    )
    assert [r for r in secret_requests(env, "ctl-a") if r.verb != "get"] == []
    after = secret(env)
    assert after is not None and after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert key_of(after) == b"k" * 32


def test_a_standby_makes_no_request_for_the_secret_until_it_leads(env: Env) -> None:
    env.set_config(POOLS)
    # The first leader is told not to manage the Secret, so only the standby could create it.
    a = env.controller("ctl-a", membership_secret="")
    wait_for(lambda: env.lease_holder() == "ctl-a", what="ctl-a leads")
    b = env.controller("ctl-b")
    # ready(): ctl-b has listed and judged the config, which its control step does only after
    # the step that would create the Secret; it has run at least once, as a standby.
    wait_for(b.ready, what="ctl-b synced and configured")
    wait_for(
        lambda: sum(r.resource == "leases" and r.verb != "watch" for r in env.requests("ctl-b")) >= 3,
        what="ctl-b trying for the Lease",
    )
    assert env.lease_holder() == "ctl-a" and not b.is_leader()
    assert secret_requests(env, "ctl-b") == []
    assert secret_requests(env, "ctl-a") == []  # disabled with an empty name
    assert secret(env) is None
    env.stop(a)  # releases the Lease
    wait_for(lambda: env.lease_holder() == "ctl-b", what="ctl-b takes over")
    created = wait_for(lambda: secret(env), what="the Secret, created by the new leader")
    assert len(key_of(created)) == KEY_BYTES
    assert [r.verb for r in secret_requests(env, "ctl-b")] == ["get", "create"]


def test_a_refused_create_is_retried_without_holding_up_allocation(env: Env) -> None:
    # RBAC missing the create grant at first (403 is temporary: a grant may be added later).
    env.set_config(POOLS)
    env.create(lb("web"))
    env.controller("ctl-a", rules=everything_but("create", "secrets"))
    wait_for(lambda: env.ips("web"), what="allocation while the Secret cannot be created")
    wait_for(
        lambda: sum(r.verb == "create" and r.code == 403 for r in secret_requests(env, "ctl-a")) >= 5,
        what="creates refused, and retried",
    )
    assert secret(env) is None
    env.kube.set_rules(env.roles["ctl-a"], EVERYTHING)  # the grant arrives
    created = wait_for(lambda: secret(env), what="the Secret once create is allowed")
    assert len(key_of(created)) == KEY_BYTES


def test_racing_replicas_create_it_exactly_once(env: Env) -> None:
    """Whoever loses the race (409 on create, or a GET after the winner's create) is fine with it."""
    racers = 8
    clients = [make_api_client(str(env.kubeconfig("test"))) for _ in range(racers)]
    start = threading.Barrier(racers)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def race(api: Any) -> None:
        # Connected and warmed up before the start, so the GETs overlap.
        client.CoreV1Api(api).list_namespaced_secret(env.ns)
        start.wait()
        outcome = ensure_membership_secret(api, env.ns)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=race, args=(c,)) for c in clients]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for c in clients:
            c.close()  # type: ignore[no-untyped-call]
    assert len(outcomes) == racers
    assert outcomes.count(Outcome.CREATED) == 1
    assert set(outcomes) <= {Outcome.CREATED, Outcome.EXISTS, Outcome.RACED}
    writes = [r for r in secret_requests(env, "test") if r.verb not in ("get", "list")]
    assert all(r.verb == "create" for r in writes)  # never an update or a patch
    assert sum(r.code == 201 for r in writes) == 1
    assert all(r.code == 409 for r in writes if r.code != 201)
    assert outcomes.count(Outcome.RACED) == len(writes) - 1


def test_the_flag_and_its_environment_variable() -> None:
    assert parse_options([], {}).membership_secret == NAME
    assert parse_options(["--membership-secret", "mine"], {}).membership_secret == "mine"
    assert parse_options([], {"IRONLB_MEMBERSHIP_SECRET": "theirs"}).membership_secret == "theirs"
    # Empty disables, from the environment as from the flag; the flag wins over the environment.
    assert parse_options([], {"IRONLB_MEMBERSHIP_SECRET": ""}).membership_secret == ""
    assert parse_options(["--membership-secret="], {"IRONLB_MEMBERSHIP_SECRET": "x"}).membership_secret == ""


def test_a_secret_without_the_key_is_reported_not_fixed(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.core.create_namespaced_secret(env.ns, {"metadata": {"name": NAME}, "data": {"other": "eA=="}})
    before = secret(env)
    assert before is not None
    assert ensure_membership_secret(env.api, env.ns) is Outcome.EXISTS
    after = secret(env)
    assert after is not None and after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["data"] == {"other": "eA=="}
    assert any("exists without key 'secretkey'" in r.getMessage() for r in caplog.records)
