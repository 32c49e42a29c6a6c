"""ServiceWriter and EventRecorder against the real API server (a write that hangs and a 503:
against the double, which can produce them on demand)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest

from ironlb.kube.client import make_api_client
from ironlb.kube.errors import ObjectGone, PermanentKubeError, TemporaryKubeError, call_with_retry
from ironlb.kube.events import IP_ALLOCATED, EventRecorder
from ironlb.kube.status import ServiceWriter, ingress_needs_patch, ingress_patch, status_patch
from ironlb.kube_types import Service
from tests.kube.conftest import Double, lb
from tests.support.pytest_plugin import Kube


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


@pytest.fixture
def api(kube: Kube) -> Iterator[Any]:
    """ironlb's client as the controller makes it (its own ServiceAccount, its program's name)."""
    c = make_api_client(str(kube.kubeconfig("writer")), program="ironlb-controller")
    try:
        yield c
    finally:
        c.close()


def _read(core: Any, ns: str, name: str = "a") -> Service:
    return cast(Service, json.loads(core.read_namespaced_service(name, ns, _preload_content=False).data))


def test_writer_sets_and_clears_status_and_pool_in_one_request_each(kube: Kube, api: Any) -> None:
    kube.core.create_namespaced_service(kube.ns, lb("a"))
    writer = ServiceWriter(api)
    pool = {"ironlb.io/ip-allocated-from-pool": "default"}
    after = writer.write(_read(kube.core, kube.ns), ips=["192.0.2.7"], annotations=pool)
    assert after["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.7", "ipMode": "VIP"}]
    assert after["metadata"]["annotations"] == pool
    assert _read(kube.core, kube.ns)["metadata"]["annotations"] == pool  # the server kept it
    unchanged = _read(kube.core, kube.ns)
    assert writer.write(unchanged, ips=["192.0.2.7"], annotations=pool) is unchanged  # no request
    cleared = writer.write(after, ips=[], annotations={"ironlb.io/ip-allocated-from-pool": None})
    assert cleared["status"]["loadBalancer"] == {}
    assert not cleared["metadata"].get("annotations")
    writes = [(r.verb, r.rbac_resource, r.code) for r in kube.audit(kube.user("writer")) if r.write]
    assert writes == [("patch", "services/status", 200), ("patch", "services/status", 200)]
    assert writer.updates == 2


def test_every_write_names_its_program_as_field_manager_and_user_agent(kube: Kube, api: Any) -> None:
    kube.core.create_namespaced_service(kube.ns, lb("a"))
    writer = ServiceWriter(api)
    after = writer.write(
        _read(kube.core, kube.ns),
        ips=["192.0.2.7"],
        annotations={"ironlb.io/ip-allocated-from-pool": "default"},
    )
    rec = EventRecorder(api, host="node-1")
    try:
        rec.normal(after, IP_ALLOCATED, 'Assigned IP ["192.0.2.7"]')
        rec.normal(after, IP_ALLOCATED, 'Assigned IP ["192.0.2.7"]')  # patched: count 2
        assert rec.flush(10)
    finally:
        rec.close()
    managers = {
        (f.manager, f.operation, f.subresource or "")
        for f in kube.core.read_namespaced_service("a", kube.ns).metadata.managed_fields
    }
    assert ("ironlb-controller", "Update", "status") in managers  # the IP and the pool annotation
    assert {m for m, _, _ in managers} == {"ironlb-controller", "OpenAPI-Generator"}  # the test made it
    (event,) = kube.core.list_namespaced_event(kube.ns).items
    assert {f.manager for f in event.metadata.managed_fields} == {"ironlb-controller"}
    mine = kube.audit(kube.user("writer"))
    assert mine and all(r.user_agent.startswith("ironlb-controller/0.1.0 (") for r in mine), {
        r.user_agent for r in mine
    }


def test_writer_errors_are_classified(kube: Kube, api: Any) -> None:
    kube.core.create_namespaced_service(kube.ns, lb("a"))
    writer = ServiceWriter(api)
    stale = _read(kube.core, kube.ns)
    kube.core.patch_namespaced_service("a", kube.ns, {"metadata": {"labels": {"x": "1"}}})
    with pytest.raises(TemporaryKubeError) as exc:
        writer.set_ingress(stale, ["192.0.2.7"])
    assert exc.value.status == 409
    with pytest.raises(PermanentKubeError) as bad:
        writer.set_ingress(_read(kube.core, kube.ns), ["not-an-ip"])
    assert bad.value.status == 422
    gone = _read(kube.core, kube.ns)
    kube.core.delete_namespaced_service("a", kube.ns)
    with pytest.raises(ObjectGone):
        writer.set_ingress(gone, ["192.0.2.7"])


def test_event_recorder_creates_and_aggregates(kube: Kube, api: Any) -> None:
    kube.core.create_namespaced_service(kube.ns, lb("a"))
    service = _read(kube.core, kube.ns)
    rec = EventRecorder(api, host="node-1")
    try:
        rec.normal(service, IP_ALLOCATED, 'Assigned IP ["192.0.2.7"]')
        rec.normal(service, IP_ALLOCATED, 'Assigned IP ["192.0.2.7"]')
        rec.warning(service, "AllocationFailed", "no available IPs")
        assert rec.flush(10)
    finally:
        rec.close()
    events = kube.core.list_namespaced_event(kube.ns, field_selector="involvedObject.name=a").items
    got = sorted((e.type, e.reason, e.count, e.involved_object.uid) for e in events)
    uid = service["metadata"]["uid"]
    assert got == [("Normal", "IPAllocated", 2, uid), ("Warning", "AllocationFailed", 1, uid)]
    assert {e.source.component for e in events} == {"ironlb-controller"}
    assert {e.source.host for e in events} == {"node-1"}


# -- on the double: what a real server does not do on demand --------------------------------------


def test_a_status_write_the_server_never_answers_fails_temporarily_instead_of_hanging(double: Double) -> None:
    double.core.create_namespaced_service("default", lb("a"))
    writer = ServiceWriter(double.api, request_timeout=0.5)
    double.server.hang("patch", "services/status")
    try:
        with pytest.raises(TemporaryKubeError):  # the work queue retries it with backoff
            writer.set_ingress(_read(double.core, "default"), ["192.0.2.7"])
        assert double.server.hung() == 1  # sent once: a timed-out PATCH is not re-sent
    finally:
        double.server.unhang(drop=True)
    after = writer.set_ingress(_read(double.core, "default"), ["192.0.2.7"])
    assert after["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.7", "ipMode": "VIP"}]


def test_event_writes_the_server_never_answers_are_given_up(double: Double) -> None:
    double.core.create_namespaced_service("default", lb("a"))
    rec = EventRecorder(double.api, request_timeout=0.2)
    double.server.hang("create", "events")
    try:
        rec.warning(_read(double.core, "default"), "AllocationFailed", "no available IPs")
        assert rec.flush(30)  # without a bound the recorder's thread would wait forever
        assert rec.failed == 1 and rec.sent == 0
    finally:
        double.server.unhang(drop=True)
        rec.close()


def test_call_with_retry_survives_a_short_run_of_503s(double: Double) -> None:
    double.server.begin_outage("503")
    calls = []

    def list_services() -> object:
        calls.append(1)
        if len(calls) == 3:
            double.server.end_outage()
        return double.core.list_namespaced_service("default")

    call_with_retry(list_services, initial=0.01)
    assert len(calls) == 3  # two 503s retried with backoff, then success
