"""A real Kubernetes control plane for tests and benchmarks: etcd and kube-apiserver on loopback.

Why: ironlb's Kubernetes side is judged against the real API server, not a double. No
library starts one from Python (controller-runtime's envtest is Go), so this is the
envtest recipe, hand-written: the binaries come from ``$KUBEBUILDER_ASSETS`` (a directory
holding ``kube-apiserver`` and ``etcd``, 1.30 or newer: ``setup-envtest use -p path``, or
``.ci/run`` unpacks ``../shared/k8s``), every file lives in one temporary directory, every
port is a free loopback port, and the certificates are made here with ``cryptography``.

Use::

    with ControlPlane() as cp:                       # etcd + kube-apiserver, /readyz answered
        api = cp.admin_client()                      # system:masters (client certificate)
        ns = cp.new_namespace("ctl")                 # a fresh namespace per test
        kc = cp.kubeconfig_for(ns, "controller", cluster_role="cluster-admin")  # TokenRequest
        ... run a program with --kubeconfig kc ...
        cp.audit(user=f"system:serviceaccount:{ns}:controller")  # what it asked, from the audit log
        cp.restart_apiserver()                       # etcd keeps the data; watches from before: 410
        cp.compact()                                 # etcd forgets its history too

What the API server runs with: dual-stack Service CIDRs (IPv4 first), ``--authorization-mode=RBAC``
(a ServiceAccount without a grant gets 403), a ServiceAccount issuer and signing key
(TokenRequest works; the ``default`` ServiceAccount of a new namespace is *not* created, no
controller-manager runs), a static token file (``add_static_token``, read at each start, for
credentials that become valid or invalid later), and an audit log of every request at
Metadata level (user, verb, resource, code, User-Agent; Service status writes with their
body), read back with ``audit``. Its serving certificate names 127.0.0.1 only (not
``localhost``, so a wrong server name can be tested). A restart takes a few seconds: open
watches are given 2 s to end.

Processes are children of this object: stopped by PID (SIGTERM, wait, SIGKILL, reap) by
``stop`` or ``__exit__``, and, started under ``setpriv --pdeathsig KILL``, killed by the
kernel if the process that started them dies first (the death signal follows the
*thread* that started them: start and restart from a thread that lives as long as they do).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.support.audit import POLICY, AuditReader, AuditRecord
from tests.support.pki import TestCA, write_key_pair

ASSETS_ENV = "KUBEBUILDER_ASSETS"
BINARIES = ("kube-apiserver", "etcd")
SERVICE_CIDRS = "10.96.0.0/12,fd00:10:96::/112"  # dual-stack, IPv4 first
ISSUER = "https://kubernetes.default.svc.cluster.local"
ADVERTISE = "10.254.254.254"  # published as the `kubernetes` Service endpoint; never dialled


def assets_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why the control plane cannot run here (naming ``KUBEBUILDER_ASSETS``), or None."""
    env = os.environ if env is None else env
    where = env.get(ASSETS_ENV, "")
    if not where:
        return (
            f"{ASSETS_ENV} is not set: point it at a directory holding kube-apiserver and etcd "
            "(1.30 or newer; `setup-envtest use -p path`, or .ci/run unpacks ../shared/k8s)"
        )
    missing = [b for b in BINARIES if not os.access(Path(where) / b, os.X_OK)]
    if missing:
        return f"{ASSETS_ENV}={where} holds no executable {' or '.join(missing)}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- processes ---------------------------------------------------------------------------------


class _Child:
    """A daemon started by the harness, its output in a log file; stopped by PID and reaped."""

    def __init__(self, name: str, argv: Sequence[str], log: Path) -> None:
        self.name, self.log = name, log
        prefix = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [*prefix, *argv], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _wait_ready(child: _Child, probe: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited ({child.proc.returncode}):\n{child.tail()}")
        try:
            if probe():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout:.0f} s:\n{child.tail()}")
        time.sleep(0.05)


# -- the control plane -------------------------------------------------------------------------

_counter = itertools.count(1)


