"""ServiceWriter and EventRecorder against the API double."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from ironlb.kube.errors import ObjectGone, PermanentKubeError, TemporaryKubeError, call_with_retry
from ironlb.kube.events import IP_ALLOCATED, EventRecorder
from ironlb.kube.status import ServiceWriter, ingress_needs_patch, ingress_patch, status_patch
from ironlb.kube_types import Service

from .conftest import Env, lb


def svc(ingress: list[dict[str, str]] | None = None, rv: str = "5") -> Service:
    obj: dict[str, Any] = {"metadata": {"name": "a", "namespace": "default", "resourceVersion": rv}}
    if ingress is not None:
        obj["status"] = {"loadBalancer": {"ingress": ingress}}
    return cast(Service, obj)


@pytest.mark.parametrize(
    ("ingress", "ips", "needed"),
    [
        (None, [], False),
        ([], [], False),
        (None, ["192.0.2.1"], True),
        ([{"ip": "192.0.2.1", "ipMode": "VIP"}], ["192.0.2.1"], False),
        ([{"ip": "192.0.2.1"}], ["192.0.2.1"], False),  # ipMode defaults to VIP: no endless re-patch
        ([{"ip": "192.0.2.1", "ipMode": "Proxy"}], ["192.0.2.1"], True),
        ([{"ip": "2001:db8::1"}, {"ip": "192.0.2.1"}], ["192.0.2.1", "2001:db8::1"], False),
        ([{"ip": "192.0.2.1"}], ["192.0.2.2"], True),
        ([{"ip": "192.0.2.1"}], [], True),
        ([{"hostname": "lb.example"}], [], True),
    ],
)
def test_ingress_needs_patch(ingress: list[dict[str, str]] | None, ips: list[str], needed: bool) -> None:
    assert ingress_needs_patch(svc(ingress), ips) is needed


def test_patch_bodies() -> None:
    assert ingress_patch(svc(), ["192.0.2.1"]) == {
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]}},
        "metadata": {"resourceVersion": "5"},
    }
    assert ingress_patch(svc(), [])["status"] == {"loadBalancer": {"ingress": None}}
    current = svc()
    current["metadata"]["annotations"] = {"ironlb.io/ip-allocated-from-pool": "p1"}
    assert status_patch(current, None, {"ironlb.io/ip-allocated-from-pool": "p1"}) is None
    assert status_patch(current, None, {"ironlb.io/ip-allocated-from-pool": None}) == {
        "metadata": {"annotations": {"ironlb.io/ip-allocated-from-pool": None}, "resourceVersion": "5"}
    }
    # The IP and its pool in one patch; an annotation already right is not sent again.
    assert status_patch(current, ["192.0.2.1"], {"ironlb.io/ip-allocated-from-pool": "p1"}) == {
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]}},
        "metadata": {"resourceVersion": "5"},
    }
    assert status_patch(current, ["192.0.2.1"], {"ironlb.io/ip-allocated-from-pool": "p2"}) == {
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]}},
        "metadata": {"resourceVersion": "5", "annotations": {"ironlb.io/ip-allocated-from-pool": "p2"}},
    }


def _read(env: Env, name: str = "a") -> Service:
    return cast(
        Service, json.loads(env.core.read_namespaced_service(name, "default", _preload_content=False).data)
    )


def test_writer_sets_and_clears_status_and_pool_in_one_request_each(env: Env) -> None:
    env.core.create_namespaced_service("default", lb("a"))
    writer = ServiceWriter(env.api)
    env.server.clear_requests()
    pool = {"ironlb.io/ip-allocated-from-pool": "default"}
    after = writer.write(_read(env), ips=["192.0.2.7"], annotations=pool)
    assert after["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.7", "ipMode": "VIP"}]
    assert after["metadata"]["annotations"] == pool
    assert _read(env)["metadata"]["annotations"] == pool
    assert writer.write(_read(env), ips=["192.0.2.7"], annotations=pool) == _read(env)  # no request
    cleared = writer.write(after, ips=[], annotations={"ironlb.io/ip-allocated-from-pool": None})
    assert cleared["status"]["loadBalancer"] == {}
    assert not cleared["metadata"].get("annotations")
    writes = [(r.verb, r.rbac_resource) for r in env.server.requests() if r.verb == "patch"]
    assert writes == [("patch", "services/status"), ("patch", "services/status")]
    assert writer.updates == 2


def test_writer_errors_are_classified(env: Env) -> None:
    env.core.create_namespaced_service("default", lb("a"))
    writer = ServiceWriter(env.api)
    stale = _read(env)
    env.core.patch_namespaced_service("a", "default", {"metadata": {"labels": {"x": "1"}}})
    with pytest.raises(TemporaryKubeError) as exc:
        writer.set_ingress(stale, ["192.0.2.7"])
    assert exc.value.status == 409
    with pytest.raises(PermanentKubeError) as bad:
        writer.set_ingress(_read(env), ["not-an-ip"])
    assert bad.value.status == 422
    gone = _read(env)
    env.core.delete_namespaced_service("a", "default")
    with pytest.raises(ObjectGone):
        writer.set_ingress(gone, ["192.0.2.7"])


def test_a_status_write_the_server_never_answers_fails_temporarily_instead_of_hanging(env: Env) -> None:
    env.core.create_namespaced_service("default", lb("a"))
    writer = ServiceWriter(env.api, request_timeout=0.5)
    env.server.hang("patch", "services/status")
    try:
        with pytest.raises(TemporaryKubeError):  # the work queue retries it with backoff
            writer.set_ingress(_read(env), ["192.0.2.7"])
        assert env.server.hung() == 1  # sent once: a timed-out PATCH is not re-sent by urllib3
    finally:
        env.server.unhang(drop=True)
    after = writer.set_ingress(_read(env), ["192.0.2.7"])
    assert after["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.7", "ipMode": "VIP"}]


def test_event_writes_the_server_never_answers_are_given_up(env: Env) -> None:
    env.core.create_namespaced_service("default", lb("a"))
    rec = EventRecorder(env.api, request_timeout=0.2)
    env.server.hang("create", "events")
    try:
        rec.warning(_read(env), "AllocationFailed", "no available IPs")
        assert rec.flush(30)  # without a bound the recorder's thread would wait forever
        assert rec.failed == 1 and rec.sent == 0
    finally:
        env.server.unhang(drop=True)
        rec.close()


def test_call_with_retry_survives_a_short_outage(env: Env) -> None:
    env.server.begin_outage("503")
    calls = []

    def list_services() -> object:
        calls.append(1)
        if len(calls) == 3:
            env.server.end_outage()
        return env.core.list_namespaced_service("default")

    call_with_retry(list_services, initial=0.01)
    assert len(calls) == 3  # two 503s retried with backoff, then success


def test_event_recorder_creates_and_aggregates(env: Env) -> None:
    env.core.create_namespaced_service("default", lb("a"))
    service = _read(env)
    rec = EventRecorder(env.api, host="node-1")
    try:
        rec.normal(service, IP_ALLOCATED, 'Assigned IP ["192.0.2.7"]')
        rec.normal(service, IP_ALLOCATED, 'Assigned IP ["192.0.2.7"]')
        rec.warning(service, "AllocationFailed", "no available IPs")
        assert rec.flush(10)
    finally:
        rec.close()
    events = env.core.list_namespaced_event("default", field_selector="involvedObject.name=a").items
    got = sorted((e.type, e.reason, e.count, e.involved_object.uid) for e in events)
    uid = service["metadata"]["uid"]
    assert got == [("Normal", "IPAllocated", 2, uid), ("Warning", "AllocationFailed", 1, uid)]
    assert {e.source.component for e in events} == {"ironlb-controller"}
