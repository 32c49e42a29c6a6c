"""The controller when the API server cannot be used until a person acts: wrong CA, 401, 403.

A real ``python -m controller`` against the HTTPS double, through the official client. For
each cause: one clear, actionable ERROR line (not one per retry, no traceback), ``/readyz``
503 with that reason in its body, the cause counted in ``ironlb_k8s_client_errors_total``,
nothing written; then the cause is fixed while the controller runs (the CA file is
replaced, the double starts accepting the token, the missing verb is granted) and the
controller logs the recovery, becomes ready and writes the Service's status, without a
restart.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.kubeapi import KubeApiServer, by_plural
from tests.kubeapi.tls import CertFiles, ServerTLS, make_certs, openssl_available
from tests.waiting import wait_for

from .conftest import NS, POOLS, REPO, configmap, free_port, lb

SERVICES = by_plural("services")
HEADLINE = "cannot use the Kubernetes API server"

pytestmark = pytest.mark.skipif(not openssl_available(), reason="needs openssl for the test CA")


def everything_but(denied: tuple[str, str]) -> list[tuple[str, str]]:
    resources = ("services", "services/status", "configmaps", "leases", "events", "secrets")
    verbs = ("get", "list", "watch", "create", "update", "patch")
    return [(v, r) for v in verbs for r in resources if (v, r) != denied]


@dataclass
class Run:
    server: KubeApiServer
    certs: CertFiles
    tmp: Path
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0

    def start(self, kubeconfig: Path) -> None:
        self.port = free_port()
        argv = [
            sys.executable, "-m", "controller", "--kubeconfig", str(kubeconfig),
            "--identity", "ctl", "--metrics-address", f"127.0.0.1:{self.port}",
            "--lease-duration", "3", "--renew-deadline", "2", "--retry-period", "0.3",
        ]  # fmt: skip
        with open(self.tmp / "ctl.log", "wb") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=REPO,
                env=dict(os.environ, PYTHONPATH=str(REPO)),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return (self.tmp / "ctl.log").read_text(errors="replace")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def errors_counted(self, reason: str) -> float:
        code, text = self.get("/metrics")
        if code != 200:
            return 0.0
        return sum(
            s.value
            for fam in text_string_to_metric_families(text)
            for s in fam.samples
            if s.name == "ironlb_k8s_client_errors_total" and s.labels.get("reason") == reason
        )

    def ingress(self) -> list[str]:
        status = self.server.store.get(SERVICES, "default", "web").get("status") or {}
        return [e["ip"] for e in (status.get("loadBalancer") or {}).get("ingress") or []]

    def wait(self, what: str, cond: object, timeout: float = 20.0) -> object:
        def probe() -> object:
            assert self.proc is not None and self.proc.poll() is None, f"controller exited:\n{self.log()}"
            return cond() if callable(cond) else cond

        try:
            return wait_for(probe, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- controller log ---\n{self.log()[-4000:]}") from None


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    certs = make_certs(tmp_path / "pki")
    server = KubeApiServer(bookmark_interval=0.5, tokens={"admin": None}, tls=ServerTLS(certs)).start()
    server.store.create(by_plural("namespaces"), None, {"metadata": {"name": NS}})
    server.store.create(by_plural("configmaps"), NS, configmap(POOLS))
    server.store.create(SERVICES, "default", lb("web"))
    r = Run(server, certs, tmp_path)
    try:
        yield r
    finally:
        if r.proc is not None:
            if r.proc.poll() is None:
                r.proc.send_signal(signal.SIGKILL)
            r.proc.wait(10)
        server.stop()


def assert_reported_once(run: Run, *needles: str) -> str:
    """The actionable line came, once, naming everything in ``needles``; returns /readyz's body."""
    run.wait("the actionable error line", lambda: HEADLINE in run.log())
    code, body = run.get("/readyz")  # served before the first API request is made
    assert code == 503, body
    log = run.log()
    lines = [line for line in log.splitlines() if HEADLINE in line]
    assert len(lines) == 1, log  # once, not per retry (a repeat comes at most once a minute)
    assert " ERROR " in lines[0], lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
        assert needle in body, (needle, body)
    assert "Traceback" not in log, log
    assert "WARNING" not in log, log  # no per-retry warnings from informers, elector or writers
    return body


