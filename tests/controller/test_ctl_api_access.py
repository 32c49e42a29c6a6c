"""The controller when the API server cannot be used: wrong CA, 401, 403, an outage, a taken port.

A real ``python -m controller`` against the real API server. For each cause a person must fix:
one clear, actionable ERROR line (not one per retry, no traceback), ``/readyz`` 503 with that
reason in its body, the cause counted in ``ironlb_k8s_client_errors_total``, nothing written;
then the cause is fixed while the controller runs (the CA file is replaced, the API server
accepts the token, the missing verb is granted) and the controller logs the recovery, becomes
ready and writes the Service's status, without a restart. A 403 that goes away within seconds
(an RBAC cache catching up) is not called a missing grant. An outage is one line lost, one line
back. A metrics port another process holds is one line and exit 1, before any API request.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.controller.conftest import (
    EVERYTHING,
    POOLS,
    REPO,
    configmap,
    everything_but,
    free_port,
    ips_of,
    lb,
)
from tests.support.pki import TestCA
from tests.support.pytest_plugin import Kube
from tests.support.waiting import wait_for

HEADLINE = "cannot use the Kubernetes API server"


@dataclass
class Run:
    kube: Kube
    tmp: Path
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0

    def start(self, kubeconfig: Path, *extra: str) -> None:
        self.port = self.port or free_port()
        argv = [
            sys.executable, "-m", "controller", "--kubeconfig", str(kubeconfig), "--namespace", self.kube.ns,
            "--identity", "ctl", "--metrics-address", f"127.0.0.1:{self.port}",
            "--lease-duration", "3", "--renew-deadline", "2", "--retry-period", "0.3", *extra,
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
        return ips_of(service(self.kube, "web"))

    def wait(self, what: str, cond: object, timeout: float = 30.0) -> object:
        def probe() -> object:
            assert self.proc is not None and self.proc.poll() is None, f"controller exited:\n{self.log()}"
            return cond() if callable(cond) else cond

        try:
            return wait_for(probe, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- controller log ---\n{self.log()[-4000:]}") from None


def service(kube: Kube, name: str) -> dict[str, Any]:
    resp = kube.core.read_namespaced_service(name, kube.ns, _preload_content=False)
    out: dict[str, Any] = json.loads(resp.data)
    return out


@pytest.fixture
def run(kube: Kube, tmp_path: Path) -> Iterator[Run]:
    kube.core.create_namespaced_config_map(kube.ns, configmap(POOLS))
    kube.core.create_namespaced_service(kube.ns, lb("web"))
    r = Run(kube, tmp_path)
    try:
        yield r
    finally:
        if r.proc is not None:
            if r.proc.poll() is None:
                r.proc.send_signal(signal.SIGKILL)
            r.proc.wait(10)


def assert_reported_once(run: Run, *needles: str, timeout: float = 30.0) -> str:
    """The actionable line came, once, naming everything in ``needles``; returns /readyz's body."""
    run.wait("the actionable error line", lambda: HEADLINE in run.log(), timeout)
    code, body = run.get("/readyz")
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


def with_ca(kubeconfig: Path, ca: Path, out: Path) -> Path:
    doc = yaml.safe_load(kubeconfig.read_text())
    doc["clusters"][0]["cluster"]["certificate-authority"] = str(ca)
    out.write_text(yaml.safe_dump(doc))
    return out


def test_wrong_ca_is_reported_then_a_replaced_ca_file_is_used(run: Run, kube: Kube, tmp_path: Path) -> None:
    impostor = TestCA(tmp_path / "other", "impostor")
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(impostor.cert_file.read_bytes())  # not the CA that signed the server
    run.start(with_ca(kube.kubeconfig("ctl"), ca_file, tmp_path / "kc"))

    body = assert_reported_once(
        run,
        kube.cp.url,
        f"CA file {ca_file}",
        "unable to get local issuer certificate",  # the certificate verify error
        "TLS certificate does not verify",
    )
    assert "retrying" in body
    run.wait("the cause counted", lambda: run.errors_counted("tls") > 0)
    assert kube.audit(kube.user("ctl")) == []  # no request got through: nothing written
    assert run.ingress() == []

    # The right CA is put in place (as a rotated ca.crt would be): the next connection uses it.
    (tmp_path / "ca.new").write_bytes(kube.cp.ca_file.read_bytes())
    os.replace(tmp_path / "ca.new", ca_file)
    assert_recovers(run, "tls", fixed=["TLS certificate verification works again"])


