"""Naming why the API server cannot be used (``access``) and reporting it once (``health``).

The classifier is fed the exceptions the real client raises against the double (401, 403,
a certificate from another CA, a certificate for another name), not hand-made ones; the
throttling runs on a fake clock.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ironlb.kube.access import (
    ClientIdentity,
    Problem,
    RequestInfo,
    classify,
    describe,
    request_info,
    resolves,
    service_account_of_token,
)
from ironlb.kube.client import client_with_token, health_of, make_api_client
from ironlb.kube.errors import TemporaryKubeError, api_errors, retry_log_level, translate
from ironlb.kube.health import ApiHealth
from tests.kubeapi import KubeApiServer
from tests.kubeapi.kubeconfig import write_kubeconfig
from tests.kubeapi.tls import CertFiles, ServerTLS, make_certs, openssl_available
from tests.waiting import wait_for

from .conftest import lb

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


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[KubeApiServer]:
    with KubeApiServer(tokens={"admin": None, "reader": [("list", "services")]}) as server:
        yield server


def _raised(fn: Any) -> BaseException:
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("no exception")


def test_real_401_and_403_are_classified_with_what_was_refused(plain: KubeApiServer, tmp_path: Path) -> None:
    base = make_api_client(str(plain.write_kubeconfig(tmp_path / "kc", token="admin")))
    core: Any = client.CoreV1Api(base)
    core.create_namespaced_service("default", lb("web"))
    nobody: Any = client.CoreV1Api(client_with_token(base, "nobody"))
    reader: Any = client.CoreV1Api(client_with_token(base, "reader"))

    unauthorized = _raised(lambda: nobody.list_service_for_all_namespaces())
    problem = classify(unauthorized)
    assert problem is not None and problem.cause == "unauthorized"

    forbidden = _raised(lambda: reader.patch_namespaced_service_status("web", "default", {"status": {}}))
    problem = classify(forbidden)
    assert problem is not None and problem.cause == "forbidden"
    assert problem.request == RequestInfo("patch", "services/status", "", "default")  # from the message
    assert problem.user == "reader"
    # Translated for the retry loops, it is the same problem, and a temporary (retried) error.
    with pytest.raises(TemporaryKubeError) as wrapped, api_errors():
        reader.patch_namespaced_service_status("web", "default", {"status": {}})
    assert classify(wrapped.value) == problem
    assert isinstance(translate(unauthorized), TemporaryKubeError)  # a rotated token will work
    assert retry_log_level(wrapped.value) == logging.DEBUG

    # Transient or unrelated failures are not named: the retry loops handle them as before.
    conflict = _raised(lambda: core.create_namespaced_service("default", lb("web")))
    assert isinstance(conflict, ApiException) and conflict.status == 409
    assert classify(conflict) is None
    assert retry_log_level(conflict) == logging.WARNING
    plain.begin_outage("503")
    try:
        assert classify(_raised(lambda: core.list_service_for_all_namespaces())) is None
    finally:
        plain.end_outage()
    base.close()


@pytest.fixture
def certs(tmp_path: Path) -> CertFiles:
    if not openssl_available():
        pytest.skip("needs openssl for the test CA")
    return make_certs(tmp_path / "pki")


@pytest.mark.parametrize(
    ("host", "wrong_ca", "verify_error"),
    [
        ("127.0.0.1", True, "unable to get local issuer certificate"),
        ("localhost", False, "certificate is not valid for 'localhost'"),  # issued for IP 127.0.0.1 only
    ],
)
def test_certificate_that_does_not_verify_is_named_once_per_request(
    certs: CertFiles,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    host: str,
    wrong_ca: bool,
    verify_error: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="urllib3")
    ca = make_certs(tmp_path / "other", name="impostor").ca_cert if wrong_ca else certs.ca_cert
    tls = ServerTLS(certs)
    with KubeApiServer(tls=tls) as server:
        url = server.url.replace("127.0.0.1", host)
        api = make_api_client(str(write_kubeconfig(tmp_path / "kc", url, ca_file=ca)))
        try:
            exc = _raised(lambda: client.CoreV1Api(api).list_service_for_all_namespaces())
            problem = classify(exc)
            assert problem is not None and problem.cause == "tls", exc
            assert verify_error in problem.detail
            # urllib3 would try the handshake 4 times in this one call (logging a warning for each
            # retry); a certificate that did not verify will not verify on the next try.
            assert not [r for r in caplog.records if "Retrying" in r.getMessage()]
            assert wait_for(lambda: tls.failures, 10, "the double to see the handshake fail") == tls.failures
            assert len(tls.failures) == 1, tls.failures
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
    health = ApiHealth(ClientIdentity(URL), clock=clock, repeat_every=60.0, forget_after=180.0)
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
