"""Packets and neighbour entries while the owner restarts or drops off the segment, seen by a real client.

Three speakers on the layer-2 lab; every node holds the Service IP on ``lo``
with ``arp_ignore=1``/``arp_announce=2`` (kube-proxy IPVS), so the node the
client's neighbour entry points at answers its pings and only speakers answer
ARP. Count-based, no timing asserts:

- planned restart (issue 5: "healed with no lost packet"): the client pings
  every 10 ms (``tests.support.layer2_icmpprobe``: exact per-packet accounting) while the
  owner's speaker is stopped with SIGTERM and started again; every request is
  answered, the client's entry did move to the successor (the handoff really
  happened), and it ends on the owner's MAC once the owner took the IP back;
- the owner's link goes down and up again: the owner, which never lost the IP
  in its own view, announces it again when it sees the others, so the client's
  entry comes back to it (instead of staying on the successor until it expires).
"""

from __future__ import annotations

import ipaddress
import signal
import time
from collections.abc import Iterator

import pytest

from ironlb.announce.layer2 import owner
from speaker.layer2.gratuitous import GratuitousTiming
from tests.support.layer2_lab import L2Lab, endpoint_slice, ns_run, service, wait_for

pytestmark = pytest.mark.netns

VIP = "172.30.0.200"
INTERVAL = 0.01


def _owner(nodes: list[str]) -> str:
    o = owner(ipaddress.ip_address(VIP), nodes)
    assert o is not None
    return o


def _all_live(lab: L2Lab) -> bool:
    return all("ironlb_membership_members 3.0" in lab.metrics(n) for n in lab.node_names)


@pytest.fixture(scope="module")
def lab(l2lab: L2Lab) -> Iterator[L2Lab]:
    l2lab.hold_vips(VIP)
    for n in l2lab.node_names:  # the link-down test must not cost the nodes their IPv6 addresses
        ns_run(l2lab.ns(n), "sysctl", "-qw", "net.ipv6.conf.eth1.keep_addr_on_down=1")
    l2lab.write_manifests([service("web", [VIP])], [endpoint_slice("web", ["node1"])])
    for n in l2lab.node_names:
        l2lab.start_speaker(n)
    ready = wait_for(lambda: _all_live(l2lab) and l2lab.arping(VIP, count=1, timeout=1), timeout=20)
    assert ready, "speakers never answered:\n" + "\n".join(l2lab.log(n) for n in l2lab.node_names)
    yield l2lab


def test_owner_back_on_the_segment_announces_again(lab: L2Lab) -> None:
    """A node cut off long enough to hold the others dead never lost the IP in its own view.

    Meanwhile the successor took it over and moved the client's entry; when the
    node's link comes back, it must announce the IP again (a full gratuitous
    burst: more than the single announcement a reopened responder sends), and
    the client's entry must come back to it.
    """
    old = _owner(lab.node_names)
    new = _owner([n for n in lab.node_names if n != old])
    ns_run(lab.client, "ping", "-c", "2", "-i", "0.2", "-W", "1", VIP)
    assert lab.neigh(VIP) == lab.macs[old]
    quiet = lab.wait_quiet(old, VIP, GratuitousTiming().spacing + 0.1)
    assert quiet, "the owner's gratuitous burst never ended"
    ns_run(lab.ns(old), "ip", "link", "set", "eth1", "down")
    try:
        moved = wait_for(lambda: lab.neigh(VIP) == lab.macs[new], timeout=10, interval=0.05)
        assert moved, f"entry {lab.neigh(VIP)}; logs:\n{lab.log(new)[-2000:]}"
        # the cut-off node itself holds the others dead (its metrics are reachable on its lo)
        assert wait_for(lambda: "ironlb_membership_members 1.0" in lab.metrics(old), timeout=10)
        before = lab.gratuitous_sent(old, VIP)
    finally:
        ns_run(lab.ns(old), "ip", "link", "set", "eth1", "up")
    announced = wait_for(lambda: lab.gratuitous_sent(old, VIP) - before >= 4, timeout=10, interval=0.1)
    assert announced, (
        f"{lab.gratuitous_sent(old, VIP) - before} gratuitous frames; log:\n{lab.log(old)[-2000:]}"
    )
    assert wait_for(lambda: _all_live(lab) and lab.neigh(VIP) == lab.macs[old], timeout=10, interval=0.05)


