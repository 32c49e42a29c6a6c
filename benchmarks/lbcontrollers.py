"""The two controllers that ``controller.py`` measures, each set up on its own real API server.

``IronLB`` runs ``python -m controller`` from this repository (as in its image, see below);
``MetalLB`` runs MetalLB's controller v0.16.1, a peer binary measured, never copied (the
recipe and its quirks: ``/work/shared/peers/metallb/README.md``). Each handles only Services of its own
``loadBalancerClass``, gets the same pool (198.18.0.0/16, layer 2) and its own
ServiceAccount per process (bound to ``cluster-admin``, the same for both), so the API
server's audit log tells which process made which request. Listeners go on free ports
(MetalLB's bind every address; nothing is ever sent to them).

ironlb starts as its image runs it: from bytecode (``pip install .`` compiles every module at
install; a source checkout run with ``PYTHONDONTWRITEBYTECODE=1``, as this machine's and CI's
environment sets it, would compile every module again at each start, about 0.07 s of CPU), and
without the test extras: ``kubernetes-validate`` is one (tests/install), and the client's
``kubernetes.dynamic`` imports it, with ``jsonschema``, whenever it is installed (0.04-0.06 s
at each start, which the image never spends). Neither is a cost a deployment pays.
"""

from __future__ import annotations

import compileall
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

REPO = Path(__file__).resolve().parents[1]
POOL = "198.18.0.0/16"
METALLB_BINARY = Path(os.environ.get("METALLB_CONTROLLER", "/root/.cache/ironlb/peers/metallb-controller"))
METALLB_SHARED = Path(os.environ.get("METALLB_SHARED", "/work/shared/peers/metallb"))


