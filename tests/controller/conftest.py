"""Fixtures for the controller's end-to-end tests: the real API server, clients, controllers.

Each test gets a fresh namespace (``env.ns``) that holds ironlb's ConfigMap and Lease and the
test's Services. Controllers run in-process (a ``Controller`` in threads, each with its own
client) or as ``python -m controller`` subprocesses, each as its own ServiceAccount (``ctl-a``,
``ctl-b``...), so the API server's audit log tells which controller wrote what, in which order,
and with which body (Service status writes are logged with theirs).

The double (``double_env``) remains for what a real server cannot do on demand: holding a
request unanswered (``tests/controller/test_ctl_ha.py``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from controller.options import ControllerOptions
from controller.runtime import PROGRAM, Controller
from ironlb.kube.client import make_api_client
from tests.support.audit import AuditRecord
from tests.support.crds import CONFIG_RESOURCES
from tests.support.pytest_plugin import Kube

REPO = Path(__file__).resolve().parents[2]
MERGE = "application/merge-patch+json"

POOLS = """\
address-pools:
- name: main
  protocol: layer2
  addresses: [10.200.0.0/16]
- name: v6
  protocol: layer2
  addresses: [2001:db8::/120]
- name: manual
  protocol: layer2
  auto-assign: false
  addresses: [198.51.100.0/28]
