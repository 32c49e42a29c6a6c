"""Real speakers with a ``bfd-profile`` on the ``bgp-ecmp-bfd`` lab: bfdd next to ExaBGP, bfdd on the router.

What it proves: the speaker starts FRR's bfdd for peers that name a profile and
the router's BFD sessions come Up; a profile change reaches the running bfdd
without restarting it or flapping the session; a node whose link dies (no FIN,
no RST) is dropped from the router's FIB because BFD went down -- the router
says so (``BFD down received``) -- not because the BGP hold time ran out.
No timing asserts: the time it takes is measured by benchmarks/bgp_failover.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ironlb.lab import procs as lab_procs
from ironlb.lab.fixture import require_netns, running_lab, topology_path
from ironlb.lab.runner import Lab
from tests.support.bgp_lab import Cluster, fib_nexthops, router_peer
from tests.support.bgp_objects import service
from tests.support.objects import endpoint_slice
from tests.support.processes import argv_of, processes_using
from tests.support.waiting import wait_for

pytestmark = pytest.mark.netns

T = TypeVar("T")
Env = tuple[Lab, Cluster, dict[str, subprocess.Popen[bytes]]]
NODES = {"node1": "172.30.0.11", "node2": "172.30.0.12"}
LB_IP = "198.51.100.10"
BOTH = frozenset(NODES.values())  # LB_IP's next hops on the router while both nodes are up
REPO = Path(__file__).resolve().parents[3]


def config(interval: int) -> str:
    return f"""