def assert_recovers(run: Run, cause: str, *, fixed: Iterable[str]) -> None:
    ips = run.wait("web's IP in its status", run.ingress)
    assert isinstance(ips, list) and ips[0].startswith("10.200."), ips
    run.wait("/readyz ready", lambda: run.get("/readyz") == (200, "ok\n"))
    recovered = [line for line in run.log().splitlines() if "works again" in line]
    assert recovered, run.log()
    for text in fixed:
        assert any(text in line for line in recovered), (text, recovered)
    assert run.errors_counted(cause) > 0
    assert run.proc is not None and run.proc.poll() is None  # retried all along, never exited


def test_wrong_ca_is_reported_then_a_replaced_ca_file_is_used(run: Run, tmp_path: Path) -> None:
    impostor = make_certs(tmp_path / "other", name="impostor")
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(impostor.ca_cert.read_bytes())  # not the CA that signed the server
    run.start(run.server.write_kubeconfig(tmp_path / "kc", token="admin", ca_file=ca_file))

    body = assert_reported_once(
        run,
        run.server.url,
        f"CA file {ca_file}",
        "unable to get local issuer certificate",  # the certificate verify error
        "TLS certificate does not verify",
    )
    assert "retrying" in body
    run.wait("the cause counted", lambda: run.errors_counted("tls") > 0)
    assert run.server.requests() == []  # no request got through: nothing written
    assert run.ingress() == []

    # The right CA is put in place (as a rotated ca.crt would be): the next connection uses it.
    (tmp_path / "ca.new").write_bytes(run.certs.ca_cert.read_bytes())
    os.replace(tmp_path / "ca.new", ca_file)
    assert_recovers(run, "tls", fixed=["TLS certificate verification works again"])


def test_rejected_token_is_reported_then_the_accepted_token_works(run: Run, tmp_path: Path) -> None:
    kubeconfig = run.server.write_kubeconfig(tmp_path / "kc", token="rotated", ca_file=run.certs.ca_cert)
    run.start(kubeconfig)

    assert_reported_once(
        run, run.server.url, "401 Unauthorized", f"kubeconfig {kubeconfig} (user 'double-user')"
    )
    run.wait("the cause counted", lambda: run.errors_counted("unauthorized") > 0)
    assert {r.code for r in run.server.requests()} == {401}
    assert run.ingress() == []

    run.server.set_token("rotated")  # the credential becomes valid (rotated in on the server side)
    assert_recovers(run, "unauthorized", fixed=["authentication (401 Unauthorized) works again"])


def sa_token(namespace: str, name: str) -> str:
    """A token shaped like a Kubernetes-issued one (a JWT naming its ServiceAccount), unsigned."""

    def part(d: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'sub': f'system:serviceaccount:{namespace}:{name}'})}.c2ln"


def test_missing_rbac_verb_is_named_then_the_grant_takes_effect(run: Run, tmp_path: Path) -> None:
    token = sa_token(NS, "controller")
    denied = ("patch", "services/status")
    run.server.set_token(token, everything_but(denied))
    run.start(run.server.write_kubeconfig(tmp_path / "kc", token=token, ca_file=run.certs.ca_cert))

    assert_reported_once(
        run,
        "403 Forbidden",
        f'ServiceAccount {NS}/controller may not patch services/status in namespace "default"',
        "config/default/rbac-controller.yaml",
    )
    run.wait("the cause counted", lambda: run.errors_counted("forbidden") > 0)
    assert run.ingress() == []
    # Everything else works: it leads and lists, only the status write is refused.
    assert {r.code for r in run.server.requests() if r.rbac_resource != "services/status"} <= {200, 201, 404}

    run.server.set_token(token, None)  # the missing rule is added
    assert_recovers(
        run, "forbidden", fixed=['permission to patch services/status in namespace "default" works again']
    )
