"""Real speakers (``python -m speaker --kubeconfig``) for ``ironlb status`` on the real API server.

Each speaker runs in the root network namespace as its own node, on its own loopback address
(``127.0.0.11``, ``.12``...: the Node's InternalIP), where it binds its membership port and its
metrics port. So ``ironlb status`` finds every speaker the way it does in a cluster (the Node's
address and ``--metrics-port``), and the speakers find each other through their Nodes. The
config's ``l2.interfaces`` names no existing interface: layer 2 decides but sends no frame.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.live.conftest import REPO
from tests.support.daemons import stop_process

NO_INTERFACE = "ilbsts-none"
KEY = "0123456789abcdef0123456789abcdef"


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Speakers:
    """One speaker per node, all with the same metrics and membership ports on their own address."""

    def __init__(self, workdir: Path, kubeconfig: Path, namespace: str, lb_class: str) -> None:
        self.workdir = workdir
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.lb_class = lb_class
        self.metrics_port = free_port()
        self.membership_port = free_port(socket.SOCK_DGRAM)
        self.key = workdir / "memberkey"
        self.key.write_text(KEY)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, node: str, address: str) -> None:
        argv = [
            sys.executable, "-m", "speaker", "--node", node, "--kubeconfig", str(self.kubeconfig),
            "--namespace", self.namespace, "--lb-class", self.lb_class,
            "--membership-key-file", str(self.key), "--membership-bind", address,
            "--membership-port", str(self.membership_port),
            "--metrics-address", f"{address}:{self.metrics_port}", "--no-bgp", "--poll-interval", "0.2",
        ]  # fmt: skip
        with open(self.workdir / f"speaker-{node}.log", "wb") as out:
            self.procs[node] = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)

    def stop(self, node: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(node, None)
        if proc is not None:
            stop_process(proc, 10, sig)

    def close(self) -> None:
        for node in list(self.procs):
            self.stop(node, signal.SIGKILL)

    def log(self, node: str) -> str:
        path = self.workdir / f"speaker-{node}.log"
        return path.read_text(errors="replace") if path.exists() else ""
