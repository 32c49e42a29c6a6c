"""The live commands against the real API server: a cluster of Nodes, Services and the controller.

Each test gets ``live``: the test's namespace (ironlb's ConfigMap and the Services live there),
its own ``loadBalancerClass`` (so the controller and the plan manage only this test's
Services, whatever else the session's server holds), Nodes of its own, the in-process
controller (``controller.runtime.Controller``) when the test starts it, and ``ironlb`` run as
a user runs it (a child process, exit status and output).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from controller.options import ControllerOptions
from controller.runtime import PROGRAM, Controller
from ironlb.kube.client import make_api_client
from tests.support.pytest_plugin import Kube
from tests.support.waiting import wait_for

if TYPE_CHECKING:
    from tests.live.speakers import Speakers

REPO = Path(__file__).resolve().parents[2]
MERGE = "application/merge-patch+json"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Live:
    kube: Kube
    tmp: Path
    lb_class: str
    nodes: list[str] = field(default_factory=list)
    controllers: list[Controller] = field(default_factory=list)

    @property
    def ns(self) -> str:
        return self.kube.ns

    @property
    def admin_kubeconfig(self) -> Path:
        return self.kube.cp.admin_kubeconfig

    # -- objects ------------------------------------------------------------------------------
    def set_config(self, config: dict[str, Any] | str) -> None:
        text = config if isinstance(config, str) else yaml.safe_dump(config)
        core = self.kube.core
        try:
            core.read_namespaced_config_map("ironlb", self.ns)
        except Exception:
            core.create_namespaced_config_map(
                self.ns, {"metadata": {"name": "ironlb"}, "data": {"config": text}}
            )
            return
        core.patch_namespaced_config_map("ironlb", self.ns, {"data": {"config": text}}, _content_type=MERGE)

    def add_nodes(self, count: int, *, prefix: str = "172.30.0.1") -> list[str]:
        for i in range(1, count + 1):
            name = f"{self.ns}-n{i}"
            self.kube.create_node(
                {
                    "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                    "status": {"addresses": [{"type": "InternalIP", "address": f"{prefix}{i}"}]},
                }
            )
            self.nodes.append(name)
        return self.nodes

    def service(self, name: str, annotations: dict[str, str] | None = None, **spec: Any) -> None:
        body = {
            "metadata": {"name": name, "annotations": dict(annotations or {})},
            "spec": {
                "type": "LoadBalancer",
                "loadBalancerClass": self.lb_class,
                "ports": [{"port": 80, "protocol": "TCP"}],
                **spec,
            },
        }
        self.kube.core.create_namespaced_service(self.ns, body)
        if self.nodes:
            slice_ = {
                "metadata": {"name": f"{name}-eps", "labels": {"kubernetes.io/service-name": name}},
                "addressType": "IPv4",
                "endpoints": [
                    {"addresses": [f"10.244.{i}.10"], "conditions": {"ready": True}, "nodeName": n}
                    for i, n in enumerate(self.nodes)
                ],
            }
            self.kube.discovery.create_namespaced_endpoint_slice(self.ns, slice_)

    def ips(self) -> dict[str, tuple[str, ...]]:
        resp = self.kube.core.list_namespaced_service(self.ns, _preload_content=False)
        out: dict[str, tuple[str, ...]] = {}
        for s in json.loads(resp.data)["items"]:
            ingress = ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            out[s["metadata"]["name"]] = tuple(e["ip"] for e in ingress if e.get("ip"))
        return out

    # -- the controller -----------------------------------------------------------------------
    def controller(self) -> Controller:
        opts = ControllerOptions(
            kubeconfig=str(self.admin_kubeconfig),
            namespace=self.ns,
            identity=f"ctl-{self.ns}",
            metrics_address="127.0.0.1:0",
            lb_class=self.lb_class,
            leader_elect=False,
        )
        ctl = Controller(opts, api_client=make_api_client(opts.kubeconfig, program=PROGRAM)).start()
        self.controllers.append(ctl)
        return ctl

    def settled(self, ctl: Controller, expect: Callable[[dict[str, tuple[str, ...]]], bool]) -> None:
        """Wait until the controller is idle and the Services' IPs are as ``expect`` wants."""
        wait_for(lambda: ctl.settled() and expect(self.ips()), what="the controller to settle")

    def stop_controllers(self) -> None:
        for ctl in self.controllers:
            with suppress(Exception):
                ctl.stop()
                ctl.api.close()
        self.controllers.clear()

    # -- the command ------------------------------------------------------------------------------
    def ironlb(
        self, *argv: str, kubeconfig: Path | None = None, stdin: str = "", netns: str | None = None
    ) -> Run:
        """``ironlb ARGV --kubeconfig K -n NS --lb-class C`` in a child process, as a user runs it
        (inside the network namespace ``netns`` when given)."""
        cluster = ["--kubeconfig", str(kubeconfig or self.admin_kubeconfig), "-n", self.ns]
        cluster += ["--lb-class", self.lb_class]
        inside = ["ip", "netns", "exec", netns] if netns else []
        done = subprocess.run(
            [*inside, sys.executable, "-m", "ironlb", *argv, *cluster],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
            env={**os.environ, "KUBECONFIG": "/nonexistent"},
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def write(self, name: str, config: dict[str, Any]) -> Path:
        path = self.tmp / name
        path.write_text(yaml.safe_dump(config))
        return path


@pytest.fixture
def live(kube: Kube, tmp_path: Path) -> Iterator[Live]:
    env = Live(kube, tmp_path, lb_class=f"ironlb.io/{kube.ns}")
    try:
        yield env
    finally:
        env.stop_controllers()


@pytest.fixture
def speakers(live: Live, tmp_path: Path) -> Iterator[Speakers]:
    """Real speakers (one child process per node, no interface to answer on) of ``live``'s cluster."""
    from tests.live.speakers import Speakers  # it imports this module

    s = Speakers(tmp_path, live.kube.kubeconfig("speaker"), live.ns, live.lb_class)
    try:
        yield s
    finally:
        s.close()
