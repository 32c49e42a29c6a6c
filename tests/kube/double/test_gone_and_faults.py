"""The double's faults through the real client: connections reset mid-stream, outages (refused,
503), the bounded history's 410, the request log, the double as a process."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config

from tests.kube.double.conftest import Double, lb_service
from tests.support.kubeapi import KubeApiProcess, KubeApiServer


def test_bounded_history_expires_old_resource_versions(tmp_path: Path) -> None:
    with KubeApiServer(history_limit=3) as server:
        api = config.new_client_from_config(config_file=str(server.write_kubeconfig(tmp_path / "kc")))
        core = client.CoreV1Api(api)
        start = core.list_namespaced_service("default").metadata.resource_version
        for i in range(3):
            core.create_namespaced_service("default", lb_service(f"s{i}"))
        ok = core.list_namespaced_service(
            "default", watch=True, resource_version=start, timeout_seconds=1, _preload_content=False
        )
        assert [json.loads(x)["type"] for x in ok.read().splitlines()] == ["ADDED"] * 3
        core.create_namespaced_service("default", lb_service("s3"))
        expired = core.list_namespaced_service(
            "default", watch=True, resource_version=start, timeout_seconds=1, _preload_content=False
        )
        assert [json.loads(x)["type"] for x in expired.read().splitlines()] == ["ERROR"]
        api.close()


def test_drop_watches_cuts_the_stream(double: Double) -> None:
    rv = double.core.list_namespaced_service("default").metadata.resource_version
    resp = double.core.list_namespaced_service(
        "default", watch=True, resource_version=rv, timeout_seconds=30, _preload_content=False
    )
    double.server.drop_watches()
    with pytest.raises(urllib3.exceptions.ProtocolError):
        resp.read()


def test_outage_refuses_then_recovers(double: Double) -> None:
    double.server.begin_outage("refuse")
    try:
        with pytest.raises(urllib3.exceptions.MaxRetryError):
            double.core.list_namespaced_service("default", _request_timeout=2)
    finally:
        double.server.end_outage()
    double.core.create_namespaced_service("default", lb_service("after"))
    assert len(double.core.list_namespaced_service("default").items) == 1


def test_outage_503(double: Double) -> None:
    double.server.begin_outage("503")
    with pytest.raises(client.ApiException) as exc:
        double.core.list_namespaced_service("default")
    assert exc.value.status == 503
    double.server.end_outage()
    double.core.list_namespaced_service("default")


def test_request_log_names_rbac_verbs_and_subresources(double: Double) -> None:
    double.core.create_namespaced_service("default", lb_service("a"))
    double.core.patch_namespaced_service_status("a", "default", {"status": {"loadBalancer": {}}})
    double.core.read_namespaced_service("a", "default")
    double.core.list_namespaced_service("default")
    # A list or watch pinned to one name is that name's (RBAC resourceNames can grant it).
    double.core.list_namespaced_service("default", field_selector="metadata.name=a")
    double.core.list_namespaced_service("default", field_selector="metadata.name!=a")
    core: Any = double.core
    watch = core.list_namespaced_service(
        "default", field_selector="metadata.name==a", watch=True, timeout_seconds=1, _preload_content=False
    )
    watch.read()  # to the end of the stream: a half-read body must not go back to the pool
    watch.release_conn()
    double.core.delete_namespaced_service("a", "default")
    recs = [(r.verb, r.rbac_resource, r.namespace, r.name, r.code) for r in double.server.requests()]
    assert recs == [
        ("create", "services", "default", None, 201),
        ("patch", "services/status", "default", "a", 200),
        ("get", "services", "default", "a", 200),
        ("list", "services", "default", None, 200),
        ("list", "services", "default", "a", 200),
        ("list", "services", "default", None, 200),
        ("watch", "services", "default", "a", 200),
        ("delete", "services", "default", "a", 200),
    ]
    patch = double.server.requests()[1]
    assert json.loads(patch.body or "") == {"status": {"loadBalancer": {}}} and patch.at > 0
    assert double.server.requests()[2].body is None


def test_subprocess_double_with_control_client(tmp_path: Path) -> None:
    with KubeApiProcess(tmp_path) as proc:
        api = config.new_client_from_config(config_file=str(proc.kubeconfig))
        core = client.CoreV1Api(api)
        rv = proc.control.seed(
            "services",
            [
                {
                    **lb_service(f"s{i}"),
                    "metadata": {"name": f"s{i}", "namespace": "default"},
                    "status": {"loadBalancer": {"ingress": [{"ip": f"192.0.2.{i}"}]}},
                }
                for i in range(3)
            ],
            keep_status=True,
        )
        lst = core.list_namespaced_service("default")
        assert lst.metadata.resource_version == rv
        assert [s.status.load_balancer.ingress[0].ip_mode for s in lst.items] == ["VIP"] * 3
        assert [(r.verb, r.code) for r in proc.control.requests()] == [("list", 200)]
        # An outage driven over the control endpoint: refused, then back with the same data.
        proc.control.outage(1.0)
        deadline = time.monotonic() + 20

        def listing_fails() -> bool:
            try:
                core.list_namespaced_service("default", _request_timeout=2)
            except urllib3.exceptions.MaxRetryError:
                return True
            return False

        while not listing_fails():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        while listing_fails():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert len(core.list_namespaced_service("default").items) == 3
        api.close()