"""


EVERYTHING = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]


def everything_but(verb: str, resource: str) -> list[dict[str, Any]]:
    """RBAC rules for every verb on every resource ironlb touches, except ``verb`` on ``resource``."""
    resources = ["services", "services/status", "configmaps", "events", "secrets", "leases", "namespaces"]
    resources += [f"{r}.ironlb.io" for r in IRONLB_RESOURCES]
    verbs = ["get", "list", "watch", "create", "update", "patch", "delete"]
    return [
        {
            "apiGroups": ["ironlb.io"] if r.endswith(".ironlb.io") else ["", "coordination.k8s.io"],
            "resources": [r.removesuffix(".ironlb.io")],
            "verbs": [v for v in verbs if (v, r) != (verb, resource)],
        }
        for r in resources
    ]


IRONLB_RESOURCES = (*CONFIG_RESOURCES, "configurationstates", "configurationstates/status")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lb(name: str, annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    """A LoadBalancer Service (namespace: the test's, unless given by ``Env.create``)."""
    body: dict[str, Any] = {
        "metadata": {"name": name},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }
    if annotations:
        body["metadata"]["annotations"] = annotations
    return body


def configmap(text: str) -> dict[str, Any]:
    return {"metadata": {"name": "ironlb"}, "data": {"config": text}}


def ips_of(service: dict[str, Any]) -> list[str]:
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [e["ip"] for e in ingress if e.get("ip")]


@dataclass
class Env:
    kube: Kube
    tmp: Path
    controllers: list[Controller] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)

    @property
    def ns(self) -> str:
        return self.kube.ns

    @property
    def api(self) -> client.ApiClient:
        return self.kube.api

    @property
    def core(self) -> Any:
        return self.kube.core

    def kubeconfig(self, name: str) -> Path:
        """A kubeconfig of ServiceAccount ``name`` in the test's namespace, bound to cluster-admin."""
        return self.kube.kubeconfig(name)

    def user(self, name: str) -> str:
        return self.kube.user(name)

    # -- objects --------------------------------------------------------------
    def set_config(self, text: str) -> None:
        try:
            self.core.read_namespaced_config_map("ironlb", self.ns)
        except client.exceptions.ApiException:
            self.core.create_namespaced_config_map(self.ns, configmap(text))
            return
        self.core.patch_namespaced_config_map(
            "ironlb", self.ns, {"data": {"config": text}}, _content_type=MERGE
        )

    def create(self, body: dict[str, Any]) -> None:
        self.core.create_namespaced_service(body["metadata"].get("namespace", self.ns), body)

    def create_many(self, bodies: list[dict[str, Any]]) -> None:
        """Create many Services, eight requests at a time."""
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(self.create, bodies))

    def service(self, name: str, ns: str | None = None) -> dict[str, Any]:
        resp = self.core.read_namespaced_service(name, ns or self.ns, _preload_content=False)
        out: dict[str, Any] = json.loads(resp.data)
        return out

    def ips(self, name: str, ns: str | None = None) -> list[str]:
        return ips_of(self.service(name, ns))

    def all_ips(self) -> dict[str, tuple[str, ...]]:
        resp = self.core.list_namespaced_service(self.ns, _preload_content=False)
        return {s["metadata"]["name"]: tuple(ips_of(s)) for s in json.loads(resp.data)["items"]}

    def events(self, reason: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        resp = self.core.list_namespaced_event(self.ns, _preload_content=False)
        return [
            e
            for e in json.loads(resp.data)["items"]
            if (reason is None or e.get("reason") == reason)
            and (name is None or (e.get("involvedObject") or {}).get("name") == name)
        ]

    # -- what the API server saw ------------------------------------------------
    def requests(self, name: str | None = None) -> list[AuditRecord]:
        """This test's requests, of ServiceAccount ``name`` if given, in the order they completed."""
        return self.kube.audit(self.user(name) if name else None)

    def writes(self, name: str | None = None) -> list[AuditRecord]:
        """Writes (create/update/patch/delete) of ServiceAccount ``name``, or of every controller."""
        return [
            r
            for r in self.requests(name)
            if r.write and (name is not None or r.user.startswith(f"system:serviceaccount:{self.ns}:ctl-"))
        ]

    def status_writes(self, name: str | None = None) -> list[AuditRecord]:
        return [r for r in self.writes(name) if r.rbac_resource == "services/status"]

    def ingress_history(self) -> dict[str, list[tuple[str, ...]]]:
        """Every distinct non-empty ingress a controller wrote per Service, in order (audit bodies)."""
        hist: dict[str, list[tuple[str, ...]]] = {}
        for r in self.status_writes():
            if r.code >= 300 or r.body is None or r.name is None:
                continue
            ingress = ((r.body.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            ips = tuple(sorted(e.get("ip", "") for e in ingress))
            seen = hist.setdefault(r.name, [])
            if ips and (not seen or seen[-1] != ips):
                seen.append(ips)
        return hist

    def lease(self) -> dict[str, Any]:
        try:
            resp = client.CoordinationV1Api(self.api).read_namespaced_lease(
                "ironlb-controller", self.ns, _preload_content=False
            )
        except client.exceptions.ApiException:
            return {}
        return dict(json.loads(resp.data).get("spec") or {})

    def lease_holder(self) -> str:
        return str(self.lease().get("holderIdentity") or "")

    # -- controllers ----------------------------------------------------------
    def controller(
        self, name: str = "ctl-a", *, rules: list[dict[str, Any]] | None = None, **kw: Any
    ) -> Controller:
        """An in-process controller as ServiceAccount ``name`` (also its Lease identity), with
        cluster-admin or, given ``rules``, exactly those (``self.roles[name]`` names the role)."""
        if rules is not None:
            self.roles[name] = self.kube.grant(name, rules)
            kubeconfig = self.kube.kubeconfig(name, cluster_role=None)
        else:
            kubeconfig = self.kubeconfig(name)
        opts = ControllerOptions(
            kubeconfig=str(kubeconfig),
            namespace=self.ns,
            identity=name,
            metrics_address="127.0.0.1:0",
            **{"lease_duration": 3.0, "renew_deadline": 2.0, "retry_period": 0.3, **kw},
        )
        ctl = Controller(opts, api_client=make_api_client(opts.kubeconfig, program=PROGRAM)).start()
        self.controllers.append(ctl)
        return ctl

    def stop(self, ctl: Controller) -> None:
        ctl.stop()
        ctl.api.close()
        self.controllers.remove(ctl)

    def spawn(self, name: str, *extra: str, identity: str | None = None) -> subprocess.Popen[bytes]:
        """``python -m controller`` as a child process, as ServiceAccount ``name`` (and with that
        Lease identity, unless ``identity`` says another; "" leaves the program's default)."""
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.ports[name] = port = free_port()
        argv = [sys.executable, "-m", "controller", "--kubeconfig", str(self.kubeconfig(name))]
        argv += ["--namespace", self.ns, "--metrics-address", f"127.0.0.1:{port}"]
        argv += ["--identity", identity or name] if identity != "" else []
        argv += ["--lease-duration", "3", "--renew-deadline", "2", "--retry-period", "0.3", *extra]
        out = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.procs.append(proc)
        return proc

    def log_of(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def env(kube: Kube, tmp_path: Path) -> Iterator[Env]:
    e = Env(kube, tmp_path)
    try:
        yield e
    finally:
        for ctl in list(e.controllers):
            with suppress(Exception):
                e.stop(ctl)
        for proc in e.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(10)