def test_owner_speaker_restart_loses_no_packet(lab: L2Lab) -> None:
    old = _owner(lab.node_names)
    new = _owner([n for n in lab.node_names if n != old])
    ns_run(lab.client, "ping", "-c", "2", "-i", "0.2", "-W", "1", VIP)
    assert lab.neigh(VIP) == lab.macs[old]

    watch = lab.watch_neigh(VIP, "restart-neigh")
    try:
        ping = lab.start_ping(VIP, INTERVAL, "restart-ping")
        try:
            time.sleep(0.3)  # traffic flowing to the owner before it goes
            speaker = lab.speakers[old]
            lab.stop_speaker(old, signal.SIGTERM)
            assert speaker.returncode == 0, lab.log(old)[-2000:]
            lab.start_speaker(old)
            settled = wait_for(
                lambda: _all_live(lab) and lab.neigh(VIP) == lab.macs[old], timeout=10, interval=0.05
            )
            assert settled, f"entry {lab.neigh(VIP)}; logs:\n" + "\n".join(
                lab.log(n)[-2000:] for n in lab.node_names
            )
            time.sleep(0.3)  # and traffic keeps flowing to the owner after it took the IP back
        finally:
            result = ping.stop()
    finally:
        moves = watch.stop()

    assert result.sent > 50, result.text[-500:]
    assert result.send_errors == 0
    lost_at = f"{result.lost_at[0]:.2f}-{result.lost_at[-1]:.2f} s" if result.lost else ""
    assert result.lost == [], f"lost {len(result.lost)} of {result.sent}, sent {lost_at} into the run"
    names = [lab.owner_by_mac(m) for m in moves]
    assert new in names, f"the client's entry never moved to the successor {new}: {names}"
    assert lab.neigh(VIP) == lab.macs[old]


def test_no_announcement_of_the_old_owner_follows_its_graceful_handoff(lab: L2Lab) -> None:
    """SIGTERM just before one of the owner's pending repeats is due: it stops announcing before it leaves,
    so the successor's first announcement is the last word (issue 11: the old owner's burst fired ~10 ms
    after the new owner's, and the client went back to it for ~1.2 s)."""
    old = _owner(lab.node_names)
    new = _owner([n for n in lab.node_names if n != old])
    ns_run(lab.client, "ping", "-c", "2", "-i", "0.2", "-W", "1", VIP)
    rec = lab.record_neighbours([VIP], "handoff-neigh")
    try:
        lab.stop_speaker(old, signal.SIGTERM)  # the successor takes over ...
        assert wait_for(lambda: lab.neigh(VIP) == lab.macs[new], timeout=10, interval=0.01)
        lab.start_speaker(old)  # ... and the owner takes it back: its burst has repeats pending
        assert wait_for(lambda: lab.neigh(VIP) == lab.macs[old], timeout=10, interval=0.002)
        back = time.monotonic()
        time.sleep(max(0.0, back + GratuitousTiming().spacing - 0.004 - time.monotonic()))
        handed = time.monotonic()
        lab.stop_speaker(old, signal.SIGTERM)
        assert wait_for(lambda: lab.neigh(VIP) == lab.macs[new], timeout=10, interval=0.002)
        time.sleep(2 * GratuitousTiming().spacing)
    finally:
        changes = rec.stop()
        lab.start_speaker(old)
    after = [c for c in changes if c.t >= handed and c.mac is not None]
    first_new = next(i for i, c in enumerate(after) if c.mac == lab.macs[new])
    assert [c for c in after[first_new:] if c.mac != lab.macs[new]] == [], after
    assert wait_for(lambda: _all_live(lab) and lab.neigh(VIP) == lab.macs[old], timeout=10, interval=0.05)
