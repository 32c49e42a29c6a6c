"""410 Gone, dropped watches, outages, the request log and tokens, through the real client."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config, watch

from tests.kubeapi import KubeApiProcess, KubeApiServer

from .conftest import Kube, lb_service


def test_list_from_compacted_rv_is_http_410(kube: Kube) -> None:
    kube.core.create_namespaced_service("default", lb_service("a"))
    old = kube.core.list_namespaced_service("default").metadata.resource_version
    kube.core.create_namespaced_service("default", lb_service("b"))
    kube.server.compact()
    with pytest.raises(client.ApiException) as exc:
        kube.core.list_namespaced_service(
            "default", resource_version=old, resource_version_match="NotOlderThan"
        )
    assert exc.value.status == 410
    assert json.loads(exc.value.body)["reason"] == "Expired"
    # A fresh list works and a watch from its rv is valid.
    fresh = kube.core.list_namespaced_service("default")
    assert len(fresh.items) == 2


def test_watch_from_compacted_rv_gets_error_event_410(kube: Kube) -> None:
    old = kube.core.list_namespaced_service("default").metadata.resource_version
    kube.core.create_namespaced_service("default", lb_service("a"))
    kube.server.compact()
    resp = kube.core.list_namespaced_service(
        "default", watch=True, resource_version=old, _preload_content=False
    )
    lines = [json.loads(line) for line in resp.read().splitlines() if line]
    assert resp.status == 200
    assert [(ev["type"], ev["object"]["code"]) for ev in lines] == [("ERROR", 410)]
    with pytest.raises(client.ApiException) as exc:  # the client's own Watch retries once, then raises
        list(watch.Watch().stream(kube.core.list_namespaced_service, "default", resource_version=old))
    assert exc.value.status == 410


def test_watch_from_compacted_rv_as_http_status(tmp_path: Path) -> None:
    with KubeApiServer(watch_gone="http") as server:
        api = config.new_client_from_config(config_file=str(server.write_kubeconfig(tmp_path / "kc")))
        core = client.CoreV1Api(api)
        old = core.list_namespaced_service("default").metadata.resource_version
        core.create_namespaced_service("default", lb_service("a"))
        server.compact()
        with pytest.raises(client.ApiException) as exc:
            core.list_namespaced_service("default", watch=True, resource_version=old, _preload_content=False)
        assert exc.value.status == 410
        api.close()


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


def test_expire_watches_sends_410_mid_stream(kube: Kube) -> None:
    rv = kube.core.list_namespaced_service("default").metadata.resource_version
    resp = kube.core.list_namespaced_service(
        "default", watch=True, resource_version=rv, timeout_seconds=30, _preload_content=False
    )
    kube.core.create_namespaced_service("default", lb_service("a"))
    chunks = resp.stream(1024)
    first = json.loads(next(chunks))
    assert first["type"] == "ADDED"
    kube.server.expire_watches()
    rest = [json.loads(x) for x in b"".join(chunks).splitlines() if x]
    assert rest[-1]["type"] == "ERROR" and rest[-1]["object"]["code"] == 410


def test_drop_watches_cuts_the_stream(kube: Kube) -> None:
    rv = kube.core.list_namespaced_service("default").metadata.resource_version
    resp = kube.core.list_namespaced_service(
        "default", watch=True, resource_version=rv, timeout_seconds=30, _preload_content=False
    )
    kube.server.drop_watches()
    with pytest.raises(urllib3.exceptions.ProtocolError):
        resp.read()


def test_outage_refuses_then_recovers(kube: Kube) -> None:
    kube.server.begin_outage("refuse")
    try:
        with pytest.raises(urllib3.exceptions.MaxRetryError):
            kube.core.list_namespaced_service("default", _request_timeout=2)
    finally:
        kube.server.end_outage()
    kube.core.create_namespaced_service("default", lb_service("after"))
    assert len(kube.core.list_namespaced_service("default").items) == 1


def test_outage_503(kube: Kube) -> None:
    kube.server.begin_outage("503")
    with pytest.raises(client.ApiException) as exc:
        kube.core.list_namespaced_service("default")
    assert exc.value.status == 503
    kube.server.end_outage()
    kube.core.list_namespaced_service("default")


def test_request_log_names_rbac_verbs_and_subresources(kube: Kube) -> None:
    kube.core.create_namespaced_service("default", lb_service("a"))
    kube.core.patch_namespaced_service_status("a", "default", {"status": {"loadBalancer": {}}})
    kube.core.read_namespaced_service("a", "default")
    kube.core.list_namespaced_service("default")
    # A list or watch pinned to one name is that name's (RBAC resourceNames can grant it).
    kube.core.list_namespaced_service("default", field_selector="metadata.name=a")
    kube.core.list_namespaced_service("default", field_selector="metadata.name!=a")
    core: Any = kube.core
    watch = core.list_namespaced_service(
        "default", field_selector="metadata.name==a", watch=True, timeout_seconds=1, _preload_content=False
    )
    watch.read()  # to the end of the stream: a half-read body must not go back to the pool
    watch.release_conn()
    kube.core.delete_namespaced_service("a", "default")
    recs = [(r.verb, r.rbac_resource, r.namespace, r.name, r.code) for r in kube.server.requests()]
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
    patch = kube.server.requests()[1]
    assert json.loads(patch.body or "") == {"status": {"loadBalancer": {}}} and patch.at > 0
    assert kube.server.requests()[2].body is None


def test_tokens_give_401_and_403(tmp_path: Path) -> None:
    grants = {"reader": [("list", "services"), ("get", "services")], "admin": None}
    with KubeApiServer(tokens=grants) as server:
        for token, expect in (("admin", None), ("reader", 403), ("nobody", 401)):
            kc = server.write_kubeconfig(tmp_path / f"kc-{token}", token=token)
            api = config.new_client_from_config(config_file=str(kc))
            core = client.CoreV1Api(api)
            if expect != 401:
                core.list_namespaced_service("default")
            if expect is None:
                core.create_namespaced_service("default", lb_service("a"))
            else:
                with pytest.raises(client.ApiException) as exc:
                    core.patch_namespaced_service_status("a", "default", {"status": {}})
                assert exc.value.status == expect
            api.close()
        users = [(r.user, r.verb, r.code) for r in server.requests()]
        assert users[-2:] == [("reader", "patch", 403), (None, "patch", 401)]


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
        proc.control.compact()
        with pytest.raises(client.ApiException) as exc:
            core.list_namespaced_service("default", resource_version="1")
        assert exc.value.status == 410
        assert [(r.verb, r.code) for r in proc.control.requests()] == [("list", 200), ("list", 410)]
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
