"""Run ironlb itself in a lab: the controller, a speaker per node, and test backends.

Why: the README's main job is to show the whole system working -- a Service gets
an IP, the router learns it from every node, a client's connections are answered
and spread over the nodes -- without Kubernetes or Docker. ``IronlbSystem`` turns
a running :class:`~ironlb.lab.runner.Lab` into such a cluster:

- the *cluster* is a manifest directory in the lab's state directory
  (``<state>/cluster``): the topology's ``ironlb/`` directory of manifests (the
  ConfigMap, demo Services and EndpointSlices) copied in, plus one generated Node
  object per topology node labelled ``ironlb.io/kubernetes-node: "true"`` (its
  InternalIPs are the node's lab addresses). Users and tests apply and delete
  Services by adding and removing files there (:meth:`apply`, :meth:`delete`);
- the real controller (``ironlb-controller --manifests DIR``, its manifest-directory
  mode ``controller.standalone``) allocates and writes statuses back into that
  directory (``ironlb.cluster.statusdir``);
- the real speaker (``ironlb-speaker --manifests DIR``) runs on every node, with BGP
  through ExaBGP and the layer-2 responder;
- ``ironlb.lab.nodeagent`` on every node puts the served Service IPs on ``lo``
  and answers HTTP with the node's name (kube-proxy and a pod, in one).

Every process is started with ``Lab.spawn``, so the lab records it and ``down``
stops it, even after a crash. Nodes get ``arp_ignore=1``/``arp_announce=2`` so
that only the speaker answers ARP for the Service IPs on ``lo`` (LAB.md).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ironlb import services as svc
from ironlb.cluster.manifests import MANIFEST_SUFFIXES, ManifestSource
from ironlb.cluster.seam import ClusterSourceUnavailable
from ironlb.config.model import IPAddress
from ironlb.lab.runner import Lab, LabError
from ironlb.lab.topology import Topology

NODE_LABEL = "ironlb.io/kubernetes-node"
TEMPLATE_DIRNAME = "ironlb"
REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_SYSCTLS = ("net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")


def kubernetes_nodes(topology: Topology) -> list[str]:
    """The topology's nodes that play Kubernetes nodes (label ``ironlb.io/kubernetes-node: "true"``)."""
    return [n.name for n in topology.nodes if (n.label(NODE_LABEL) or "").lower() == "true"]


def ships_ironlb(topology: Topology) -> bool:
    """Whether ``ironlb lab up`` runs ironlb on ``topology`` by default.

    True when the topology has an ``ironlb/`` directory of manifests next to it and
    at least one node labelled ``ironlb.io/kubernetes-node: "true"`` -- what
    :class:`IronlbSystem` needs.
    """
    return (topology.path.parent / TEMPLATE_DIRNAME).is_dir() and bool(kubernetes_nodes(topology))


