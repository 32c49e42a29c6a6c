"""Server-side behaviour from K8S-API.md, seen through the real client."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from kubernetes import client

from tests.kube.double.conftest import Double, lb_service

INGRESS = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}}


def _status(exc: pytest.ExceptionInfo[client.ApiException]) -> tuple[int, str]:
    return exc.value.status, json.loads(exc.value.body)["reason"]


def test_service_gets_cluster_ip_node_ports_and_empty_lb_status(double: Double) -> None:
    svc = double.core.create_namespaced_service(
        "default",
        {
            **lb_service("a"),
            "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
        },
    )
    assert svc.spec.cluster_ip.startswith("10.9") and svc.spec.cluster_ips == [svc.spec.cluster_ip]
    assert 30000 <= svc.spec.ports[0].node_port <= 32767
    assert svc.spec.external_traffic_policy == "Cluster"
    assert not svc.status.load_balancer.ingress  # status given on create is dropped
    other = double.core.create_namespaced_service(
        "default", lb_service("b", allocateLoadBalancerNodePorts=False)
    )
    assert other.spec.ports[0].node_port is None
    assert other.spec.cluster_ip != svc.spec.cluster_ip
    dual = double.core.create_namespaced_service(
        "default", lb_service("c", ipFamilyPolicy="RequireDualStack")
    )
    assert dual.spec.ip_families == ["IPv4", "IPv6"] and ":" in dual.spec.cluster_ips[1]


def test_type_change_drops_node_ports_and_class_is_immutable(double: Double) -> None:
    double.core.create_namespaced_service("default", lb_service("a", loadBalancerClass="ironlb.io/x"))
    with pytest.raises(client.ApiException) as exc:
        double.core.patch_namespaced_service("a", "default", {"spec": {"loadBalancerClass": "other"}})
    assert _status(exc) == (422, "Invalid")
    svc = double.core.patch_namespaced_service("a", "default", {"spec": {"type": "ClusterIP"}})
    assert svc.spec.ports[0].node_port is None and svc.spec.load_balancer_class is None
    with pytest.raises(client.ApiException) as exc:
        double.core.patch_namespaced_service("a", "default", {"spec": {"clusterIP": "10.96.99.99"}})
    assert _status(exc) == (422, "Invalid")


def test_status_only_through_status_subresource(double: Double) -> None:
    created = double.core.create_namespaced_service("default", lb_service("a"))
    # Status in a main-resource write is silently dropped.
    after_main = double.core.patch_namespaced_service(
        "a", "default", {**INGRESS, "metadata": {"labels": {"l": "1"}}}
    )
    assert not after_main.status.load_balancer.ingress and after_main.metadata.labels == {"l": "1"}
    # Spec changes sent to /status are ignored; status is written.
    body = {**INGRESS, "spec": {"type": "ClusterIP"}}
    after_status = double.core.patch_namespaced_service_status("a", "default", body)
    assert after_status.spec.type == "LoadBalancer"
    assert after_status.status.load_balancer.ingress[0].ip == "192.0.2.10"
    assert int(after_status.metadata.resource_version) > int(created.metadata.resource_version)
    # A PUT of the main resource keeps the status.
    fetched = double.core.read_namespaced_service("a", "default")
    fetched.status = None
    replaced = double.core.replace_namespaced_service("a", "default", fetched)
    assert replaced.status.load_balancer.ingress[0].ip == "192.0.2.10"


def test_ip_mode_is_filled_and_validated(double: Double) -> None:
    double.core.create_namespaced_service("default", lb_service("a"))
    for ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
        svc = double.core.patch_namespaced_service_status("a", "default", INGRESS, _content_type=ctype)
        assert svc.status.load_balancer.ingress[0].ip_mode == "VIP"
    raw = json.loads(double.core.read_namespaced_service_status("a", "default", _preload_content=False).data)
    assert raw["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.10", "ipMode": "VIP"}]
    proxy = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.11", "ipMode": "Proxy"}]}}}
    assert (
        double.core.patch_namespaced_service_status("a", "default", proxy)
        .status.load_balancer.ingress[0]
        .ip_mode
        == "Proxy"
    )
    for bad in (
        {"ip": "192.0.2.300"},
        {"ip": "192.0.2.1", "ipMode": "Teleport"},
        {"hostname": "x", "ipMode": "VIP"},
    ):
        with pytest.raises(client.ApiException) as exc:
            double.core.patch_namespaced_service_status(
                "a", "default", {"status": {"loadBalancer": {"ingress": [bad]}}}
            )
        assert _status(exc) == (422, "Invalid")


def test_no_op_write_keeps_resource_version(double: Double) -> None:
    double.core.create_namespaced_service("default", lb_service("a"))
    first = double.core.patch_namespaced_service_status("a", "default", INGRESS)
    again = double.core.patch_namespaced_service_status(
        "a", "default", {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10", "ipMode": "VIP"}]}}}
    )
    assert again.metadata.resource_version == first.metadata.resource_version


def test_patch_content_types(double: Double) -> None:
    double.core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "a", "annotations": {"keep": "1", "drop": "1"}},
            "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]},
        },
    )
    merged = double.core.patch_namespaced_service(
        "a",
        "default",
        {"metadata": {"annotations": {"drop": None, "new": "2"}}},
        _content_type="application/merge-patch+json",
    )
    assert merged.metadata.annotations == {"keep": "1", "new": "2"}
    # Strategic merge merges ports by port number; merge patch replaces the list.
    smp = double.core.patch_namespaced_service(
        "a", "default", {"spec": {"ports": [{"port": 80, "name": "web"}]}}
    )
    assert [(p.port, p.name) for p in smp.spec.ports] == [(80, "web"), (443, "https")]
    mp = double.core.patch_namespaced_service(
        "a", "default", {"spec": {"ports": [{"port": 80}]}}, _content_type="application/merge-patch+json"
    )
    assert [p.port for p in mp.spec.ports] == [80]
    jp = double.core.patch_namespaced_service(
        "a", "default", [{"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}]
    )
    assert jp.metadata.labels == {"x": "y"}
    with pytest.raises(client.ApiException) as exc:
        double.core.patch_namespaced_service(
            "a", "default", [{"op": "test", "path": "/metadata/labels/x", "value": "z"}]
        )
    assert exc.value.status == 422


def test_conflicts_not_found_and_generate_name(double: Double) -> None:
    made = double.core.create_namespaced_config_map(
        "default", {"metadata": {"generateName": "cfg-"}, "data": {}}
    )
    assert made.metadata.name.startswith("cfg-") and len(made.metadata.name) == 9
    with pytest.raises(client.ApiException) as exc:
        double.core.create_namespaced_config_map("default", {"metadata": {"name": made.metadata.name}})
    assert _status(exc) == (409, "AlreadyExists")
    stale = double.core.read_namespaced_config_map(made.metadata.name, "default")
    double.core.patch_namespaced_config_map(made.metadata.name, "default", {"data": {"a": "1"}})
    stale.data = {"a": "2"}
    with pytest.raises(client.ApiException) as exc:
        double.core.replace_namespaced_config_map(made.metadata.name, "default", stale)
    assert _status(exc) == (409, "Conflict")
    with pytest.raises(client.ApiException) as exc:
        double.core.read_namespaced_config_map("missing", "default")
    assert _status(exc) == (404, "NotFound")
    double.core.delete_namespaced_config_map(made.metadata.name, "default")
    assert double.core.list_namespaced_config_map("default").items == []


def _lease_body(name: str, when: dt.datetime, holder: str = "a") -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 15,
            "acquireTime": when,
            "renewTime": when,
        },
    }


def test_lease_409_on_stale_update(double: Double) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=123456)
    lease = double.coordination.create_namespaced_lease("default", _lease_body("l", now))
    assert lease.spec.renew_time == now
    fresh = double.coordination.read_namespaced_lease("l", "default")
    fresh.spec.holder_identity = "b"
    double.coordination.replace_namespaced_lease("l", "default", fresh)
    lease.spec.holder_identity = "c"  # still carries the old resourceVersion
    with pytest.raises(client.ApiException) as exc:
        double.coordination.replace_namespaced_lease("l", "default", lease)
    assert _status(exc) == (409, "Conflict")
    assert double.coordination.read_namespaced_lease("l", "default").spec.holder_identity == "b"


def test_lease_time_needs_microseconds_and_zone(double: Double) -> None:
    good = dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    raw = double.coordination.create_namespaced_lease(
        "default", _lease_body("ok", good), _preload_content=False
    )
    assert json.loads(raw.data)["spec"]["renewTime"] == "2026-01-02T03:04:05.000006Z"
    for name, when in (
        ("naive", dt.datetime(2026, 1, 2, 3, 4, 5, 6)),
        ("whole", dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
    ):
        with pytest.raises(client.ApiException) as exc:
            double.coordination.create_namespaced_lease("default", _lease_body(name, when))
        assert _status(exc) == (422, "Invalid")


def test_core_and_events_v1(double: Double) -> None:
    double.core.create_namespaced_event(
        "default",
        {
            "metadata": {"generateName": "a."},
            "type": "Normal",
            "reason": "IPAllocated",
            "message": "m",
            "involvedObject": {"kind": "Service", "namespace": "default", "name": "a", "apiVersion": "v1"},
        },
    )
    got = double.core.list_namespaced_event(
        "default", field_selector="involvedObject.name=a,reason=IPAllocated"
    )
    assert [e.reason for e in got.items] == ["IPAllocated"]
    assert double.core.list_namespaced_event("default", field_selector="involvedObject.name=b").items == []
    with pytest.raises(client.ApiException) as exc:
        double.core.create_namespaced_event(
            "other",
            {
                "metadata": {"name": "x"},
                "involvedObject": {"kind": "Service", "namespace": "default", "name": "a"},
            },
        )
    assert _status(exc) == (422, "Invalid")
    ev1 = client.EventsV1Api(double.api)
    body = {
        "metadata": {"name": "e"},
        "reason": "IPAllocated",
        "type": "Normal",
        "action": "Allocate",
        "reportingController": "ironlb.io/controller",
        "reportingInstance": "c-1",
        "note": "n",
        "regarding": {"kind": "Service", "namespace": "default", "name": "a"},
    }
    with pytest.raises(client.ApiException) as exc:  # naive time: no zone on the wire
        ev1.create_namespaced_event("default", {**body, "eventTime": dt.datetime(2026, 1, 1, 0, 0, 0, 5)})
    assert _status(exc) == (422, "Invalid")
    made = ev1.create_namespaced_event("default", {**body, "eventTime": dt.datetime.now(dt.UTC)})
    assert made.event_time is not None


def test_finalizers_defer_deletion(double: Double) -> None:
    double.core.create_namespaced_config_map("default", {"metadata": {"name": "f", "finalizers": ["x/y"]}})
    double.core.delete_namespaced_config_map("f", "default")
    held = double.core.read_namespaced_config_map("f", "default")
    assert held.metadata.deletion_timestamp is not None
    double.core.patch_namespaced_config_map(
        "f", "default", [{"op": "remove", "path": "/metadata/finalizers"}]
    )
    with pytest.raises(client.ApiException) as exc:
        double.core.read_namespaced_config_map("f", "default")
    assert exc.value.status == 404


def test_service_validation_errors(double: Double) -> None:
    bad_specs = [
        {"type": "LoadBalancer", "ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]},
        {"type": "LoadBalancer", "clusterIP": "None", "ports": [{"port": 80}]},
        {"type": "Teleport", "ports": [{"port": 80}]},
        {"type": "ClusterIP", "ports": [{"port": 70000}]},
        {"type": "ExternalName"},
    ]
    for i, spec in enumerate(bad_specs):
        with pytest.raises(client.ApiException) as exc:
            double.core.create_namespaced_service("default", {"metadata": {"name": f"s{i}"}, "spec": spec})
        assert _status(exc) == (422, "Invalid"), spec
    with pytest.raises(client.ApiException) as exc:
        double.core.create_namespaced_service("default", lb_service("Upper"))
    assert _status(exc) == (422, "Invalid")


def test_delete_collection_by_label(double: Double) -> None:
    for name, team in (("a", "x"), ("b", "y"), ("c", "x")):
        double.core.create_namespaced_config_map(
            "default", {"metadata": {"name": name, "labels": {"team": team}}}
        )
    double.core.delete_collection_namespaced_config_map("default", label_selector="team=x")
    assert [c.metadata.name for c in double.core.list_namespaced_config_map("default").items] == ["b"]