peers:
{router_peer(more="bfd-profile: fast")}
bfd-profiles:
- {{name: fast, receive-interval: {interval}, transmit-interval: {interval}, detect-multiplier: 3}}
address-pools:
- {{name: pub, protocol: bgp, addresses: [198.51.100.0/24]}}
"""


def vtysh_json(lab: Lab, command: str, node: str = "router", socket_dir: Path | None = None) -> Any:
    if socket_dir is None:
        argv = list(lab.routers["router"].query_argv(command))
    else:
        argv = ["vtysh", "--vty_socket", str(socket_dir), "-d", "bfdd", "-c", command]
    out = lab.exec(node, argv).stdout
    try:
        return json.loads(out or "null")
    except ValueError:
        return None


def router_bfd(lab: Lab) -> dict[str, dict[str, Any]]:
    return {p["peer"]: p for p in vtysh_json(lab, "show bfd peers json") or []}


# config/default's speaker capabilities, and config/bfd's: those plus the two bfdd asks for.
DEFAULT_CAPS = "-all,+net_raw,+net_admin"
CONTAINER_CAPS = DEFAULT_CAPS + ",+sys_admin,+net_bind_service"
CONTAINER_WRAP = 'mount --bind "$0" /etc/group && exec setpriv --no-new-privs --bounding-set {caps} "$@"'


def speaker_argv(tmp_path: Path, lab: Lab, name: str) -> list[str]:
    """The real speaker of node ``name``, reading ``tmp_path/cluster``."""
    return [
        sys.executable, "-m", "speaker", "--node", name, "--manifests", str(tmp_path / "cluster"),
        "--membership-key-file", str(tmp_path / "membership.key"), "--metrics-address", "",
        "--poll-interval", "0.05", "--bgp-workdir", str(tmp_path / f"bgp-{name}"),
        # bfdd may run as the frr user: its directory must be reachable by it (tmp_path is not)
        "--bfd-workdir", str(lab.node_dir(name) / "bfd"),
        "--bgp-graceful-restart", "0",
    ]  # fmt: skip


def start_speaker(tmp_path: Path, lab: Lab, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    log_file = tmp_path / f"speaker-{name}.log"
    return lab.spawn(name, argv, name=f"speaker-{name}", log_file=log_file, cwd=REPO)


@contextmanager
def bfd_lab(tmp_path: Path, *, container: bool = False, caps: str = CONTAINER_CAPS) -> Iterator[Env]:
    """The lab and a speaker on each of NODES; ``container``: as in the image (see ``container_argv``)."""
    require_netns()
    if not os.access("/usr/lib/frr/bfdd", os.X_OK):
        pytest.skip("FRR's bfdd is not installed")
    cluster = Cluster(tmp_path / "cluster", config(100), nodes=NODES)
    cluster.write([service("web", lb_ips=[LB_IP]), endpoint_slice("web", list(NODES))])
    key = tmp_path / "membership.key"
    key.write_text("bfd-test-membership-key-0123456789abcdef\n")
    with running_lab(topology_path("bgp-ecmp-bfd")) as lab:
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name in NODES:
                argv = speaker_argv(tmp_path, lab, name)
                if container:
                    argv = container_argv(tmp_path, argv, caps)
                procs[name] = start_speaker(tmp_path, lab, name, argv)
            yield lab, cluster, procs
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs.values():
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for name in NODES:
                text = (tmp_path / f"speaker-{name}.log").read_text(errors="replace")
                if "Traceback" in text or "No such command" in text:
                    print(text[-4000:])


def container_argv(tmp_path: Path, argv: list[str], caps: str = CONTAINER_CAPS) -> list[str]:
    """``argv`` as the image runs it: root in FRR's vty group, the container's capability set.

    A private mount namespace (``unshare -m``) shows an /etc/group where root is in
    ``frrvty`` (the Dockerfile's ``usermod``) without touching the machine's; ``setpriv``
    leaves only ``caps`` (by default config/bfd's DaemonSet capabilities), with
    no_new_privs (``allowPrivilegeEscalation: false``).
    """
    group = tmp_path / "group"
    lines = []
    for line in Path("/etc/group").read_text().splitlines():
        if line.startswith("frrvty:"):
            line += ",root" if not line.endswith(":") else "root"
        lines.append(line)
    group.write_text("\n".join(lines) + "\n")
    return ["unshare", "-m", "sh", "-c", CONTAINER_WRAP.format(caps=caps), str(group), *argv]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with bfd_lab(tmp_path) as env:
        yield env


def node_dies_and_bfd_drops_it(lab: Lab, node: str = "node1") -> None:
    """``node``'s link goes down (no FIN, no RST); the router drops it because BFD went down."""
    address = {"node1": "172.30.0.11", "node2": "172.30.0.12"}[node]
    others = BOTH - {address}
    subprocess.run(["ip", "-n", lab.namespace(node), "link", "set", "eth1", "down"], check=True)
    try:
        wait_for(lambda: fib_nexthops(lab, LB_IP) == others, 30, f"{node}'s next hop gone")
        neighbor = vtysh_json(lab, f"show bgp neighbor {address} json")[address]
        # RFC 9384 Cease subcode 10: the router closed the session because BFD went down.
        assert neighbor["lastNotificationReason"] == "Cease/BFD Down", neighbor.get("lastNotificationReason")
    finally:
        subprocess.run(["ip", "-n", lab.namespace(node), "link", "set", "eth1", "up"], check=True)


def bfd_up_everywhere(lab: Lab) -> None:
    wait_for(lambda: fib_nexthops(lab, LB_IP) == BOTH, 40, "the LB IP via both nodes")
    wait_for(
        lambda: all(router_bfd(lab).get(a, {}).get("status") == "up" for a in BOTH),
        20,
        "BFD up on the router for both nodes",
    )


def test_bfd_up_profile_change_in_place_and_node_death_drops_the_route(env: Env) -> None:
    lab, cluster, _ = env
    bfd_up_everywhere(lab)
    node1_bfd = lab.node_dir("node1") / "bfd"
    pid_before = (node1_bfd / "bfdd.pid").read_text().strip()
    rendered = (node1_bfd / "bfdd.conf").read_text()
    assert "peer 172.30.0.1 local-address 172.30.0.11" in rendered and "receive-interval 100" in rendered
    before = router_bfd(lab)["172.30.0.11"]

    # A profile change is applied to the running bfdd: same process, same session, new timers.
    cluster.write(config_yaml=config(200))

    def node1_timers() -> dict[str, Any] | None:
        peers = vtysh_json(lab, "show bfd peers json", node="node1", socket_dir=node1_bfd) or []
        peer = next((p for p in peers if p.get("peer") == "172.30.0.1"), None)
        return peer if peer and peer.get("transmit-interval") == 200 else None

    peer = wait_for(node1_timers, 20, "node1's bfdd on 200 ms")
    assert peer["status"] == "up"
    assert (node1_bfd / "bfdd.pid").read_text().strip() == pid_before
    after = router_bfd(lab)["172.30.0.11"]
    assert after["status"] == "up" and after["id"] == before["id"]
    assert after["uptime"] >= before["uptime"]  # not reset: the session never went down

    node_dies_and_bfd_drops_it(lab, "node1")


def test_a_killed_bfdd_is_restarted_and_its_session_comes_back(env: Env) -> None:
    lab, _, _ = env
    wait_for(lambda: router_bfd(lab).get("172.30.0.12", {}).get("status") == "up", 40, "BFD up for node2")
    pid_file = lab.node_dir("node2") / "bfd" / "bfdd.pid"
    old = int(pid_file.read_text())
    os.kill(old, signal.SIGKILL)

    def new_pid() -> int | None:
        try:
            pid = int(pid_file.read_text().strip() or 0)
        except OSError:
            return None
        return pid if pid not in (0, old) else None

    new = wait_for(new_pid, 20, "a new bfdd pid")
    wait_for(lambda: router_bfd(lab).get("172.30.0.12", {}).get("status") == "up", 20, "BFD up again")
    assert os.path.exists(f"/proc/{new}")


def test_in_the_image_setting_bfdd_stays_root_with_the_container_capabilities(tmp_path: Path) -> None:
    with bfd_lab(tmp_path, container=True) as (lab, _, _):
        bfd_up_everywhere(lab)
        pid = int((lab.node_dir("node1") / "bfd" / "bfdd.pid").read_text())
        status = Path(f"/proc/{pid}/status").read_text()
        uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        cap_eff = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)
        assert uid == "0"
        assert cap_eff & (1 << 7) == 0  # no CAP_SETUID: it could not have switched users
        node_dies_and_bfd_drops_it(lab, "node2")


def test_without_bfdds_capabilities_the_log_says_how_to_install_and_bgp_still_works(tmp_path: Path) -> None:
    with bfd_lab(tmp_path, container=True, caps=DEFAULT_CAPS) as (lab, _, _):
        log = tmp_path / "speaker-node1.log"
        wait_for(lambda: "kubectl apply -k config/bfd" in log.read_text(errors="replace"), 30, "the hint")
        wait_for(lambda: fib_nexthops(lab, LB_IP) == BOTH, 40, "the LB IP via both nodes")
        assert router_bfd(lab).get("172.30.0.11", {}).get("status") != "up"


def test_dropping_the_profile_stops_bfdd_and_the_node_stays_announced(env: Env) -> None:
    lab, cluster, _ = env
    bfd_up_everywhere(lab)
    pid = int((lab.node_dir("node1") / "bfd" / "bfdd.pid").read_text())
    cluster.write(config_yaml=config(100).replace(", bfd-profile: fast", ""))
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 20, "node1's bfdd stopped")
    # The router still asks for BFD, sees it go down and (FRR 8.4) resets the BGP session once;
    # ExaBGP reconnects and the node is announced again.
    wait_for(lambda: lab.sessions().get("172.30.0.11") == "Established", 30, "node1's session back")
    wait_for(lambda: "172.30.0.11" in fib_nexthops(lab, LB_IP), 30, "node1's next hop back")
    assert (lab.node_dir("node1") / "bfd" / "bfdd.conf").read_text().count("\n peer ") == 0


