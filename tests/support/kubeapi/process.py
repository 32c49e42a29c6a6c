"""The double as a child process (used by ``benchmarks/controller.py``).

``python -m tests.support.kubeapi`` prints one JSON line ``{"url": ..., "kubeconfig": ...}``
when ready; ``ControlClient`` drives its fault-injection endpoints over HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.kubeapi.server import RequestRecord

REPO_ROOT = Path(__file__).resolve().parents[3]


class ControlClient:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, method: str, action: str, body: Any = None, query: str = "") -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}/_kubeapi/{action}{query}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def requests(self) -> list[RequestRecord]:
        return [RequestRecord(**r) for r in self._call("GET", "requests")]

    def clear_requests(self) -> None:
        self._call("POST", "clear-requests", {})

    def drop_watches(self) -> None:
        self._call("POST", "drop-watches", {})

    def outage(self, seconds: float, mode: str = "refuse") -> None:
        """Start an outage of ``seconds`` and return at once."""
        self._call("POST", "outage", {}, f"?seconds={seconds}&mode={mode}")

    def seed(
        self, resource: str, objects: list[dict[str, Any]], *, group: str = "", keep_status: bool = False
    ) -> str:
        """Create many objects without an HTTP round trip each; returns the resourceVersion after."""
        out = self._call(
            "POST",
            "objects",
            {"resource": resource, "group": group, "objects": objects, "keepStatus": keep_status},
        )
        return str(out["resourceVersion"])


class KubeApiProcess:
    def __init__(self, workdir: Path, *, args: list[str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.args = args or []
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.kubeconfig = self.workdir / "kubeconfig"

    def start(self) -> KubeApiProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.kubeapi", "--kubeconfig", str(self.kubeconfig), *self.args],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("kubeapi double subprocess exited before becoming ready")
        self.url = json.loads(line)["url"]
        return self

    @property
    def control(self) -> ControlClient:
        return ControlClient(self.url)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> KubeApiProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