class ControlPlane:
    """etcd and kube-apiserver on loopback, in a temporary directory, with their own PKI."""

    def __init__(
        self,
        assets: str | Path | None = None,
        workdir: str | Path | None = None,
        *,
        audit: bool = True,
        apiserver_args: Iterable[str] = (),
        start_timeout: float = 90.0,
    ) -> None:
        where = assets if assets is not None else os.environ.get(ASSETS_ENV)
        if assets is None:
            problem = assets_problem()
            if problem:
                raise RuntimeError(problem)
        self.assets = Path(str(where))
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="ironlb-k8s-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._audit_enabled = audit
        self._extra_args = list(apiserver_args)
        self._start_timeout = start_timeout
        self.etcd: _Child | None = None
        self.apiserver: _Child | None = None
        self.port = 0
        self._etcd_url = ""
        self._static_tokens: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        self._admin: Any = None
        self._audit = AuditReader(self.workdir / "audit.log")
        self._suffix = secrets.token_hex(2)

    # -- paths and URLs -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "pki" / "ca.crt"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.workdir / "admin.kubeconfig"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> ControlPlane:
        try:
            self._make_pki()
            self._start_etcd()
            self.port = free_port()
            self._write_kubeconfig(
                self.admin_kubeconfig,
                user={
                    "client-certificate": str(self.workdir / "pki" / "admin.crt"),
                    "client-key": str(self.workdir / "pki" / "admin.key"),
                },
                user_name="admin",
            )
            self.start_apiserver()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both (the API server first), reap them, remove the directory this object made."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        for child in (self.apiserver, self.etcd):
            if child is not None:
                child.stop()
        self.apiserver = self.etcd = None
        if self._own_workdir and os.environ.get("IRONLB_KEEP_CONTROLPLANE") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        return {c.name: c.pid for c in (self.etcd, self.apiserver) if c is not None and c.alive()}

    def _make_pki(self) -> None:
        pki = self.workdir / "pki"
        ca = TestCA(pki, "ironlb-test-ca")
        ca.issue("apiserver", ips=["127.0.0.1"], dns=["kubernetes", "kubernetes.default.svc"], server=True)
        ca.issue("admin", organization="system:masters")
        write_key_pair(pki / "sa.key", pki / "sa.pub")
        (self.workdir / "audit-policy.yaml").write_text(POLICY)
        self._write_token_file()

    def _start_etcd(self) -> None:
        for attempt in range(3):
            client_port, peer_port = free_port(), free_port()
            self._etcd_url = f"http://127.0.0.1:{client_port}"
            peer = f"http://127.0.0.1:{peer_port}"
            data = self.workdir / "etcd-data"
            shutil.rmtree(data, ignore_errors=True)
            self.etcd = _Child(
                "etcd",
                [
                    str(self.assets / "etcd"),
                    "--data-dir",
                    str(data),
                    "--name",
                    "default",
                    "--listen-client-urls",
                    self._etcd_url,
                    "--advertise-client-urls",
                    self._etcd_url,
                    "--listen-peer-urls",
                    peer,
                    "--initial-advertise-peer-urls",
                    peer,
                    "--initial-cluster",
                    f"default={peer}",
                    "--log-level",
                    "warn",
                ],
                self.workdir / "etcd.log",
            )
            try:
                _wait_ready(self.etcd, self._etcd_healthy, self._start_timeout, "etcd")
                return
            except RuntimeError:
                self.etcd.stop()
                if attempt == 2:  # a port taken between free_port() and the bind: try others
                    raise

    def _etcd_healthy(self) -> bool:
        with urllib.request.urlopen(f"{self._etcd_url}/health", timeout=2) as resp:
            return bool(json.loads(resp.read()).get("health") == "true")

    def _etcd_call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(f"{self._etcd_url}{path}", data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            out: dict[str, Any] = json.loads(resp.read())
            return out

    def _apiserver_argv(self) -> list[str]:
        pki = self.workdir / "pki"
        argv = [
            str(self.assets / "kube-apiserver"),
            f"--etcd-servers={self._etcd_url}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.port}",
            f"--advertise-address={ADVERTISE}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--token-auth-file={self.workdir / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDRS}",
            f"--service-account-issuer={ISSUER}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--profiling=false",
            # Open watches end within this on SIGTERM; without it a restart waits 15 s for them.
            "--shutdown-watch-termination-grace-period=2s",
        ]
        if self._audit_enabled:
            argv += [
                f"--audit-policy-file={self.workdir / 'audit-policy.yaml'}",
                f"--audit-log-path={self.workdir / 'audit.log'}",
                "--audit-log-maxsize=0",
            ]
        return argv + self._extra_args

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        pki = self.workdir / "pki"
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def _readyz(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/readyz", timeout=2, context=self._ssl_context()) as resp:
            return resp.read().strip() == b"ok"

    def start_apiserver(self) -> None:
        """Start kube-apiserver (on the same port as before, if it ran) and wait for ``/readyz``."""
        assert self.apiserver is None or not self.apiserver.alive(), "kube-apiserver is running"
        self.apiserver = _Child("kube-apiserver", self._apiserver_argv(), self.workdir / "kube-apiserver.log")
        _wait_ready(self.apiserver, self._readyz, self._start_timeout, "kube-apiserver")

    def stop_apiserver(self) -> None:
        """Stop kube-apiserver (SIGTERM, then SIGKILL); etcd keeps every object."""
        if self.apiserver is not None:
            self.apiserver.stop()

    def restart_apiserver(self) -> None:
        """Stop and start kube-apiserver on the same port: watches end; their resourceVersions may be
        gone afterwards (410), as after a control-plane upgrade."""
        self.stop_apiserver()
        self.start_apiserver()

    def compact(self) -> int:
        """Compact etcd's history up to now (as kube-apiserver does every 5 minutes); returns the revision.

        A running API server still serves watches from its watch cache; after a restart (a new
        cache, started at the current revision) a watch or list from an older resourceVersion is
        answered ``410 Gone`` either way, and with compaction etcd cannot serve it either."""
        head = self._etcd_call("/v3/kv/range", {"key": base64.b64encode(b"\0").decode(), "limit": 1})
        revision = int(head["header"]["revision"])
        self._etcd_call("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    # -- logs -----------------------------------------------------------------------------------
    def audit(self, *, user: str | None = None, since: float | None = None) -> list[AuditRecord]:
        """Requests from the audit log, in the order they completed; optionally of one user, or
        received at or after ``since`` (epoch seconds)."""
        if not self._audit_enabled:
            raise RuntimeError("this ControlPlane was started with audit=False")
        return [
            r
            for r in self._audit.read()
            if (user is None or r.user == user) and (since is None or r.at >= since)
        ]

    def apiserver_log(self) -> str:
        try:
            return (self.workdir / "kube-apiserver.log").read_text(errors="replace")
        except OSError:
            return ""

    # -- clients and credentials ----------------------------------------------------------------
    def _write_kubeconfig(self, path: Path, *, user: dict[str, str], user_name: str) -> Path:
        cluster = {"server": self.url, "certificate-authority": str(self.ca_file)}
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "ironlb-test", "cluster": cluster}],
            "users": [{"name": user_name, "user": user}],
            "contexts": [{"name": "ironlb-test", "context": {"cluster": "ironlb-test", "user": user_name}}],
            "current-context": "ironlb-test",
        }  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def kubeconfig_with_token(self, token: str, path: str | Path, *, user_name: str = "token-user") -> Path:
        """A kubeconfig for this server that authenticates with ``token``."""
        return self._write_kubeconfig(Path(path), user={"token": token}, user_name=user_name)

    def admin_client(self) -> Any:
        """A new ``kubernetes.client.ApiClient`` with cluster-admin rights (close it when done)."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.admin_kubeconfig))

    @property
    def _api(self) -> Any:
        if self._admin is None:
            self._admin = self.admin_client()
        return self._admin

    def new_namespace(self, prefix: str = "t", *, labels: Mapping[str, str] | None = None) -> str:
        """Create a namespace with a name never used before in this server's life."""
        from kubernetes import client

        name = f"{prefix[:40]}-{self._suffix}-{next(_counter)}".lower()
        body = {"metadata": {"name": name, "labels": dict(labels or {})}}
        client.CoreV1Api(self._api).create_namespace(body)
        return name

    def install_crds(self, files: Iterable[Path], timeout: float = 60.0) -> list[str]:
        """Create (or replace) each CustomResourceDefinition in ``files`` and wait until the API server
        serves its kind (``Established``, and a list answers); returns their names."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        ext = client.ApiextensionsV1Api(self._api)
        names = []
        for path in files:
            for crd in (d for d in yaml.safe_load_all(Path(path).read_text()) if d):
                name = crd["metadata"]["name"]
                try:
                    ext.create_custom_resource_definition(crd)
                except ApiException as exc:
                    if exc.status != 409:
                        raise
                    current = ext.read_custom_resource_definition(name)
                    crd["metadata"]["resourceVersion"] = current.metadata.resource_version
                    ext.replace_custom_resource_definition(name, crd)
                names.append(name)
        custom = client.CustomObjectsApi(self._api)
        deadline = time.monotonic() + timeout
        for name in names:
            crd = ext.read_custom_resource_definition(name)
            plural, group = crd.spec.names.plural, crd.spec.group
            version = crd.spec.versions[0].name
            while True:
                try:
                    custom.list_cluster_custom_object(group, version, plural, limit=1)
                    break
                except ApiException as exc:
                    if exc.status != 404 or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        return names

    def service_account(self, namespace: str, name: str) -> str:
        """Create the ServiceAccount unless it exists; returns its user name."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        try:
            client.CoreV1Api(self._api).create_namespaced_service_account(
                namespace, {"metadata": {"name": name}}
            )
        except ApiException as exc:
            if exc.status != 409:
                raise
        return f"system:serviceaccount:{namespace}:{name}"

    def bind_cluster_role(self, namespace: str, service_account: str, cluster_role: str) -> None:
        """Grant ``cluster_role`` to the ServiceAccount cluster-wide (a ClusterRoleBinding)."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        body = {
            "metadata": {"name": f"{namespace}.{service_account}.{cluster_role}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
            "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
        }
        rbac = client.RbacAuthorizationV1Api(self._api)
        try:
            rbac.create_cluster_role_binding(body)
        except ApiException as exc:
            if exc.status != 409:
                raise
        rules = rbac.read_cluster_role(cluster_role).rules or []
        if rules:
            self.wait_allowed(f"system:serviceaccount:{namespace}:{service_account}", rules[0])

    def wait_allowed(self, user: str, rule: Any, timeout: float = 30.0) -> None:
        """Wait until the API server's authorizer allows ``user`` the first verb of ``rule`` (a
        PolicyRule): a new binding takes a moment to reach its RBAC cache."""
        from kubernetes import client

        def pick(values: Sequence[str] | None, default: str) -> str:
            return next((v for v in values or () if v != "*"), default)

        attrs = {
            "verb": pick(rule.verbs, "get"),
            "group": pick(rule.api_groups, ""),
            "resource": pick(rule.resources, "pods").split("/")[0],
            "namespace": "default",
        }
        if rule.resource_names:
            attrs["name"] = rule.resource_names[0]
        groups = [
            "system:serviceaccounts",
            f"system:serviceaccounts:{user.split(':')[2]}",
            "system:authenticated",
        ]
        review = {"spec": {"user": user, "groups": groups, "resourceAttributes": attrs}}
        auth = client.AuthorizationV1Api(self._api)
        deadline = time.monotonic() + timeout
        while not auth.create_subject_access_review(review).status.allowed:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{user} still may not {attrs} after {timeout:.0f} s")
            time.sleep(0.05)

    def token(self, namespace: str, service_account: str, *, seconds: int = 86400) -> str:
        """A token for the ServiceAccount from the TokenRequest API (the account must exist)."""
        from kubernetes import client

        resp = client.CoreV1Api(self._api).create_namespaced_service_account_token(
            service_account, namespace, {"spec": {"expirationSeconds": seconds}}
        )
        return str(resp.status.token)

    def kubeconfig_for(
        self,
        namespace: str,
        service_account: str,
        *,
        path: str | Path | None = None,
        cluster_role: str | None = None,
    ) -> Path:
        """A kubeconfig holding a fresh token of the ServiceAccount (created if missing), optionally
        bound to ``cluster_role`` first."""
        self.service_account(namespace, service_account)
        if cluster_role is not None:
            self.bind_cluster_role(namespace, service_account, cluster_role)
        out = (
            Path(path)
            if path is not None
            else self.workdir / "kubeconfigs" / f"{namespace}.{service_account}"
        )
        return self._write_kubeconfig(
            out,
            user={"token": self.token(namespace, service_account)},
            user_name=f"system:serviceaccount:{namespace}:{service_account}",
        )

    def add_static_token(self, token: str, user: str, *, groups: Sequence[str] = ()) -> None:
        """Accept ``token`` as ``user`` from the next (re)start of the API server on."""
        self._static_tokens[token] = (user, f"uid-{user}", tuple(groups))
        self._write_token_file()

    def static_token(self, token: str) -> bool:
        """Whether ``token`` is in the token file (accepted from the next start on, if not already)."""
        return token in self._static_tokens

    def remove_static_token(self, token: str) -> None:
        """Reject ``token`` from the next (re)start of the API server on."""
        self._static_tokens.pop(token, None)
        self._write_token_file()

    def _write_token_file(self) -> None:
        # kube-apiserver refuses an empty file: one line for a token nobody knows.
        rows = {secrets.token_hex(16): ("nobody", "uid-nobody", ()), **self._static_tokens}
        lines = [f'{t},{u},{uid},"{",".join(g)}"' for t, (u, uid, g) in rows.items()]
        (self.workdir / "tokens.csv").write_text("\n".join(lines) + "\n")