def node_object(name: str, addresses: Sequence[IPAddress]) -> dict[str, Any]:
    """A Ready Node with ``addresses`` as its InternalIPs."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "addresses": [{"type": "InternalIP", "address": str(a)} for a in addresses],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` at once: readers see the old file or the new one, never half of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "w") as stream:
            stream.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class IronlbSystem:
    """ironlb's programs running in ``lab``; they stop with the lab."""

    def __init__(self, lab: Lab, template: Path | None = None, *, python: str = sys.executable) -> None:
        self.lab = lab
        self.template = template or lab.topology.path.parent / TEMPLATE_DIRNAME
        self.python = python
        self.cluster_dir = lab.state_dir.path / "cluster"
        self.work_dir = lab.state_dir.path / "ironlb"
        self.nodes = kubernetes_nodes(lab.topology)
        self.procs: dict[tuple[str, str], subprocess.Popen[bytes]] = {}
        if not self.nodes:
            raise LabError(f"topology {lab.topology.name}: no node is labelled {NODE_LABEL}: 'true'")
        if not self.template.is_dir():
            raise LabError(f"topology {lab.topology.name}: no ironlb manifests in {self.template}")

    # -- cluster state ---------------------------------------------------------------------------
    def node_addresses(self, node: str) -> list[IPAddress]:
        """The node's lab addresses, IPv4 first (its InternalIPs)."""
        found = [a.ip for addrs in self.lab.addresses(node).values() for a in addrs]
        return sorted(found, key=lambda ip: (ip.version, int(ip)))

    def write_cluster(self) -> None:
        self.cluster_dir.mkdir(parents=True, exist_ok=True)
        for source in sorted(self.template.iterdir()):
            if source.suffix in MANIFEST_SUFFIXES and source.is_file():
                shutil.copyfile(source, self.cluster_dir / source.name)
        nodes = [node_object(n, self.node_addresses(n)) for n in self.nodes]
        write_atomic(self.cluster_dir / "00-nodes.yaml", yaml.safe_dump_all(nodes, sort_keys=False))

    def apply(self, name: str, objects: Sequence[Mapping[str, Any]] | str) -> Path:
        """Add or replace ``<cluster>/<name>.yaml`` (a list of objects, or YAML text)."""
        text = objects if isinstance(objects, str) else yaml.safe_dump_all([dict(o) for o in objects])
        path = self.cluster_dir / f"{name}.yaml"
        write_atomic(path, text)
        return path

    def delete(self, name: str) -> None:
        (self.cluster_dir / f"{name}.yaml").unlink(missing_ok=True)

    def source(self) -> ManifestSource:
        """The cluster as the speakers see it (statuses laid over)."""
        return ManifestSource([self.cluster_dir])

    # -- processes -------------------------------------------------------------------------------
    def start(self) -> IronlbSystem:
        self.write_cluster()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        key = self.work_dir / "membership.key"
        if not key.exists():
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as stream:
                stream.write(secrets.token_hex(32) + "\n")
        for node in self.nodes:
            result = self.lab.exec(node, ["sysctl", "-qw", *NODE_SYSCTLS])
            if result.returncode != 0:
                raise LabError(f"node {node}: sysctl failed: {result.stderr.strip()}")
        cluster = str(self.cluster_dir)
        controller = [*self.program("ironlb-controller", "controller"), "--manifests", cluster]
        self._spawn(self.nodes[0], "ironlb-controller", [*controller, "--poll-interval", "0.1"])
        for node in self.nodes:
            self._spawn(
                node,
                "ironlb-speaker",
                [*self.program("ironlb-speaker", "speaker"), "--node", node, "--manifests", cluster,
                 "--membership-key-file", str(key), "--poll-interval", "0.1",
                 "--bgp-workdir", str(self.work_dir / f"bgp-{node}"),
                 "--bfd-workdir", str(self.work_dir / f"bfd-{node}")],
            )  # fmt: skip
            self._spawn(
                node,
                "ironlb-nodeagent",
                [self.python, "-m", "ironlb.lab.nodeagent", "--node", node, "--manifests", cluster],
            )
        return self

    def program(self, script: str, module: str) -> list[str]:
        """The installed program ``script`` next to ``self.python``, else ``python -m module``.

        Both are the same entry point (``[project.scripts]``); the installed name is what
        users run and what ``ps`` in the lab shows.
        """
        installed = Path(self.python).parent / script
        if installed.is_file() and os.access(installed, os.X_OK):
            return [str(installed)]
        return [self.python, "-m", module]

    def _spawn(self, node: str, name: str, argv: Sequence[str]) -> None:
        self.procs[node, name] = self.lab.spawn(
            node,
            list(argv),
            name=name,
            log_file=self.log_path(node, name),
            cwd=REPO_ROOT,
            env={"PYTHONUNBUFFERED": "1"},
        )

    def log_path(self, node: str, name: str) -> Path:
        return self.lab.node_dir(node) / f"{name}.log"

    def check_running(self) -> None:
        """Raise ``LabError`` with the log's tail when one of ironlb's processes has exited."""
        for (node, name), handle in self.procs.items():
            if handle.poll() is not None:
                tail = self.log_path(node, name).read_text(errors="replace")[-2000:]
                raise LabError(f"{name} on {node} exited ({handle.returncode}):\n{tail}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every router's BGP sessions are Established (labs with routers) and processes run."""
        deadline = time.monotonic() + timeout
        for router in self.lab.routers:
            states: dict[str, str] = {}
            while time.monotonic() < deadline:
                self.check_running()
                states = self.lab.sessions(router)
                if states and all(s == "Established" for s in states.values()):
                    break
                time.sleep(0.2)
            else:
                raise LabError(
                    f"router {router}: BGP sessions not Established after {timeout:.0f}s: {states}"
                )
        # the controller's first pass (a Service may stay pending for good: not an error)
        settle = min(deadline, time.monotonic() + 15.0)
        while time.monotonic() < settle and self.pending():
            self.check_running()
            time.sleep(0.1)
        self.check_running()

    def pending(self) -> list[str]:
        """LoadBalancer Services without an IP yet."""
        try:
            services = self.source().snapshot().services
        except ClusterSourceUnavailable as exc:
            return [str(exc)]
        return [svc.service_key(s) for s in services if svc.is_load_balancer(s) and not svc.ingress_ips(s)]


def services_table(source: ManifestSource) -> str:
    """``kubectl get services``-like text for the lab's cluster directory."""
    rows = [("NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)")]
    for s in sorted(
        source.snapshot().services, key=lambda s: (s["metadata"].get("namespace", ""), s["metadata"]["name"])
    ):
        spec = s.get("spec") or {}
        ingress = ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        external = ",".join(e["ip"] for e in ingress if e.get("ip")) or (
            "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
        )
        ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
        rows.append(
            (
                s["metadata"].get("namespace", ""),
                s["metadata"]["name"],
                str(spec.get("type", "ClusterIP")),
                ",".join(spec.get("clusterIPs") or [spec.get("clusterIP", "<none>")]),
                external,
                ports,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


__all__ = [
    "NODE_LABEL", "IronlbSystem", "kubernetes_nodes", "node_object", "services_table", "ships_ironlb",
]  # fmt: skip
