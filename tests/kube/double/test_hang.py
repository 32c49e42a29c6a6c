"""The ``hang`` fault: matching requests are read but never answered until ``unhang``.

Through the real client: a hung call ends only by the client's own request timeout;
other requests are served meanwhile; released requests are applied late (409 when their
resourceVersion went stale meanwhile) or, with ``drop=True``, never.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config

from tests.kube.double.conftest import Double
from tests.support.kubeapi import KubeApiServer

NS = "default"


def lease(holder: str, rv: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "l", "namespace": NS}
    if rv is not None:
        meta["resourceVersion"] = rv
    return {"metadata": meta, "spec": {"holderIdentity": holder}}


def holder(double: Double) -> str:
    return str(double.coordination.read_namespaced_lease("l", NS).spec.holder_identity)


def test_hung_update_times_out_at_the_client_and_is_applied_late(double: Double) -> None:
    created = double.coordination.create_namespaced_lease(NS, lease("a"))
    double.server.hang("update", "leases")
    with pytest.raises(urllib3.exceptions.HTTPError):  # the client's own timeout ends the wait
        double.coordination.replace_namespaced_lease(
            "l", NS, lease("late", created.metadata.resource_version), _request_timeout=0.3
        )
    assert double.server.hung() >= 1  # still held (urllib3 retries a PUT: one held copy per attempt)
    # Everything else is served meanwhile, and nothing of the held write is visible.
    assert holder(double) == "a"
    double.core.create_namespaced_config_map(NS, {"metadata": {"name": "cm"}})
    assert not [r for r in double.server.requests() if r.verb == "update"]  # logged only when answered
    held = double.server.unhang()
    assert held >= 1 and double.server.hung() == 0
    assert holder(double) == "late"  # applied after the client gave up, as a real server may
    updates = [r for r in double.server.requests() if r.verb == "update" and r.resource == "leases"]
    assert [r.code for r in updates] == [200] + [409] * (held - 1)  # retried copies: stale rv
    cm_at = next(r.at for r in double.server.requests() if r.resource == "configmaps")
    assert all(r.at >= cm_at for r in updates)  # logged at release, after what was served meanwhile


def test_held_call_without_timeout_returns_when_released(double: Double) -> None:
    double.coordination.create_namespaced_lease(NS, lease("a"))
    double.server.hang("patch", "leases", user=None)
    result: list[Any] = []
    t = threading.Thread(
        target=lambda: result.append(
            double.coordination.patch_namespaced_lease("l", NS, {"spec": {"holderIdentity": "b"}})
        )
    )
    t.start()
    try:
        assert double.server.wait_hung(1, timeout=10)
        assert not result and holder(double) == "a"
    finally:
        assert double.server.unhang() == 1
        t.join(10)
    assert result[0].spec.holder_identity == "b" and holder(double) == "b"
    assert double.server.hung() == 0
    # The rule is gone: the next patch is served at once.
    double.coordination.patch_namespaced_lease("l", NS, {"spec": {"holderIdentity": "c"}})
    assert holder(double) == "c"


def test_stale_write_released_late_gets_409(double: Double) -> None:
    double.core.create_namespaced_service(
        NS, {"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    )
    rv = double.core.read_namespaced_service("s", NS).metadata.resource_version
    body = {
        "metadata": {"resourceVersion": rv},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}},
    }
    double.server.hang("patch", "services/status")
    errors: list[BaseException] = []

    def late_patch() -> None:
        try:
            double.core.patch_namespaced_service_status(
                "s", NS, body, _content_type="application/merge-patch+json"
            )
        except client.ApiException as exc:
            errors.append(exc)

    t = threading.Thread(target=late_patch)
    t.start()
    try:
        assert double.server.wait_hung(1, timeout=10)
        # Someone else changes the Service while the write is held: its precondition goes stale.
        double.core.patch_namespaced_service("s", NS, {"metadata": {"labels": {"x": "1"}}})
    finally:
        double.server.unhang()
        t.join(10)
    assert [getattr(e, "status", None) for e in errors] == [409]
    assert not double.core.read_namespaced_service("s", NS).status.load_balancer.ingress


def test_dropped_request_is_never_applied(double: Double) -> None:
    double.coordination.create_namespaced_lease(NS, lease("a"))
    double.server.hang("patch", "leases")
    errors: list[BaseException] = []

    def call() -> None:
        try:  # a PATCH is not retried by urllib3: the dropped connection is the answer
            double.coordination.patch_namespaced_lease("l", NS, {"spec": {"holderIdentity": "b"}})
        except urllib3.exceptions.HTTPError as exc:
            errors.append(exc)

    t = threading.Thread(target=call)
    t.start()
    try:
        assert double.server.wait_hung(1, timeout=10)
    finally:
        assert double.server.unhang(drop=True) == 1
        t.join(10)
    assert len(errors) == 1 and holder(double) == "a"
    assert [r.code for r in double.server.requests() if r.verb == "patch"] == [0]


def test_rules_match_verb_resource_and_user(tmp_path: Path) -> None:
    with KubeApiServer() as server:
        clients = {
            t: config.new_client_from_config(config_file=str(server.write_kubeconfig(tmp_path / t, token=t)))
            for t in ("a", "b")
        }
        try:
            core = {t: client.CoreV1Api(c) for t, c in clients.items()}
            server.hang("create", "configmaps", user="a")
            server.hang("patch", "configmaps", name="other")
            core["b"].create_namespaced_config_map(NS, {"metadata": {"name": "by-b"}})  # other user
            core["b"].create_namespaced_config_map(NS, {"metadata": {"name": "other"}})
            core["a"].list_namespaced_config_map(NS)  # other verb
            core["a"].create_namespaced_secret(NS, {"metadata": {"name": "s"}})  # other resource
            core["b"].patch_namespaced_config_map("by-b", NS, {"data": {"x": "1"}})  # other name
            with pytest.raises(urllib3.exceptions.HTTPError):  # the named object, by anyone
                core["a"].patch_namespaced_config_map("other", NS, {"data": {"x": "2"}}, _request_timeout=0.3)
            with pytest.raises(urllib3.exceptions.HTTPError):
                core["a"].create_namespaced_config_map(
                    NS, {"metadata": {"name": "by-a"}}, _request_timeout=0.3
                )
            assert server.hung() == 2  # neither a POST nor a PATCH is retried by urllib3
        finally:
            server.stop()  # stopping releases held requests unapplied (no thread left waiting)
            for c in clients.values():
                c.close()
        assert server.hung() == 0
        created = [(r.user, r.resource) for r in server.requests() if r.code == 201]
        assert created == [("b", "configmaps"), ("b", "configmaps"), ("a", "secrets")]
        assert [r.code for r in server.requests() if r.user == "a"][-1] == 0
        assert [r.code for r in server.requests() if r.verb == "patch"] == [200, 0]
