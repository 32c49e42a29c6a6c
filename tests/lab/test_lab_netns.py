"""Each topology comes up on namespaces with real routers, routes for real, and leaves nothing behind."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ironlb.lab import netns, procs
from ironlb.lab.exabgp import exabgp_config, start_exabgp
from ironlb.lab.fixture import require_netns, running_lab, topology_path
from ironlb.lab.pytest_plugin import LabFactory
from ironlb.lab.runner import Lab, LabError, teardown_dead
from ironlb.lab.state import StateDir, state_root
from ironlb.lab.topology import load_topology
from tests.support.bgp_lab import fib_nexthops

pytestmark = [pytest.mark.netns, pytest.mark.usefixtures("subreaper")]

ROUTER4 = "172.30.0.1"
ROUTER6 = "fd00:30::1"
NODES4 = {"node1": "172.30.0.11", "node2": "172.30.0.12", "node3": "172.30.0.13"}
NODES6 = {"node1": "fd00:30::11", "node2": "fd00:30::12", "node3": "fd00:30::13"}


def root_links() -> set[str]:
    return {link["ifname"] for link in json.loads(netns.ip("-j", "link", "show"))}


def wait_nexthops(lab: Lab, prefix: str, expected: set[str], timeout: float = 15.0) -> frozenset[str]:
    deadline = time.monotonic() + timeout
    hops: frozenset[str] = frozenset()
    while time.monotonic() < deadline:
        hops = fib_nexthops(lab, prefix)
        if hops == expected:
            break
        time.sleep(0.05)
    return hops


def announce(lab: Lab, node: str, local: str, peer: str, prefixes: list[str], name: str = "exabgp") -> None:
    config = exabgp_config(
        local_address=local, peer_address=peer, local_as=64513, peer_as=64512, announce=prefixes
    )
    start_exabgp(lab, node, config, name=name)


def assert_gone(lab_instance: str, pids: list[procs.ProcessRef], links_before: set[str]) -> None:
    assert not [n for n in netns.list_names() if n.startswith(f"ilb-{lab_instance}-")]
    for process in pids:
        procs.reap(process.pid)  # adopted orphans end up as our zombies; collect them first
        assert not procs.is_running(process), process
        assert (
            not Path(f"/proc/{process.pid}").exists() or procs.proc_start_time(process.pid) != process.start
        )
    assert root_links() == links_before
    assert not StateDir(state_root(), lab_instance).path.exists()


class LeftoverCheck:
    """What a lab started; checked against the system after the lab is down."""

    def __init__(self) -> None:
        self.links_before = root_links()
        self.instances: list[str] = []
        self.seen: list[procs.ProcessRef] = []

    def track(self, lab: Lab) -> None:
        self.instances.append(lab.instance)


@pytest.fixture
def nothing_left() -> Iterator[LeftoverCheck]:
    """Set up before ``ironlb_lab``, so its check runs after the plugin has torn the labs down."""
    require_netns()
    check = LeftoverCheck()
    yield check
    for instance in check.instances:
        assert_gone(instance, check.seen, check.links_before)


@pytest.fixture
def checked_lab(
    request: pytest.FixtureRequest, nothing_left: LeftoverCheck, ironlb_lab: LabFactory
) -> Iterator[tuple[Lab, list[procs.ProcessRef]]]:
    """A lab from the ``ironlb_lab`` plugin fixture, then a check that nothing is left behind."""
    lab = ironlb_lab(request.param)
    nothing_left.track(lab)
    yield lab, nothing_left.seen
    nothing_left.seen.extend(p.ref for p in lab.state.processes)  # before ironlb_lab's teardown


@pytest.mark.parametrize("checked_lab", ["bgp-ecmp", "bgp-ecmp-bird"], indirect=True)
def test_bgp_ecmp_routers(checked_lab: tuple[Lab, list[procs.ProcessRef]]) -> None:
    lab, _ = checked_lab
    assert netns.exists(lab.namespace("br-ecmp" if "bird" not in lab.topology.name else "br-bird"))
    assert lab.addresses("node1") == {"eth1": [ipaddress.ip_interface("172.30.0.11/24")]}
    announce(lab, "node1", NODES4["node1"], ROUTER4, ["198.51.100.0/24"])
    announce(lab, "node2", NODES4["node2"], ROUTER4, ["198.51.100.0/24"])
    lab.wait_established([NODES4["node1"], NODES4["node2"]], timeout=20)
    policy = lab.exec("router", ["sysctl", "-n", "net.ipv4.fib_multipath_hash_policy"])
    assert policy.stdout.strip() == "1"  # set by the topology's exec entries, inside the router only
    assert lab.sessions()[NODES4["node3"]] != "Established"  # nobody speaks BGP there
    # one multipath route with both next hops, in the router's kernel
    assert wait_nexthops(lab, "198.51.100.0/24", {NODES4["node1"], NODES4["node2"]}) == {
        NODES4["node1"],
        NODES4["node2"],
    }
    ping = lab.exec("client", ["ping", "-c", "1", "-W", "2", NODES4["node2"]])
    assert ping.returncode == 0, ping.stdout + ping.stderr


@pytest.mark.parametrize("checked_lab", ["dual-stack"], indirect=True)
def test_dual_stack(checked_lab: tuple[Lab, list[procs.ProcessRef]]) -> None:
    lab, _ = checked_lab
    for node in ("node1", "node3"):
        announce(lab, node, NODES4[node], ROUTER4, ["198.51.100.0/24"])
        announce(lab, node, NODES6[node], ROUTER6, ["2001:db8:100::/64"], name="exabgp6")
    peers = [NODES4["node1"], NODES4["node3"], NODES6["node1"], NODES6["node3"]]
    lab.wait_established(peers, timeout=20)
    assert wait_nexthops(lab, "2001:db8:100::/64", {NODES6["node1"], NODES6["node3"]}) == {
        NODES6["node1"],
        NODES6["node3"],
    }
    assert wait_nexthops(lab, "198.51.100.0/24", {NODES4["node1"], NODES4["node3"]}) == {
        NODES4["node1"],
        NODES4["node3"],
    }
    for target in (NODES4["node3"], NODES6["node3"]):
        ping = lab.exec("client", ["ping", "-c", "1", "-W", "2", target])
        assert ping.returncode == 0, ping.stdout + ping.stderr


@pytest.mark.parametrize("checked_lab", ["layer2"], indirect=True)
def test_layer2(checked_lab: tuple[Lab, list[procs.ProcessRef]]) -> None:
    lab, _ = checked_lab
    assert "br-l2" not in root_links()  # the switch lives in its own namespace
    bridge_ports = netns.ip("-n", lab.namespace("br-l2"), "-o", "link", "show", "master", "br-l2")
    assert {"l2-node1", "l2-node2", "l2-node3", "l2-client"} <= {
        w.split("@")[0] for w in bridge_ports.split()
    }
    arping = lab.exec("client", ["arping", "-c", "1", "-w", "3", "-I", "eth1", "172.30.0.12"])
    assert arping.returncode == 0, arping.stdout + arping.stderr
    ndisc = lab.exec("client", ["ndisc6", "-1", "-r", "3", "fd00:30::13", "eth1"])
    assert ndisc.returncode == 0, ndisc.stdout + ndisc.stderr
    node3_mac = json.loads(netns.ip("-j", "-n", lab.namespace("node3"), "link", "show", "eth1"))[0]["address"]
    assert node3_mac.lower() in ndisc.stdout.lower()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ironlb", "lab", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_cli_up_survives_killed_runner_and_down_cleans_everything() -> None:
    require_netns()
    instance = f"cli-{os.getpid()}"
    path = str(topology_path("bgp-ecmp"))
    links_before = root_links()
    state_dir = StateDir(state_root(), instance)
    seen: list[procs.ProcessRef] = []
    try:
        first = _cli("up", path, "--name", instance, "--no-ironlb")
        assert first.returncode == 0, first.stderr
        assert "no ironlb" in first.stdout
        state = state_dir.load()
        assert state.owner is not None and procs.is_running(state.owner)  # up returned, lab still runs
        seen += [state.owner, *(p.ref for p in state.processes)]
        twice = _cli("up", path, "--name", instance, "--no-ironlb")
        assert twice.returncode == 1 and "already up" in twice.stderr
        status = _cli("status", instance, "-o", "json")
        assert status.returncode == 0, status.stderr
        data = json.loads(status.stdout)
        # --no-ironlb: the routers only, no controller, speaker or backend (they would be listed here)
        assert {p["name"] for p in data["processes"]} == {"zebra", "bgpd"}
        assert {p["name"] for p in data["processes"] if p["running"]} == {"zebra", "bgpd"}
        assert not (state_dir.path / "cluster").exists()
        assert set(data["sessions"]["router"]) == set(NODES4.values())  # FRR answers about its peers
        ping = _cli("exec", instance, "node1", "--", "ping", "-c", "1", "-W", "2", ROUTER4)
        assert ping.returncode == 0, ping.stdout + ping.stderr

        os.kill(state.owner.pid, signal.SIGKILL)  # the runner dies; its routers and namespaces stay
        deadline = time.monotonic() + 5
        while procs.is_running(state.owner) and time.monotonic() < deadline:
            procs.reap(state.owner.pid)
            time.sleep(0.02)
        assert all(procs.is_running(p.ref) for p in state.processes)

        # recovers: cleans the leftovers, comes up
        second = _cli("up", path, "--name", instance, "--no-ironlb")
        assert second.returncode == 0, second.stderr
        for old in state.processes:
            procs.reap(old.pid)
            assert not procs.is_running(old.ref)
        again = state_dir.load()
        assert again.owner is not None and again.owner != state.owner and procs.is_running(again.owner)
        seen += [again.owner, *(p.ref for p in again.processes)]
        assert all(netns.exists(ns) for ns in again.namespaces.values())

        down = _cli("down", instance)
        assert down.returncode == 0, down.stderr
        assert_gone(instance, seen, links_before)
    finally:
        _cli("down", instance)
        for process in seen:
            procs.reap(process.pid)


def test_failing_exec_entry_aborts_up_and_removes_everything(tmp_path: Path) -> None:
    require_netns()
    links_before = root_links()
    data = (
        topology_path("layer2")
        .read_text()
        .replace("ip addr add 172.30.0.13/24 dev eth1", "ip addr add 172.30.0.13/24 dev eth9")
    )
    broken = tmp_path / "layer2.clab.yml"
    broken.write_text(data)
    instance = f"broken-{os.getpid()}"
    expected = r"node3: exec 'ip addr add 172.30.0.13/24 dev eth9' failed"
    with pytest.raises(LabError, match=expected), running_lab(broken, instance=instance):
        pass
    assert_gone(instance, [], links_before)


def test_lab_of_a_dead_owner_is_torn_down_by_the_next_fixture() -> None:
    require_netns()
    links_before = root_links()
    lab = Lab(load_topology(topology_path("layer2")), instance=f"orphan-{os.getpid()}").up()
    try:
        sleeper = lab.spawn("node1", ["sleep", "60"])
        sleeper_ref = procs.ref(sleeper.pid)
        # make the owner look dead (a pid that existed once: a finished child of ours)
        gone = subprocess.Popen(["true"])
        gone.wait()
        state = lab.state_dir.load()
        state.owner_pid, state.owner_start = gone.pid, 1
        lab.state_dir.save(state)
        assert teardown_dead() == [lab.instance]
        sleeper.wait(timeout=5)
        assert_gone(lab.instance, [sleeper_ref], links_before)
    finally:
        lab.down()
