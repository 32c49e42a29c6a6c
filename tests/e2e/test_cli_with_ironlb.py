"""``ironlb lab up containerlab/bgp-ecmp.clab.yml`` (issue 7's main-job command) and ``down``.

Run as issue 7 writes it: from the repository, the flat ``containerlab/X.clab.yml``
path (the file lives in ``containerlab/X/``) and no flag -- ironlb runs by default
because the topology ships its manifests. The detached supervisor runs the lab and
ironlb; ``up`` returns once the router's
sessions are Established; ``services`` shows the allocated IP; the client's curl is
answered by a node; ``down`` leaves no namespace and no process behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ironlb.lab import netns, procs
from ironlb.lab.fixture import require_netns
from ironlb.lab.state import StateDir, state_root
from ironlb.lab.topology import REPO_CONTAINERLAB
from tests.e2e.helpers import wait_for

pytestmark = pytest.mark.netns


@pytest.fixture
def subreaper() -> Iterator[None]:
    require_netns()
    procs.set_child_subreaper(True)  # the supervisor outlives the `ironlb lab up` that started it
    try:
        yield
    finally:
        procs.set_child_subreaper(False)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ironlb", "lab", *args],
        cwd=REPO_CONTAINERLAB.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_up_runs_ironlb_by_default_serves_the_demo_service_and_down_removes_everything(
    subreaper: None,
) -> None:
    instance = f"e2e-cli-{os.getpid()}"
    state_dir = StateDir(state_root(), instance)
    seen: list[procs.ProcessRef] = []
    try:
        up = cli("up", "containerlab/bgp-ecmp.clab.yml", "--name", instance)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "ironlb runs" in up.stdout
        state = state_dir.load()
        assert state.owner is not None
        seen += [state.owner, *(p.ref for p in state.processes)]
        names = {p.name for p in state.processes}
        assert {"ironlb-controller", "ironlb-speaker", "ironlb-nodeagent"} <= names
        controller = next(p for p in state.processes if p.name == "ironlb-controller")
        # the documented program in its manifest-directory mode, not python -m controller.standalone
        assert any(arg.endswith("/ironlb-controller") for arg in controller.argv), controller.argv
        assert "--manifests" in controller.argv and "controller.standalone" not in controller.argv

        def web_ip() -> str | None:
            out = cli("services", instance).stdout
            rows = [line.split() for line in out.splitlines()]
            ips = [r[4] for r in rows if len(r) > 4 and r[1] == "web" and r[4].startswith("198.51.100.")]
            return ips[0] if ips else None

        ip = wait_for(web_ip, what="web's IP in `ironlb lab services`")
        curl = wait_for(
            lambda: cli(
                "exec", instance, "client", "--", "curl", "-s", "-m", "2", f"http://{ip}/"
            ).stdout.strip(),
            what="an answer from a node",
        )
        assert curl in {"node1", "node2", "node3"}

        down = cli("down", instance)
        assert down.returncode == 0, down.stderr
        for process in seen:
            procs.reap(process.pid)
            assert not procs.is_running(process), process
        assert not any(netns.exists(ns) for ns in state.namespaces.values())
        assert not state_dir.exists()
    finally:
        cli("down", instance)
        for process in seen:
            procs.reap(process.pid)
