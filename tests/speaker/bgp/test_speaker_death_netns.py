"""A SIGKILLed speaker takes its ExaBGP and relay along; a speaker restarted at once finds no rival.

Outside a PID namespace (here: ``ip netns exec ... python -m speaker``, as in the lab
and with ``--manifests``) nothing but the speaker itself stops its children. Against
the ``bgp-ecmp`` lab's FRR router (hold time 9 s, graceful-restart helper by default),
with one speaker on node1 announcing one IP (eTP Local: node1 is its only next hop):

- graceful restart off: after a SIGKILL the speaker's ExaBGP and relay are gone and
  the router has dropped node1's path within the hold time;
- graceful restart on: the session is down and the path stale, and the router keeps it
  only for the restart time;
- a speaker restarted right after the SIGKILL (well within 3 s) never runs next to a
  second ExaBGP for the node, the router never loses the route, and the session comes
  up exactly once (FRR's established/dropped counters): no flap.

Deadlines, not timings, are asserted; the measured times are printed (``pytest -s``).
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ironlb.lab import procs
from ironlb.lab.fixture import require_netns, running_lab, topology_path
from ironlb.lab.runner import Lab
from tests.support.bgp_lab import Cluster, Speakers, fib_nexthops, router_peer, vtysh_json
from tests.support.bgp_objects import service
from tests.support.objects import endpoint_slice
from tests.support.processes import processes_using
from tests.support.waiting import wait_for

pytestmark = pytest.mark.netns

NODE1 = "172.30.0.11"
LB_IP = "198.51.100.40"
HOLD = 9.0
CONFIG = f"""
peers:
{router_peer(hold=int(HOLD))}
address-pools:
- {{name: pub, protocol: bgp, addresses: [198.51.100.0/24]}}
"""

Env = tuple[Lab, Speakers]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    require_netns()
    work = tmp_path_factory.mktemp("speaker-death")
    # A killed speaker's children are re-parented to us (not to a PID 1 that may never reap them).
    procs.set_child_subreaper(True)
    try:
        with running_lab(topology_path("bgp-ecmp")) as lab:
            cluster = Cluster(work / "cluster", CONFIG)
            cluster.write([service("web", lb_ips=[LB_IP], etp="Local"), endpoint_slice("web", ["node1"])])
            speakers = Speakers(lab, cluster, work)
            try:
                yield lab, speakers
            finally:
                speakers.stop_all()
                if "Traceback" in speakers.logs("node1"):
                    print(speakers.logs("node1")[-3000:])
    finally:
        procs.set_child_subreaper(False)


def neighbor(lab: Lab) -> dict[str, Any]:
    return dict(vtysh_json(lab, f"show bgp neighbors {NODE1} json").get(NODE1, {}))


def node1_paths(lab: Lab) -> list[dict[str, Any]]:
    paths = vtysh_json(lab, f"show bgp ipv4 unicast {LB_IP}/32 json").get("paths", [])
    return [p for p in paths if p.get("peer", {}).get("peerId") == NODE1]


def exabgps(children: dict[int, list[str]]) -> list[int]:
    """The ExaBGP processes among ``children`` (``exabgp ... server CONF``; not the relay)."""
    return [pid for pid, argv in children.items() if "server" in argv and not any("relay" in a for a in argv)]


def announcing(lab: Lab, speakers: Speakers, graceful_restart: int) -> dict[int, list[str]]:
    """Start node1's speaker; once the router uses its path, return its children (ExaBGP, relay)."""
    speakers.start("node1", graceful_restart=graceful_restart)
    lab.wait_established([NODE1], timeout=40)
    wait_for(lambda: fib_nexthops(lab, LB_IP) == {NODE1}, 20, what=f"{LB_IP} via node1")
    speaker = speakers.procs["node1"].pid
    children = wait_for(
        lambda: (c := processes_using(speakers.workdir_of("node1"))) and len(c) >= 3 and c,
        20,
        what="node1's ExaBGP and relay",
    )
    children.pop(speaker, None)
    assert len(exabgps(children)) == 1, children
    assert any(any(a.endswith("relay.py") for a in argv) for argv in children.values()), children
    return children


def sigkill(speakers: Speakers) -> float:
    proc = speakers.procs.pop("node1")
    start = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return start


def gone(speakers: Speakers, children: dict[int, list[str]], since: float) -> float:
    """Wait (hold time at most) until none of ``children`` and nothing else using the workdir runs."""
    workdir = speakers.workdir_of("node1")

    def none_left() -> bool:
        for pid in children:
            procs.reap(pid)  # ours as the subreaper: collect it rather than count a zombie
        return not processes_using(workdir)

    wait_for(none_left, HOLD, what=f"node1's children gone (left: {processes_using(workdir)})", interval=0.01)
    return time.monotonic() - since


