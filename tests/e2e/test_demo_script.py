"""The README's first command, ``scripts/demo.sh``, runs to the end and shows the main job.

Run as the README runs it, except that ``IRONLB_SKIP_SETUP=1`` skips
``scripts/setup.sh`` (packages and the virtualenv are there in CI) and
``IRONLB_DEMO_LAB`` gives the lab a name of its own. What the script prints is
what the user reads, so the test reads it too: the Service's IP, the router's
one route with a next hop per node, and the client's connections answered by
more than one node. The lab must be gone afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ironlb.lab import netns, procs
from ironlb.lab.fixture import require_netns
from ironlb.lab.state import StateDir, state_root
from ironlb.lab.topology import REPO_CONTAINERLAB

pytestmark = pytest.mark.netns

REPO = REPO_CONTAINERLAB.parent
NODES = {"node1", "node2", "node3"}


@pytest.fixture
def subreaper() -> Iterator[None]:
    require_netns()
    procs.set_child_subreaper(True)  # the lab's supervisor outlives the `ironlb lab up` that started it
    try:
        yield
    finally:
        procs.set_child_subreaper(False)


def printed_by(output: str, command: str) -> list[str]:
    """The lines the script printed after its ``$ ...COMMAND...`` echo, up to the next echo or heading."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("$ ") and command in line)
    block: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith(("$ ", "### ")):
            break
        block.append(line)
    return block


def answered_by(block: list[str]) -> dict[str, int]:
    """``uniq -c`` lines (``  7 node1``) -> {node: count}."""
    counts = {}
    for line in block:
        match = re.fullmatch(r"\s*(\d+) (\S+)", line)
        if match and match.group(2) in NODES:
            counts[match.group(2)] = int(match.group(1))
    return counts


def test_demo_script_shows_the_main_job_and_cleans_up(subreaper: None) -> None:
    lab = f"e2e-demo-{os.getpid()}"
    env = {**os.environ, "IRONLB_SKIP_SETUP": "1", "IRONLB_DEMO_LAB": lab}
    supervisor: int | None = None
    try:
        done = subprocess.run(
            ["bash", "scripts/demo.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
        )
        out = done.stdout
        found = re.search(r"supervisor pid (\d+)", out)
        supervisor = int(found.group(1)) if found else None
        assert done.returncode == 0, out[-4000:] + done.stderr[-4000:]
        assert "ironlb lab up containerlab/bgp-ecmp/bgp-ecmp.clab.yml" in out  # a path that exists on disk

        services = printed_by(out, f"ironlb lab services {lab}")
        web = next(line.split()[4] for line in services if line.split()[1:2] == ["web"])
        assert web.startswith("198.51.100.")

        route = printed_by(out, f"router -- ip route show {web}")
        hops = {m.group(1) for line in route if (m := re.search(r"nexthop via (\S+)", line))}
        assert hops == {"172.30.0.11", "172.30.0.12", "172.30.0.13"}, route

        for target in (web, "10.96.0.10"):  # the LoadBalancer IP and the ClusterIP
            counts = answered_by(printed_by(out, f"curl -s http://{target}/; done"))
            assert len(counts) >= 2, (target, counts)

        assert f"lab {lab} is down" in out
        assert not StateDir(state_root(), lab).exists()
        assert not [n for n in netns.list_names() if n.startswith(f"ilb-{lab}-")]
    finally:
        if StateDir(state_root(), lab).exists():
            subprocess.run([sys.executable, "-m", "ironlb", "lab", "down", lab], check=False, timeout=60)
        if supervisor is not None:
            procs.reap(supervisor)