def test_rejected_token_is_reported_then_the_accepted_token_works(
    run: Run, kube: Kube, tmp_path: Path
) -> None:
    token = f"static-{kube.ns}"
    kubeconfig = kube.cp.kubeconfig_with_token(token, tmp_path / "kc", user_name="rotated")
    run.start(kubeconfig)

    assert_reported_once(run, kube.cp.url, "401 Unauthorized", f"kubeconfig {kubeconfig} (user 'rotated')")
    run.wait("the cause counted", lambda: run.errors_counted("unauthorized") > 0)
    assert run.ingress() == []

    # The credential becomes valid on the server side (a token file re-read at a restart).
    kube.cp.add_static_token(token, f"ironlb-{kube.ns}", groups=["system:masters"])
    try:
        kube.cp.restart_apiserver()
        assert_recovers(run, "unauthorized", fixed=["authentication (401 Unauthorized) works again"])
    finally:
        kube.cp.remove_static_token(token)


def test_missing_rbac_verb_is_named_once_it_persists_then_the_grant_takes_effect(
    run: Run, kube: Kube
) -> None:
    role = kube.grant("controller", everything_but("patch", "services/status"))
    run.start(kube.kubeconfig("controller", cluster_role=None))

    assert_reported_once(
        run,
        "403 Forbidden",
        f'ServiceAccount {kube.ns}/controller may not patch services/status in namespace "{kube.ns}"',
        "config/default/rbac-controller.yaml",
    )
    run.wait("the cause counted", lambda: run.errors_counted("forbidden") > 0)
    assert run.ingress() == []
    mine = kube.audit(kube.user("controller"))
    refused = [r for r in mine if r.code == 403]
    assert refused and {r.rbac_resource for r in refused} == {"services/status"}
    # Called a missing grant only after 10 s of refusals, not at the first one.
    line_at = next(i for i, line in enumerate(run.log().splitlines()) if HEADLINE in line)
    assert line_at > 0 and refused[-1].at - refused[0].at >= 10.0

    kube.set_rules(role, EVERYTHING)  # the missing rule is added
    assert_recovers(
        run, "forbidden", fixed=[f'permission to patch services/status in namespace "{kube.ns}" works again']
    )


def test_a_403_that_goes_away_within_seconds_is_not_called_a_missing_grant(run: Run, kube: Kube) -> None:
    """As right after an API server starts, before its RBAC cache has synced."""
    role = kube.grant("controller", everything_but("patch", "services/status"))
    run.start(kube.kubeconfig("controller", cluster_role=None))
    run.wait(
        "a refused status write",
        lambda: any(r.code == 403 for r in kube.audit(kube.user("controller"))),
    )
    kube.set_rules(role, EVERYTHING)
    run.wait("web's IP in its status", run.ingress)
    assert run.get("/readyz") == (200, "ok\n")
    assert HEADLINE not in run.log() and "403 Forbidden" not in run.log(), run.log()


def test_an_api_outage_is_one_line_lost_and_one_line_back(run: Run, kube: Kube) -> None:
    run.start(
        kube.kubeconfig("ctl"), "--lease-duration", "30", "--renew-deadline", "20", "--retry-period", "2"
    )
    run.wait("web's IP in its status", run.ingress)
    before = len(run.log().splitlines())
    kube.cp.stop_apiserver()
    try:
        run.wait("the outage noticed", lambda: "cannot be reached" in run.log())
        time.sleep(3)  # an outage of a few seconds: informers, elector and writers keep retrying
    finally:
        kube.cp.start_apiserver()
    run.wait("the recovery line", lambda: "reachable again" in run.log())
    kube.core.create_namespaced_service(kube.ns, lb("after"))
    run.wait("a Service after the outage", lambda: ips_of(service(kube, "after")))
    lines = run.log().splitlines()[before:]
    lost = [line for line in lines if "cannot be reached" in line]
    back = [line for line in lines if "reachable again" in line]
    assert len(lost) == 1 and " WARNING " in lost[0], lines  # refused, or a 503 while it shuts down
    assert len(back) == 1 and " INFO " in back[0], lines
    assert not [line for line in lines if "Retrying" in line or "Traceback" in line], lines
    assert [line for line in lines if " WARNING " in line or " ERROR " in line] == lost, lines


def test_a_taken_metrics_port_is_one_line_and_exit_1(run: Run, kube: Kube, tmp_path: Path) -> None:
    run.start(kube.kubeconfig("ctl"))
    run.wait("the first one serving", lambda: run.get("/healthz")[0] == 200)
    second = tmp_path / "second.log"
    with open(second, "wb") as out:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "controller",
                "--kubeconfig",
                str(kube.kubeconfig("second")),
                "--namespace",
                kube.ns,
                "--metrics-address",
                f"127.0.0.1:{run.port}",
            ],
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=60,
        )
    log = second.read_text()
    assert done.returncode == 1, log
    assert "Traceback" not in log, log
    (line,) = [line for line in log.splitlines() if " ERROR " in line]
    assert f"cannot listen on 127.0.0.1:{run.port}" in line and "--metrics-address" in line, line
    assert kube.audit(kube.user("second")) == []  # it stopped before asking the API anything