AS_IN_THE_IMAGE = (
    "import runpy, sys; sys.modules['kubernetes_validate'] = None; "  # a test extra: not in the image
    "runpy.run_module('controller', run_name='__main__', alter_sys=True)"
)
"""``python -m controller`` without the test extras the development environment has (see above)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Subject:
    """One controller under test: its configuration objects, its Services, its processes."""

    name = ""
    lb_class = ""
    namespace = ""  # where its configuration and ServiceAccounts live
    repo = REPO  # the checkout it runs from (its working directory and PYTHONPATH)
    prelude = ""  # Python an ironlb process runs before the controller (a variant's, see IronLBVariant)

    def __init__(self, workdir: Path, extra_args: list[str] | None = None) -> None:
        self.workdir = workdir
        self.extra_args = list(extra_args or [])
        self._started = 0
        self.spawned_at = float("nan")
        """Monotonic time the last ``spawn`` started its process (its ServiceAccount made before)."""

    def problem(self) -> str | None:
        """Why this controller cannot run here, or None."""
        return None

    def prepare(self, api: Any) -> None:
        """Create what the controller needs before it starts (namespace, config, CRDs)."""
        raise NotImplementedError

    def argv(self, kubeconfig: Path, instance: int) -> list[str]:
        raise NotImplementedError

    def service(self, namespace: str, name: str) -> dict[str, Any]:
        return {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "type": "LoadBalancer",
                "loadBalancerClass": self.lb_class,
                "allocateLoadBalancerNodePorts": False,  # 10,000 Services would exhaust NodePorts
                "ports": [{"port": 80}],
            },
        }

    def spawn(self, cp: Any) -> tuple[subprocess.Popen[bytes], str]:
        """Start one process with a ServiceAccount of its own; returns it and its audit user."""
        self._started += 1
        account = f"{self.name}-{self._started}"
        kubeconfig = cp.kubeconfig_for(self.namespace, account, cluster_role="cluster-admin")
        log = open(self.workdir / f"{account}.log", "ab")  # noqa: SIM115
        self.spawned_at = time.monotonic()  # start of the process, after the account's set-up
        proc = subprocess.Popen(
            self.argv(kubeconfig, self._started),
            cwd=self.repo,
            env=dict(os.environ, PYTHONPATH=str(self.repo)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        return proc, f"system:serviceaccount:{self.namespace}:{account}"


class IronLB(Subject):
    name = "ironlb"
    lb_class = "ironlb"
    namespace = "ironlb-system"

    def prepare(self, api: Any) -> None:
        from tests.support.crds import install_crds  # the benchmarks put the repository on sys.path

        for package in ("ironlb", "controller"):  # bytecode, as the image has it (see above)
            compileall.compile_dir(self.repo / package, quiet=1)

        install_crds(api)  # as config/default installs them: the controller watches the config kinds
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": self.namespace}})
        config = f"address-pools:\n- name: bench\n  protocol: layer2\n  addresses: [{POOL}]\n"
        core.create_namespaced_config_map(
            self.namespace, {"metadata": {"name": "ironlb"}, "data": {"config": config}}
        )

    def argv(self, kubeconfig: Path, instance: int) -> list[str]:
        return [
            sys.executable,
            "-c",
            self.prelude + AS_IN_THE_IMAGE,
            "--kubeconfig",
            str(kubeconfig),
            "--namespace",
            self.namespace,
            "--lb-class",
            self.lb_class,
            "--identity",
            f"bench-{instance}",
            "--metrics-address",
            f"127.0.0.1:{free_port()}",
            *self.extra_args,
        ]


class IronLBVariant(IronLB):
    """ironlb again, changed, to be measured against ``IronLB`` in one run (``--only ironlb --only
    ironlb-b``): run from another checkout (``--ironlb-b-repo``, e.g. a worktree of the commit
    before a change) and/or with Python run first (``--ironlb-b-prelude``, e.g. an interpreter
    setting). Never part of the comparison with MetalLB."""

    name = "ironlb-b"


def _crd_established(ext: Any, name: str) -> bool:
    crd = ext.read_custom_resource_definition(name)
    return any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or []))


class MetalLB(Subject):
    name = "metallb"
    lb_class = "metallb"
    namespace = "metallb-system"

    def problem(self) -> str | None:
        if not os.access(METALLB_BINARY, os.X_OK):
            return f"no MetalLB controller at {METALLB_BINARY} (set METALLB_CONTROLLER)"
        if not (METALLB_SHARED / "crds").is_dir():
            return f"no MetalLB CRDs under {METALLB_SHARED} (set METALLB_SHARED)"
        return None

    def prepare(self, api: Any) -> None:
        ext = client.ApiextensionsV1Api(api)
        names = []
        for path in sorted((METALLB_SHARED / "crds").glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if doc:
                    ext.create_custom_resource_definition(doc)
                    names.append(doc["metadata"]["name"])
        deadline = time.monotonic() + 60
        while not all(_crd_established(ext, n) for n in names):
            if time.monotonic() > deadline:
                raise RuntimeError("MetalLB's CRDs not Established within 60 s")
            time.sleep(0.1)
        core = client.CoreV1Api(api)
        custom = client.CustomObjectsApi(api)
        for path in sorted((METALLB_SHARED / "manifests").glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if not doc:
                    continue
                kind, ns = doc["kind"], doc["metadata"].get("namespace")
                if kind == "Namespace":
                    core.create_namespace(doc)
                elif kind == "ServiceAccount":
                    core.create_namespaced_service_account(ns, doc)
                elif kind == "Pod":
                    core.create_namespaced_pod(ns, doc)
                else:  # MetalLB's own kinds: IPAddressPool, L2Advertisement
                    group, version = doc["apiVersion"].split("/")
                    if kind == "IPAddressPool":
                        doc["spec"]["addresses"] = [POOL]
                    custom.create_namespaced_custom_object(group, version, ns, kind.lower() + "s", doc)

    def argv(self, kubeconfig: Path, instance: int) -> list[str]:
        return [
            str(METALLB_BINARY),
            f"--kubeconfig={kubeconfig}",
            f"--namespace={self.namespace}",
            "--pod-name=metallb-controller",
            "--webhook-mode=disabled",
            "--disable-cert-rotation",
            f"--lb-class={self.lb_class}",
            f"--port={free_port()}",
            f"--health-probe-port={free_port()}",
            "--log-level=warn",
            *self.extra_args,
        ]


SUBJECTS: dict[str, type[Subject]] = {"ironlb": IronLB, "metallb": MetalLB, "ironlb-b": IronLBVariant}