def last_reset(lab: Lab) -> tuple[float, str]:
    """When the router last reset node1's session (and why), as a ``time.monotonic()`` second.

    FRR's ``lastResetTimerMsecs`` counts whole seconds of CLOCK_MONOTONIC (the clock ``time.monotonic``
    reads, host-wide): the reset fell within the second returned, [t, t + 1). Read from the router,
    not from when a poll of ours saw the path gone (a busy machine's polls come seconds late)."""
    for _ in range(20):
        before = time.monotonic()
        n = neighbor(lab)
        if math.floor(time.monotonic()) == math.floor(before):  # FRR's clock read within that second
            return math.floor(before) - int(n["lastResetTimerMsecs"]) / 1000, str(n.get("lastResetDueTo"))
    raise AssertionError("every read of the router's neighbour straddled a second")


def test_graceful_restart_off_the_router_drops_the_node_within_the_hold_time(env: Env) -> None:
    lab, speakers = env
    children = announcing(lab, speakers, graceful_restart=0)
    killed = sigkill(speakers)
    children_gone = gone(speakers, children, killed)
    wait_for(lambda: not node1_paths(lab), HOLD + 30, "node1's path withdrawn")
    # zebra removes the route from the kernel a moment after bgpd drops the path.
    wait_for(lambda: fib_nexthops(lab, LB_IP) == frozenset(), 10, "node1's next hop out of the FIB")
    assert lab.sessions().get(NODE1) != "Established"
    reset, why = last_reset(lab)
    # The router dropped the session (the dead ExaBGP's socket closed, or at the latest its hold timer)
    # and with it the path (no graceful restart): after the kill, and within the hold time of it.
    assert killed < reset + 1 and reset <= killed + HOLD, (reset - killed, why)
    print(
        f"\nGR off: ExaBGP+relay gone {children_gone * 1000:.0f} ms, session reset by the router at most "
        f"{reset + 1 - killed:.1f} s after the SIGKILL (FRR counts whole seconds; {why})"
    )


def test_graceful_restart_on_the_router_keeps_stale_paths_only_for_the_restart_time(env: Env) -> None:
    lab, speakers = env
    restart_time = 5
    children = announcing(lab, speakers, graceful_restart=restart_time)
    killed = sigkill(speakers)
    children_gone = gone(speakers, children, killed)
    wait_for(lambda: lab.sessions().get(NODE1) != "Established", HOLD, "node1's session down")
    down = time.monotonic()
    # Helper mode: the path stays, marked stale, while the session is down...
    stale = node1_paths(lab)
    assert stale and all(p.get("stale") for p in stale), stale
    # ...and goes when the restart time runs out without the node coming back.
    wait_for(lambda: not node1_paths(lab), restart_time + 5, "the stale path dropped after the restart time")
    kept = time.monotonic() - down
    # zebra removes the route from the kernel a moment after bgpd drops the path.
    wait_for(lambda: fib_nexthops(lab, LB_IP) == frozenset(), 2.0, "node1's next hop out of the FIB")
    assert lab.sessions().get(NODE1) != "Established"
    print(
        f"\nGR on ({restart_time} s): ExaBGP+relay gone {children_gone * 1000:.0f} ms, "
        f"stale path kept {kept:.1f} s after the session went down"
    )


def test_a_speaker_restarted_at_once_runs_alone_and_the_session_does_not_flap(env: Env) -> None:
    lab, speakers = env
    wait_for(lambda: not node1_paths(lab), 15, "no path of node1 left by an earlier test")
    announcing(lab, speakers, graceful_restart=30)
    before = neighbor(lab)
    killed = sigkill(speakers)
    speakers.start("node1", graceful_restart=30)
    restarted = time.monotonic() - killed
    assert restarted < 3.0
    workdir = speakers.workdir_of("node1")
    most_exabgps = 0
    route_lost = 0

    def sample() -> None:
        nonlocal most_exabgps, route_lost
        most_exabgps = max(most_exabgps, len(exabgps(processes_using(workdir))))
        route_lost += fib_nexthops(lab, LB_IP) != {NODE1}

    def fresh() -> bool:
        sample()
        paths = node1_paths(lab)
        return lab.sessions().get(NODE1) == "Established" and bool(paths) and not paths[0].get("stale")

    wait_for(fresh, 40, "node1's session back with a fresh path", interval=0.02)
    back = time.monotonic() - killed
    # The fight the issue saw (sessions flapping for 5-10 s) would show here.
    settle = time.monotonic() + 5.0
    while time.monotonic() < settle:
        sample()
        time.sleep(0.05)
    after = neighbor(lab)
    assert most_exabgps == 1, "a second ExaBGP ran for node1"
    assert route_lost == 0, "the router lost node1's route during the restart"
    assert after["bgpState"] == "Established"
    assert after["connectionsEstablished"] == before["connectionsEstablished"] + 1, (before, after)
    assert after["connectionsDropped"] == before["connectionsDropped"] + 1, (before, after)
    print(f"\nrestart {restarted * 1000:.0f} ms after SIGKILL: session back and fresh after {back:.1f} s")


def test_no_child_is_left_once_the_speaker_stops(env: Env) -> None:
    _, speakers = env
    speakers.stop_all()
    assert not processes_using(speakers.workdir_of("node1"))
    assert not (speakers.workdir_of("node1") / "exabgp.pid").exists()
