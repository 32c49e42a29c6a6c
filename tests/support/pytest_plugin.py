"""pytest wiring of the real control plane (``controlplane``): fixtures, the marker, the CI guard.

- ``control_plane`` (session): one etcd + kube-apiserver for the whole run, started on first
  use, with ironlb's CRDs (``config/crd/bases``) installed; skipped, naming ``KUBEBUILDER_ASSETS``,
  where that variable does not lead to the binaries.
- ``kube`` (per test): a fresh namespace (``kube.ns``), an admin client, kubeconfigs for
  ServiceAccounts, the audit log of this test's requests; afterwards it deletes the Services
  and Nodes the test left (no kube-controller-manager runs, and the next test's programs list
  the whole cluster), and starts the API server again if the test left it stopped.
- Every test that uses either fixture is marked ``kube_apiserver`` (``-m kube_apiserver``
  selects them; ``-m "not kube_apiserver"`` leaves them out).
- With ``IRONLB_REQUIRE_KUBE_APISERVER=1`` (set by ``.ci/run``) a run where the binaries are
  missing is an error, and a run in which no ``kube_apiserver`` test ran fails, so CI cannot
  pass by skipping them.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support.audit import AuditRecord
from tests.support.controlplane import ControlPlane, assets_problem

MARKER = "kube_apiserver"
STATIC_TOKEN = "ironlb-static-token-1"
"""A token the session's API server accepts from its start (user ``ironlb-static``, system:masters):
a credential a test can make the server reject (``remove_static_token``, restart) and accept again."""
REQUIRE_ENV = "IRONLB_REQUIRE_KUBE_APISERVER"
CRD_DIR = Path(__file__).resolve().parents[2] / "config" / "crd" / "bases"
_ran: list[str] = []


def _required(config: pytest.Config) -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problem = assets_problem()
    if problem is not None and _required(config):
        raise pytest.UsageError(f"{REQUIRE_ENV}=1 but {problem}")
    skip = pytest.mark.skip(reason=problem) if problem is not None else None
    for item in items:
        if "control_plane" in getattr(item, "fixturenames", ()):  # the closure: ``kube`` uses it
            item.add_marker(MARKER)
        if skip is not None and item.get_closest_marker(MARKER) is not None:
            item.add_marker(skip)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and MARKER in report.keywords:
        _ran.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _required(config) or _ran:
        terminalreporter.write_line(f"tests on a real kube-apiserver: {len(_ran)} ran")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    collected_any = session.testscollected > 0 and not session.config.option.collectonly
    if _required(session.config) and collected_any and not _ran:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\n{REQUIRE_ENV}=1 but no test ran against the real kube-apiserver")


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """One real etcd + kube-apiserver for the session."""
    problem = assets_problem()
    if problem is not None:
        pytest.skip(problem)
    cp = ControlPlane(workdir=tmp_path_factory.mktemp("controlplane"))
    cp.add_static_token(STATIC_TOKEN, "ironlb-static", groups=["system:masters"])
    cp.start()
    try:
        cp.install_crds(sorted(CRD_DIR.glob("*.yaml")))  # as an install has them (config/crd)
        yield cp
    finally:
        cp.stop()


class Kube:
    """One test's view of the session's control plane: its namespace, clients and clean-up."""

    def __init__(self, cp: ControlPlane, api: Any, tmp: Path, prefix: str) -> None:
        self.cp = cp
        self.api = api  # admin ApiClient, shared by the session: do not close
        self.tmp = tmp
        self.started = time.time()
        self._prefix = prefix
        self._namespaces: list[str] = []
        self._nodes: list[str] = []
        self.ns = self.namespace()

    # -- clients ---------------------------------------------------------------------------------
    @property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api)

    @property
    def discovery(self) -> Any:
        from kubernetes import client

        return client.DiscoveryV1Api(self.api)

    @property
    def coordination(self) -> Any:
        from kubernetes import client

        return client.CoordinationV1Api(self.api)

    @property
    def rbac(self) -> Any:
        from kubernetes import client

        return client.RbacAuthorizationV1Api(self.api)

    # -- names and credentials -------------------------------------------------------------------
    def namespace(self, prefix: str | None = None) -> str:
        """Another fresh namespace, cleaned like the first."""
        name = self.cp.new_namespace(prefix or self._prefix)
        self._namespaces.append(name)
        return name

    def user(self, service_account: str, namespace: str | None = None) -> str:
        return f"system:serviceaccount:{namespace or self.ns}:{service_account}"

    def kubeconfig(
        self,
        service_account: str,
        *,
        cluster_role: str | None = "cluster-admin",
        namespace: str | None = None,
    ) -> Path:
        """A kubeconfig of the ServiceAccount (in ``ns`` unless told), bound to ``cluster_role``."""
        ns = namespace or self.ns
        return self.cp.kubeconfig_for(
            ns,
            service_account,
            path=self.tmp / f"kubeconfig-{ns}-{service_account}",
            cluster_role=cluster_role,
        )

    def grant(
        self, service_account: str, rules: list[dict[str, Any]], *, namespace: str | None = None
    ) -> str:
        """Create the ServiceAccount, a ClusterRole of exactly ``rules`` and its binding; returns the
        role's name (``set_rules`` changes it). Returns once the grant is in effect."""
        ns = namespace or self.ns
        role = f"{ns}.{service_account}"
        self.cp.service_account(ns, service_account)
        self.rbac.create_cluster_role({"metadata": {"name": role}, "rules": rules})
        self.cp.bind_cluster_role(ns, service_account, role)
        return role

    def set_rules(self, role: str, rules: list[dict[str, Any]]) -> None:
        """Change a ClusterRole's rules (the API server's authorizer follows within a moment)."""
        self.rbac.patch_cluster_role(role, {"rules": rules})

    def audit(self, user: str | None = None) -> list[AuditRecord]:
        """This test's requests (received since it started), optionally of one user."""
        return self.cp.audit(user=user, since=self.started)

    # -- cluster-scoped objects ------------------------------------------------------------------
    def create_node(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a Node (and its status, which a create drops); deleted after the test."""
        name = body["metadata"]["name"]
        self.core.create_node({k: v for k, v in body.items() if k != "status"})
        self._nodes.append(name)
        if body.get("status"):
            self.core.patch_node_status(name, {"status": body["status"]})
        return body

    # -- clean-up --------------------------------------------------------------------------------
    def close(self) -> None:
        if self.cp.apiserver is None or not self.cp.apiserver.alive():
            self.cp.start_apiserver()  # a test stopped it and failed before starting it again
        core = self.core
        targets = [
            (ns, s.metadata.name) for ns in self._namespaces for s in core.list_namespaced_service(ns).items
        ]

        def delete(target: tuple[str, str]) -> None:
            with contextlib.suppress(Exception):
                core.delete_namespaced_service(target[1], target[0])

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(delete, targets))
        for node in self._nodes:
            with contextlib.suppress(Exception):
                core.delete_node(node)


@pytest.fixture(scope="session")
def _admin_api(control_plane: ControlPlane) -> Iterator[Any]:
    api = control_plane.admin_client()
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def kube(
    control_plane: ControlPlane, _admin_api: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Kube]:
    """A fresh namespace on the session's real API server, and what a test needs around it."""
    prefix = request.node.module.__name__.rpartition(".")[2].removeprefix("test_").replace("_", "-")
    if control_plane.apiserver is None or not control_plane.apiserver.alive():
        control_plane.start_apiserver()
    k = Kube(control_plane, _admin_api, tmp_path, prefix[:20] or "t")
    try:
        yield k
    finally:
        k.close()
