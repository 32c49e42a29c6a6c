"""Naming why the API server cannot be used (``access``) and reporting it once (``health``).

The classifier is fed the exceptions the real client raises against the real API server (401,
403, a certificate from another CA, a certificate for another name) and, for a 503, the
double; the throttling, the 10 s before a 403 counts and the outage lines run on a fake clock.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ironlb.kube.access import (
    ClientIdentity,
    Problem,
    RequestInfo,
    classify,
    describe,
    outage,
    request_info,
    resolves,
    service_account_of_token,
)
from ironlb.kube.client import client_with_token, health_of, make_api_client
from ironlb.kube.errors import TemporaryKubeError, api_errors, retry_log_level, translate
from ironlb.kube.health import ApiHealth
from tests.kube.conftest import Double, lb
from tests.support.pki import TestCA
from tests.support.pytest_plugin import Kube

URL = "https://10.0.0.1:6443"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/v1/services?limit=500", RequestInfo("list", "services")),
        (
            "GET",
            "/api/v1/namespaces/ironlb-system/configmaps?fieldSelector=metadata.name%3Dironlb&watch=True",
            RequestInfo("watch", "configmaps", "", "ironlb-system"),
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/services/web/status",
            RequestInfo("patch", "services/status", "", "default", "web"),
        ),
        (
            "PUT",
            "/apis/coordination.k8s.io/v1/namespaces/ironlb-system/leases/ironlb-controller",
            RequestInfo("update", "leases", "coordination.k8s.io", "ironlb-system", "ironlb-controller"),
        ),
        ("POST", "/api/v1/namespaces/apps/events", RequestInfo("create", "events", "", "apps")),
        ("GET", "/api/v1/nodes/n1", RequestInfo("get", "nodes", "", None, "n1")),
        ("DELETE", "/api/v1/namespaces/x", RequestInfo("delete", "namespaces", "", None, "x")),
        ("GET", "/version", RequestInfo("get", "")),
    ],
)
def test_request_info_names_requests_as_rbac_does(method: str, path: str, expected: RequestInfo) -> None:
    assert request_info(method, URL + path) == expected


# -- the real client's exceptions ------------------------------------------------------------


def _raised(fn: Any) -> BaseException:
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("no exception")


def test_real_401_and_403_are_classified_with_what_was_refused(kube: Kube) -> None:
    base = make_api_client(str(kube.kubeconfig("admin")))
    core: Any = client.CoreV1Api(base)
    core.create_namespaced_service(kube.ns, lb("web"))
    kube.grant("reader", [{"apiGroups": [""], "resources": ["services"], "verbs": ["list"]}])
    nobody: Any = client.CoreV1Api(client_with_token(base, "not-a-known-token"))
    reader: Any = client.CoreV1Api(client_with_token(base, kube.cp.token(kube.ns, "reader")))

    unauthorized = _raised(lambda: nobody.list_service_for_all_namespaces())
    problem = classify(unauthorized)
    assert problem is not None and problem.cause == "unauthorized"

    forbidden = _raised(lambda: reader.patch_namespaced_service_status("web", kube.ns, {"status": {}}))
    problem = classify(forbidden)
    assert problem is not None and problem.cause == "forbidden"
    assert problem.request == RequestInfo("patch", "services/status", "", kube.ns)  # from the message
    assert problem.user == kube.user("reader")
    # Translated for the retry loops, it is the same problem, and a temporary (retried) error.
    with pytest.raises(TemporaryKubeError) as wrapped, api_errors():
        reader.patch_namespaced_service_status("web", kube.ns, {"status": {}})
    assert classify(wrapped.value) == problem
    assert isinstance(translate(unauthorized), TemporaryKubeError)  # a rotated token will work
    assert retry_log_level(wrapped.value) == logging.DEBUG

    # Transient or unrelated failures are not named: the retry loops handle them as before.
    conflict = _raised(lambda: core.create_namespaced_service(kube.ns, lb("web")))
    assert isinstance(conflict, ApiException) and conflict.status == 409
    assert classify(conflict) is None and outage(conflict) is None
    assert retry_log_level(conflict) == logging.WARNING
    base.close()


def test_a_503_is_an_outage_not_a_problem_to_fix(double: Double) -> None:
    double.server.begin_outage("503")
    try:
        exc = _raised(lambda: double.core.list_service_for_all_namespaces())
    finally:
        double.server.end_outage()
    assert classify(exc) is None
    assert outage(exc) is not None and outage(exc).startswith("503")  # type: ignore[union-attr]
    assert retry_log_level(exc) == logging.DEBUG  # ApiHealth says it once for everyone


@pytest.mark.parametrize(
    ("host", "wrong_ca", "verify_error"),
    [
        ("127.0.0.1", True, "unable to get local issuer certificate"),
        ("localhost", False, "certificate is not valid for 'localhost'"),  # issued for IP 127.0.0.1 only
    ],
)
def test_certificate_that_does_not_verify_is_named_once_per_request(
    kube: Kube,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    host: str,
    wrong_ca: bool,
    verify_error: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3")
    ca = TestCA(tmp_path / "other", "impostor").cert_file if wrong_ca else kube.cp.ca_file
    kc = kube.kubeconfig("tls")
    doc = yaml.safe_load(kc.read_text())
    doc["clusters"][0]["cluster"]["certificate-authority"] = str(ca)
    doc["clusters"][0]["cluster"]["server"] = kube.cp.url.replace("127.0.0.1", host)
    kc.write_text(yaml.safe_dump(doc))
    api = make_api_client(str(kc))
    try:
        exc = _raised(lambda: client.CoreV1Api(api).list_service_for_all_namespaces())
        problem = classify(exc)
        assert problem is not None and problem.cause == "tls", exc
        assert verify_error in problem.detail
        assert outage(exc) is None  # not an outage: a person must fix it
        # Tried once: a certificate that did not verify will not verify on the next try, and
        # urllib3 retries nothing (no "Retrying" warning either).
        assert not [r for r in caplog.records if "Retrying" in r.getMessage()]
        connections = [r for r in caplog.records if "Starting new HTTPS connection" in r.getMessage()]
        assert len(connections) == 1, [r.getMessage() for r in caplog.records]
        health = health_of(api)
        assert health is not None
        reason = health.reason()
        assert reason is not None and f"CA file {ca}" in reason and verify_error in reason
    finally:
        api.close()  # type: ignore[no-untyped-call]


# -- pure decisions ------------------------------------------------------------------------------

PATCH_STATUS = RequestInfo("patch", "services/status", "", "default", "web")
FORBIDDEN = Problem("forbidden", "no", PATCH_STATUS, "system:serviceaccount:ironlb-system:controller")


@pytest.mark.parametrize(
    ("problem", "request_", "status", "resolved"),
    [
        (Problem("tls", "x"), RequestInfo("list", "services"), 403, True),  # any answer: TLS works
        (Problem("unauthorized", "x"), RequestInfo("list", "services"), 401, False),
        (Problem("unauthorized", "x"), RequestInfo("list", "services"), 403, True),
        (Problem("unauthorized", "x"), RequestInfo("list", "services"), 500, True),
        (FORBIDDEN, RequestInfo("list", "services"), 200, False),  # another verb proves nothing
        (FORBIDDEN, RequestInfo("patch", "services/status", "", "apps", "x"), 200, False),
        (FORBIDDEN, RequestInfo("patch", "services/status", "", "default", "other"), 200, True),
        (FORBIDDEN, RequestInfo("patch", "services/status", "", "default", "web"), 409, True),
        (FORBIDDEN, PATCH_STATUS, 403, False),
    ],
)
def test_which_answer_resolves_a_problem(
    problem: Problem, request_: RequestInfo, status: int, resolved: bool
) -> None:
    assert resolves(problem, request_, status) is resolved


def _jwt(sub: str) -> str:
    def part(d: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'sub': sub})}.c2ln"


def test_messages_say_what_to_do() -> None:
    assert service_account_of_token(_jwt("system:serviceaccount:ironlb-system:speaker")) == (
        "ironlb-system/speaker"
    )
    assert service_account_of_token("not-a-jwt") is None
    pod = ClientIdentity(
        URL,
        ca="CA file /var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        credentials="the ServiceAccount token /var/run/secrets/kubernetes.io/serviceaccount/token",
        service_account="ironlb-system/controller",
        in_cluster=True,
        rbac_hint="config/default/rbac-controller.yaml",
    )
    tls = describe(Problem("tls", "certificate has expired"), pod)
    assert URL in tls and "ca.crt" in tls and "certificate has expired" in tls
    assert "KUBERNETES_SERVICE_HOST" in tls
    unauthorized = describe(Problem("unauthorized", "Unauthorized"), pod)
    assert "401" in unauthorized and "serviceaccount/token" in unauthorized
    assert "ServiceAccount ironlb-system/controller" in unauthorized
    forbidden = describe(FORBIDDEN, pod)
    assert 'ServiceAccount ironlb-system/controller may not patch services/status in namespace "default"' in (
        forbidden
    )
    assert "config/default/rbac-controller.yaml" in forbidden
    lease = Problem(
        "forbidden", "no", RequestInfo("update", "leases", "coordination.k8s.io", "ironlb-system")
    )
    assert 'update leases (coordination.k8s.io) in namespace "ironlb-system"' in describe(lease, pod)
    cluster_wide = Problem("forbidden", "no", RequestInfo("watch", "nodes"))
    assert "watch nodes cluster-wide" in describe(cluster_wide, pod)


# -- the adapter: once, then at most every repeat_every, then recovery ---------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_health_logs_once_repeats_rarely_counts_all_and_notes_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    health = ApiHealth(
        ClientIdentity(URL), clock=clock, repeat_every=60.0, forget_after=180.0, confirm_after=0
    )
    counted: list[str] = []
    health.subscribe(lambda p: counted.append(p.cause))
    denied = ApiException(status=401, reason="Unauthorized")
    lst = RequestInfo("list", "services")
    caplog.set_level(logging.INFO, logger="ironlb.kube.health")

    def lines(level: int) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno == level]

    for _ in range(5):
        health.failed(lst, denied)
        clock.now += 10.0
    assert len(lines(logging.ERROR)) == 1 and "401 Unauthorized" in lines(logging.ERROR)[0]
    assert counted == ["unauthorized"] * 5
    clock.now = 1060.0
    health.failed(lst, denied)  # 60 s after the first line
    assert len(lines(logging.ERROR)) == 2 and lines(logging.ERROR)[1].startswith("still failing (5 more")
    reason = health.reason()
    assert reason is not None and "401" in reason

    health.answered(lst, 401)  # not an answer that proves anything
    assert health.problems()
    # A 403 on one verb is its own problem: the credentials work, so the 401 is resolved by it.
    health.answered(PATCH_STATUS, 403)  # the client reports every answer, then the failure
    health.failed(PATCH_STATUS, ApiException(status=403, reason="Forbidden"))
    assert [p.cause for p in health.problems()] == ["forbidden"]
    assert any("authentication (401 Unauthorized) works again" in m for m in lines(logging.INFO))
    health.answered(lst, 200)  # another verb
    assert [p.cause for p in health.problems()] == ["forbidden"]
    health.answered(PATCH_STATUS, 200)
    assert health.problems() == [] and health.reason() is None
    assert any("permission to patch services/status" in m for m in lines(logging.INFO))
    assert counted == ["unauthorized"] * 6 + ["forbidden"]

    # Transient failures are not problems; nothing counted, nothing logged.
    health.failed(lst, ApiException(status=503, reason="ServiceUnavailable"))
    health.failed(lst, ConnectionRefusedError("refused"))
    assert health.problems() == [] and len(counted) == 7

    # A problem no request hits any more (a one-off write given up on) ages out.
    health.failed(RequestInfo("create", "events", "", "apps"), ApiException(status=403, reason="Forbidden"))
    assert health.problems()
    clock.now += 180.0
    assert health.problems() == []


def test_a_bare_ssl_error_turned_into_text_by_the_client_is_still_named() -> None:
    # Without urllib3's retry wrapper the client raises ApiException(status=0, reason=<text>).
    text = (
        "SSLError\nHTTPSConnectionPool(host='10.0.0.1', port=6443): Max retries exceeded with url: /api "
        "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
        "verify failed: certificate has expired (_ssl.c:1006)')))"
    )
    problem = classify(ApiException(status=0, reason=text))
    assert problem == Problem("tls", "CERTIFICATE_VERIFY_FAILED: certificate has expired")
    assert classify(ApiException(status=0, reason="SSLError\nEOF occurred in violation of protocol")) is None


def test_a_403_is_called_a_problem_only_when_it_persists(caplog: pytest.LogCaptureFixture) -> None:
    """Right after an API server starts, its RBAC cache may refuse what it allows a moment later."""
    clock = Clock()
    health = ApiHealth(ClientIdentity(URL), clock=clock, confirm_after=10.0)
    counted: list[str] = []
    health.subscribe(lambda p: counted.append(p.cause))
    caplog.set_level(logging.INFO, logger="ironlb.kube.health")
    denied = ApiException(status=403, reason="Forbidden")

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]

    health.failed(PATCH_STATUS, denied)
    clock.now += 3.0
    health.failed(PATCH_STATUS, denied)
    assert lines() == [] and health.problems() == [] and health.reason() is None
    health.answered(PATCH_STATUS, 200)  # the cache caught up: it was never a problem
    assert lines() == [] and counted == ["forbidden", "forbidden"]

    health.failed(PATCH_STATUS, denied)
    clock.now += 9.9
    health.failed(PATCH_STATUS, denied)
    assert lines() == []
    clock.now += 0.1  # refused for 10 s: now it is a grant that is missing
    health.failed(PATCH_STATUS, denied)
    (line,) = lines()
    assert "403 Forbidden" in line and "Grant it in" in line
    assert [p.cause for p in health.problems()] == ["forbidden"]
    health.answered(PATCH_STATUS, 200)
    assert "works again" in lines()[-1]


def test_an_outage_is_one_line_lost_a_reminder_a_minute_and_one_line_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    health = ApiHealth(ClientIdentity(URL), clock=clock, repeat_every=60.0)
    caplog.set_level(logging.DEBUG, logger="ironlb.kube.health")
    refused = ConnectionRefusedError(111, "Connection refused")
    lst = RequestInfo("list", "services")

    def lines(level: int = logging.INFO) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno >= level]

    # A blip (an API server shutting down answers a 503 between good answers) is no outage.
    health.failed(lst, ApiException(status=503))
    clock.now += 1.0
    health.answered(lst, 200)
    assert lines() == []
    for _ in range(30):  # 4 informers, an elector and writers retrying every 2 s, for a minute
        health.failed(lst, refused)
        health.failed(RequestInfo("patch", "services/status", "", "a", "b"), ApiException(status=503))
        clock.now += 2.0
    assert health.unreachable
    assert len(lines()) == 1 and "cannot be reached (" in lines()[0]  # after 2 s of failures
    assert health.problems() == []  # nothing a person must fix: readiness is not about it
    clock.now += 2.0
    health.failed(lst, refused)  # 60 s after the first line
    assert (
        len(lines()) == 2 and "still cannot be reached" in lines()[1] and "61 failed requests" in lines()[1]
    )
    health.answered(lst, 503)  # an answer, but not service
    assert health.unreachable and len(lines()) == 2
    clock.now += 5.0
    health.answered(lst, 200)
    assert not health.unreachable
    assert lines()[2] == f"Kubernetes API server {URL} is reachable again after 67 s (61 failed requests)"
    health.answered(lst, 200)
    assert len(lines()) == 3