def test_a_sigkilled_speaker_takes_bfdd_along_and_one_restarted_at_once_runs_alone(
    env: Env, tmp_path: Path
) -> None:
    """Outside a PID namespace, bfdd and its guard go with a SIGKILLed speaker (bfdd even as the frr
    user, which clears the kernel's death signal); the router sees BFD go down; a speaker restarted
    at once runs one bfdd, whose session comes up again."""
    lab, _, procs = env
    bfd_up_everywhere(lab)
    bfd_dir, bgp_dir = lab.node_dir("node1") / "bfd", tmp_path / "bgp-node1"
    bfdd = int((bfd_dir / "bfdd.pid").read_text())
    assert bfdd in processes_using(bfd_dir)
    speaker = procs.pop("node1")
    lab_procs.set_child_subreaper(True)  # the killed speaker's children come to us, to be reaped
    try:
        killed = time.monotonic()
        speaker.kill()
        speaker.wait()
        left = lambda: {**processes_using(bfd_dir), **processes_using(bgp_dir)}  # noqa: E731
        wait_for(lambda: not left(), 9, "node1's bfdd, guard, ExaBGP and relay gone", interval=0.01)
        children_gone = time.monotonic() - killed
    finally:
        lab_procs.set_child_subreaper(False)
    wait_for(
        lambda: router_bfd(lab).get("172.30.0.11", {}).get("status") != "up", 5, "BFD down on the router"
    )
    bfd_down = time.monotonic() - killed

    procs["node1"] = start_speaker(tmp_path, lab, "node1", speaker_argv(tmp_path, lab, "node1"))
    restarted = time.monotonic() - killed  # printed, not asserted: it includes our polls of the router
    wait_for(lambda: router_bfd(lab).get("172.30.0.11", {}).get("status") == "up", 40, "BFD up again")
    wait_for(lambda: fib_nexthops(lab, LB_IP) == BOTH, 40, "the LB IP via both nodes again")
    bfdds = [pid for pid, argv in processes_using(bfd_dir).items() if argv[0].endswith("/bfdd")]
    assert bfdds == [int((bfd_dir / "bfdd.pid").read_text())], [argv_of(p) for p in bfdds]
    print(
        f"\nbfdd: speaker SIGKILL -> bfdd, guard, ExaBGP, relay gone {children_gone * 1000:.0f} ms, "
        f"router BFD down {bfd_down * 1000:.0f} ms; restarted after {restarted * 1000:.0f} ms"
    )
