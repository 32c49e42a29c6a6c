"""Start ironlb's programs exactly as the rendered manifests do, against the real API server.

The command, arguments and environment come from the rendered Deployment/DaemonSet
(downward-API ``fieldRef`` values filled in as the kubelet would), so the RBAC audit
sees the requests of the program the manifests really run. The API server's audit log,
filtered by the ServiceAccount each program runs as, is the list of API calls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from tests.install.rbac import Access
from tests.install.rendering import ROOT, Obj
from tests.support.audit import AuditRecord

T = TypeVar("T")


def command_line(
    workload: Obj, container: str, field_values: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """argv and environment of ``container`` as the kubelet would start it."""
    c = next(c for c in workload["spec"]["template"]["spec"]["containers"] if c["name"] == container)
    argv = [*c.get("command", []), *c.get("args", [])]
    env: dict[str, str] = {}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        else:
            env[e["name"]] = field_values[e["valueFrom"]["fieldRef"]["fieldPath"]]
    bindir = Path(sys.executable).parent
    argv[0] = str(bindir / argv[0])
    return argv, env


def accesses(log: Iterable[AuditRecord], user: str) -> list[Access]:
    """The requests of ``user`` in RBAC terms (a list or watch by ``metadata.name`` names its object)."""
    return [Access(r.verb, r.group, r.rbac_resource, r.namespace, r.name) for r in log if r.user == user]


class Program:
    """A program as a child process, output to a file, always stopped and reaped."""

    def __init__(
        self, argv: list[str], env: Mapping[str, str], logfile: Path, prefix: list[str] | None = None
    ):
        self.argv = [*(prefix or []), *argv]
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.logfile = logfile
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Program:
        with open(self.logfile, "wb") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)

    def output(self) -> str:
        return self.logfile.read_text(errors="replace")

    @contextmanager
    def explained(self) -> Iterator[None]:
        """A failed wait inside shows the program's output with it."""
        try:
            yield
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- program output ---\n{self.output()[-4000:]}") from None

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
