"""The owner of an IP restarted in a partition takes the client back at the heal, as a real client sees it.

Membership rule 5 with real speakers and a real client kernel, four nodes.
``X``'s owner is killed (its successor takes ``X``), the segment splits into
{owner, successor} and {holder, fourth node, client} (the holder, next in line,
takes ``X`` for the client) and the owner's speaker restarts on its side. The
heal comes in steps. The successor's links: the holder counts it in and, in its
view, hands ``X`` over to it (which in the successor's own view is the owner's:
nobody announces it). The owner's link to the fourth node: the fourth node tells
the owner it was out (the owner announces ``X``, where the client cannot hear it)
and tells the holder, which counts the owner in, learnt from another peer, not
from the owner itself (rule 2 cannot apply). Once the owner's burst is over, the
rest: only the owner's own announcement moves the client's entry back, and only
the holder knows the client may still be on it. Required: the entry is back on
the owner within ``BACK_WITHIN`` of the heal.

The client confirms its entry on the holder before the heal (its first probe comes
1 s after a packet finds the entry stale, not 5 s), so that its own neighbour probe
cannot find the owner for it during the test: without rule 5 the entry stays on the
holder until its reachable time ends and a probe fails. That reachable time is set
longer than the test (60 to 180 s; the default 15 to 45 s once ended mid-test on CI,
and the client's probe of the holder, which had handed X on, failed).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from tests.support.layer2_helpers import ranking
from tests.support.layer2_lab import (
    FOUR_NODES,
    L2Lab,
    endpoint_slice,
    ns_run,
    pointing_elsewhere,
    service,
    wait_for,
)

pytestmark = pytest.mark.netns

X = "172.30.0.200"
REACHABLE_BASE_MS = 120_000
BACK_WITHIN = 2.0
"""Seen 0.16-0.79 s on the shared 2-core machine (5 runs); without rule 5 the entry never comes back
within the test (9 s and more), so the margin for a busy CI machine costs the test nothing."""


@pytest.fixture(scope="module")
def lab() -> Iterator[L2Lab]:
    lab = L2Lab(FOUR_NODES)
    try:
        lab.up()
        ns_run(lab.client, "sysctl", "-qw", "net.ipv4.neigh.eth1.delay_first_probe_time=1")
        # a confirmed entry stays REACHABLE 60 to 180 s (not 15 to 45 s): longer than the whole test, so the
        # client never probes the holder after it stopped answering for X (in its view, the successor's)
        ns_run(lab.client, "sysctl", "-qw", f"net.ipv4.neigh.eth1.base_reachable_time_ms={REACHABLE_BASE_MS}")
        lab.hold_vips(X)
        lab.write_manifests([service("x", [X])], [endpoint_slice("x", lab.node_names)])
        for n in lab.node_names:
            lab.start_speaker(n)
        ready = wait_for(lambda: lab.all_live() and lab.arping(X, count=1, timeout=1), timeout=40)
        assert ready, "speakers never answered:\n" + "\n".join(lab.log(n) for n in lab.node_names)
        yield lab
    finally:
        lab.close()


def test_holder_that_learnt_the_owner_is_back_from_a_peer_still_takes_the_client_back(lab: L2Lab) -> None:
    owner, successor, holder, fourth = ranking(X, lab.node_names)
    try:
        _steps(lab, owner, successor, holder, fourth)
    except BaseException:
        print(_diagnostics(lab, owner, successor, holder, fourth))
        raise


def _steps(lab: L2Lab, owner: str, successor: str, holder: str, fourth: str) -> None:
    macs = lab.macs
    ping = lab.start_ping(X, 0.02, "ping-x")
    try:
        assert wait_for(lambda: lab.neigh(X) == macs[owner], 20)
        rec = lab.record_neighbours([X], "neigh-x")
        try:
            lab.stop_speaker(owner, signal.SIGKILL)
            assert wait_for(lambda: lab.neigh(X) == macs[successor], 10, 0.02), "the successor never took X"
            lab.partition([owner, successor])
            try:
                assert wait_for(lambda: lab.neigh(X) == macs[holder], 10, 0.02), "the holder never took X"
                lab.start_speaker(owner)
                # up, it counts the other side out through its successor's nacks
                assert wait_for(lambda: "ironlb_membership_members 2.0" in lab.metrics(owner), 30)
                # the client confirmed the holder (a probe answered): no probe of its own until the end
                # (a busy machine: maybe after its probe of the cut-off successor failed, INCOMPLETE a while)
                assert wait_for(lambda: "REACHABLE" in _entry(lab), 15, 0.05), _entry(lab)
                lab.unblock([successor], [holder, fourth, "client"])  # the holder sees the successor first
                assert wait_for(lambda: "ironlb_membership_members 3.0" in lab.metrics(holder), 20, 0.05)
                # in its view X is now the successor's; then it hears the owner is back, from the fourth
                lab.unblock([owner], [fourth])
                assert wait_for(lab.all_live, 20, 0.05), "not all live"
                assert lab.wait_quiet(owner, X, quiet=1.5, timeout=20)  # its burst is over
                assert lab.neigh(X) == macs[holder], f"the owner's frames reached the client: {_entry(lab)}"
            finally:
                lab.heal()
            healed = time.monotonic()
            time.sleep(BACK_WITHIN + 0.5)
            end = time.monotonic()
        finally:
            changes = rec.stop()
    finally:
        ping.stop()
    names = {m: n for n, m in macs.items()}
    path = [(round(c.t - healed, 3), names.get(c.mac or "", c.mac), c.state) for c in changes]
    print(f"owner {owner}, successor {successor}, holder {holder}; client's entries after the heal: {path}")
    late = [(t, d) for t, d, _ in pointing_elsewhere(changes, X, macs[owner], end) if t + d > healed]
    assert all(t + d - healed <= BACK_WITHIN for t, d in late), (late, path)
    assert lab.neigh(X) == macs[owner], path


def _entry(lab: L2Lab) -> str:
    return ns_run(lab.client, "ip", "neigh", "show", X).stdout


def _diagnostics(lab: L2Lab, owner: str, successor: str, holder: str, fourth: str) -> str:
    """What a failure needs: the client's entry now and its history (monotonic times), each speaker's log."""
    names = {m: n for n, m in lab.macs.items()}
    history = lab.dir / "neigh-x.log"
    lines = history.read_text(errors="replace").splitlines() if history.exists() else []
    for name in names.values():
        lines = [line.replace(lab.macs[name], name) for line in lines]
    out = [
        f"owner {owner}, successor {successor}, holder {holder}, fourth {fourth}",
        f"now: {time.monotonic():.3f} monotonic, {time.strftime('%H:%M:%S')} local time",
        f"client's entry: {_entry(lab).strip()}",
        "client's entry history:",
        *lines[-40:],
    ]
    for n in (owner, successor, holder, fourth):
        out += [f"--- {n}'s log, tail:", *lab.log(n).splitlines()[-40:]]
    return "\n".join(out)
