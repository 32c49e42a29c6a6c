"""The test control plane itself (``tests.support``): what the other suites rely on.

A real RBAC (403 until a grant), TokenRequest for ServiceAccounts, the audit log naming each
request's user, the restart that expires watches (410 Gone), and the CI guard that refuses a
run in which no test reached the real API server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.support.controlplane import ASSETS_ENV, assets_problem
from tests.support.pytest_plugin import REQUIRE_ENV, Kube

ROOT = Path(__file__).resolve().parents[2]


def test_service_accounts_get_tokens_and_only_what_rbac_grants(kube: Kube) -> None:
    plain = config.new_client_from_config(config_file=str(kube.kubeconfig("reader", cluster_role=None)))
    try:
        with pytest.raises(client.ApiException) as denied:
            client.CoreV1Api(plain).list_namespaced_service(kube.ns)
        assert denied.value.status == 403
        role = f"{kube.ns}-list-services"
        rule = {"apiGroups": [""], "resources": ["services"], "verbs": ["list"]}
        kube.rbac.create_cluster_role({"metadata": {"name": role}, "rules": [rule]})
        kube.cp.bind_cluster_role(kube.ns, "reader", role)  # returns once the grant is in effect
        client.CoreV1Api(plain).list_namespaced_service(kube.ns)  # the same token: no new one needed
    finally:
        plain.close()
    calls = [(r.verb, r.resource, r.code) for r in kube.audit(kube.user("reader"))]
    assert calls == [("list", "services", 403), ("list", "services", 200)]


def test_a_restart_keeps_the_objects_and_expires_old_resource_versions(kube: Kube) -> None:
    svc = kube.core.create_namespaced_service(
        kube.ns, {"metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}}
    )
    old = svc.metadata.resource_version
    kube.core.patch_namespaced_service("a", kube.ns, {"metadata": {"labels": {"x": "1"}}})
    kube.cp.compact()
    kube.cp.restart_apiserver()
    assert kube.core.read_namespaced_service("a", kube.ns).metadata.labels == {"x": "1"}
    resp = kube.core.list_namespaced_service(
        kube.ns, watch=True, resource_version=old, timeout_seconds=5, _preload_content=False
    )
    assert b'"code":410' in resp.read()


def _pytest(tmp_path: Path, body: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_it.py").write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.support.pytest_plugin", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_it.py")],
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


USES_IT = """
def test_needs_the_server(control_plane):
    assert control_plane.port
"""


def test_without_the_binaries_the_tests_are_skipped_naming_the_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in (ASSETS_ENV, REQUIRE_ENV)}
    done = _pytest(tmp_path, USES_IT, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout


def test_ci_refuses_a_run_without_the_binaries(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != ASSETS_ENV}
    done = _pytest(tmp_path, USES_IT, {**env, REQUIRE_ENV: "1"})
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert ASSETS_ENV in done.stdout + done.stderr


@pytest.mark.skipif(assets_problem() is not None, reason=str(assets_problem()))
def test_ci_fails_a_run_in_which_no_test_reached_the_server(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "def test_plain():\n    pass\n", {**os.environ, REQUIRE_ENV: "1"})
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout + done.stderr
    assert "no test ran against the real kube-apiserver" in done.stdout
