"""Fixtures for the controller's end-to-end tests: the API double, a real client, controllers.

Controllers run in-process (a ``Controller`` in threads, each with its own client) or as
``python -m controller`` subprocesses; either way they talk HTTP to the double through
the official ``kubernetes`` client. Every request is logged by the double with the
bearer token that made it, so tests can tell which controller wrote what.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from controller.options import ControllerOptions
from controller.runtime import Controller
from ironlb.kube.client import make_api_client
from tests.kubeapi import KubeApiServer, by_plural

REPO = Path(__file__).resolve().parents[2]
NS = "ironlb-system"
TOKENS = ("test", "ctl-a", "ctl-b", "ctl-c")

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


def wait_for(cond: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``cond`` until truthy; generous timeouts, never a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lb(
    name: str, ns: str = "default", annotations: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name, "namespace": ns},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }
    if annotations:
        body["metadata"]["annotations"] = annotations
    return body


def configmap(text: str) -> dict[str, Any]:
    return {"metadata": {"name": "ironlb", "namespace": NS}, "data": {"config": text}}


@dataclass
class Env:
    server: KubeApiServer
    tmp: Path
    api: client.ApiClient
    controllers: list[Controller] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def core(self) -> Any:
        return client.CoreV1Api(self.api)

    def kubeconfig(self, token: str) -> Path:
        path = self.tmp / f"kubeconfig-{token}"
        if not path.exists():
            self.server.write_kubeconfig(path, token=token)
        return path

    # -- objects --------------------------------------------------------------
    def set_config(self, text: str) -> None:
        try:
            self.core.read_namespaced_config_map("ironlb", NS)
        except client.exceptions.ApiException:
            self.core.create_namespaced_config_map(NS, configmap(text))
            return
        self.core.patch_namespaced_config_map(
            "ironlb", NS, {"data": {"config": text}}, _content_type="application/merge-patch+json"
        )

    def create(self, body: dict[str, Any]) -> None:
        self.core.create_namespaced_service(body["metadata"]["namespace"], body)

    def seed(self, bodies: list[dict[str, Any]], *, keep_status: bool = False) -> None:
        """Create many Services straight in the store (no HTTP round trip each)."""
        rt = by_plural("services")
        for body in bodies:
            self.server.store.create(rt, body["metadata"]["namespace"], body, keep_status=keep_status)

    def service(self, name: str, ns: str = "default") -> dict[str, Any]:
        return self.server.store.get(by_plural("services"), ns, name)

    def ips(self, name: str, ns: str = "default") -> list[str]:
        ingress = ((self.service(name, ns).get("status") or {}).get("loadBalancer") or {}).get(
            "ingress"
        ) or []
        return [e["ip"] for e in ingress if e.get("ip")]

    def all_ips(self) -> dict[str, tuple[str, ...]]:
        out = {}
        for s in self.server.store.list_objects(by_plural("services")):
            ingress = ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            out[f"{s['metadata']['namespace']}/{s['metadata']['name']}"] = tuple(
                e.get("ip", "") for e in ingress
            )
        return out

    def events(self, reason: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        out = self.server.store.list_objects(by_plural("events"))
        return [
            e
            for e in out
            if (reason is None or e.get("reason") == reason)
            and (name is None or (e.get("involvedObject") or {}).get("name") == name)
        ]

    def writes(self, user: str | None = None) -> list[Any]:
        """Logged writes (create/update/patch/delete), optionally of one token."""
        return [
            r
            for r in self.server.requests()
            if r.verb in ("create", "update", "patch", "delete") and (user is None or r.user == user)
        ]

    def ingress_history(self) -> dict[str, list[tuple[str, ...]]]:
        """Every distinct non-empty ingress written per Service, in order, from the store's event log."""
        hist: dict[str, list[tuple[str, ...]]] = {}
        with self.server.store.cond:
            events = list(self.server.store._history.get(by_plural("services"), ()))
        for ev in events:
            meta = ev.obj["metadata"]
            ingress = ((ev.obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            ips = tuple(sorted(e.get("ip", "") for e in ingress))
            seen = hist.setdefault(f"{meta['namespace']}/{meta['name']}", [])
            if ips and (not seen or seen[-1] != ips):
                seen.append(ips)
        return hist

    # -- controllers ----------------------------------------------------------
    def controller(self, token: str = "ctl-a", **kw: Any) -> Controller:
        opts = ControllerOptions(
            kubeconfig=str(self.kubeconfig(token)),
            identity=token,
            metrics_address="127.0.0.1:0",
            **{"lease_duration": 3.0, "renew_deadline": 2.0, "retry_period": 0.3, **kw},
        )
        ctl = Controller(opts, api_client=make_api_client(opts.kubeconfig)).start()
        self.controllers.append(ctl)
        return ctl

    def stop(self, ctl: Controller) -> None:
        ctl.stop()
        ctl.api.close()
        self.controllers.remove(ctl)

    def spawn(self, token: str, *extra: str) -> subprocess.Popen[bytes]:
        """``python -m controller`` as a child process."""
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.ports[token] = port = free_port()
        log = open(self.tmp / f"{token}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "controller",
                "--kubeconfig",
                str(self.kubeconfig(token)),
                "--identity",
                token,
                "--metrics-address",
                f"127.0.0.1:{port}",
                "--lease-duration",
                "3",
                "--renew-deadline",
                "2",
                "--retry-period",
                "0.3",
                *extra,
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def log_of(self, token: str) -> str:
        path = self.tmp / f"{token}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def lease_holder(self) -> str:
        try:
            lease = self.server.store.get(by_plural("leases", "coordination.k8s.io"), NS, "ironlb-controller")
        except Exception:
            return ""
        return str((lease.get("spec") or {}).get("holderIdentity") or "")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with KubeApiServer(bookmark_interval=0.5, tokens=dict.fromkeys(TOKENS)) as server:
        api = make_api_client(str(server.write_kubeconfig(tmp_path / "kubeconfig-test", token="test")))
        e = Env(server, tmp_path, api)
        e.core.create_namespace({"metadata": {"name": NS}})
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
            api.close()  # type: ignore[no-untyped-call]
