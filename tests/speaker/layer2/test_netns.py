"""The speaker in network namespaces, with the real kernel (arping, ndisc6, ip neigh) as the client.

One lab per module: a client and three nodes on a bridge (eth1, allowed) and on
a second bridge (eth2, not allowed by the config). Each test leaves the
speakers running as it found them.
"""

from __future__ import annotations

import ipaddress
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ironlb.announce.layer2 import owner
from speaker.layer2.responder import solicited_node
from speaker.membership import wire
from tests.support.layer2_helpers import ranking
from tests.support.layer2_lab import L2Lab, endpoint_slice, ns_run, pointing_elsewhere, service, wait_for

pytestmark = pytest.mark.netns

V4 = "172.30.0.200"
NODES = ["node1", "node2", "node3"]


# An IPv6 address that fails over exactly like V4, so one failure moves both neighbour entries.
V6 = next(
    f"fd00:30::{i:x}" for i in range(0x200, 0x221) if ranking(f"fd00:30::{i:x}", NODES) == ranking(V4, NODES)
)
LOCAL = "172.30.0.201"
UNOWNED = "172.30.0.210"
UNOWNED6 = "fd00:30::221"  # outside the pool
LOCAL6 = next(f"fd00:30::{i:x}" for i in range(0x210, 0x221) if f"fd00:30::{i:x}" != V6)


def base_manifests(
    lab: L2Lab,
    local_nodes: list[str] | None = None,
    interfaces: list[str] | None = None,
    extra: Sequence[tuple[dict[str, Any], dict[str, Any]]] = (),
) -> None:
    """The cluster: ``web`` (V4, V6), ``loc`` (LOCAL, eTP Local), plus ``extra`` (Service, slice) pairs."""
    config = (
        "address-pools:\n- name: l2\n  protocol: layer2\n"
        "  addresses: [172.30.0.200-172.30.0.220, 'fd00:30::200-fd00:30::220']\n"
        f"l2:\n  interfaces: [{', '.join(interfaces or ['eth1'])}]\n"
    )
    lab.write_manifests(
        [service("web", [V4, V6]), service("loc", [LOCAL], etp="Local"), *(svc for svc, _ in extra)],
        [
            endpoint_slice("web", ["node1"]),
            endpoint_slice("loc", ["node2"] if local_nodes is None else local_nodes),
            *(eps for _, eps in extra),
        ],
        config=config,
    )


def expected(ip: str, nodes: list[str]) -> str:
    o = owner(ipaddress.ip_address(ip), nodes)
    assert o is not None
    return o


@pytest.fixture(scope="module")
def lab(l2lab: L2Lab) -> Iterator[L2Lab]:
    # As kube-proxy (IPVS) does: every node holds the VIPs locally so it accepts their traffic, and
    # arp_ignore/arp_announce keep its kernel from answering ARP for them (LAB.md's trap).
    for n in l2lab.node_names:
        ns = l2lab.ns(n)
        ns_run(ns, "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
        ns_run(ns, "ip", "addr", "add", f"{V4}/32", "dev", "lo")
        ns_run(ns, "ip", "addr", "add", f"{V6}/128", "dev", "lo")
    base_manifests(l2lab)
    for n in l2lab.node_names:
        l2lab.start_speaker(n)
    ready = wait_for(lambda: l2lab.arping(V4, count=1, timeout=1) and l2lab.ndisc(V6), timeout=20)
    assert ready, "speakers never answered:\n" + "\n".join(l2lab.log(n) for n in l2lab.node_names)
    yield l2lab


def samples(text: str, name: str, **labels: str) -> list[float]:
    """Values of ``name`` in a /metrics page whose labels include ``labels``."""
    return [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    ]


def restart(lab: L2Lab, node: str) -> None:
    lab.stop_speaker(node, signal.SIGKILL)
    lab.start_speaker(node)
    assert wait_for(lambda: "ironlb_layer2" in lab.metrics(node) and _all_live(lab), timeout=15)


def _all_live(lab: L2Lab) -> bool:
    text = "".join(lab.metrics(n) for n in lab.node_names)
    return text.count("ironlb_membership_members 3.0") == len(lab.node_names)


def test_owner_answers_arp_and_ndp_exactly_once(lab: L2Lab) -> None:
    all_nodes = lab.node_names
    v4_owner, v6_owner = expected(V4, all_nodes), expected(V6, all_nodes)
    assert lab.arping(V4, count=2) == [lab.macs[v4_owner]] * 2
    assert lab.ndisc(V6) == [lab.macs[v6_owner]]
    assert lab.solicit(V6) == [lab.macs[v6_owner]]  # exactly one solicited answer (ndisc6 stops at one)
    ns_run(lab.client, "ping", "-c", "1", "-W", "1", V4, check=False)
    assert lab.neigh(V4) == lab.macs[v4_owner]
    metrics = lab.metrics(v4_owner)
    assert f'ironlb_layer2_responses_sent_total{{ip="{V4}"}}' in metrics
    assert (
        f'ironlb_speaker_announced{{ip="{V4}",node="{v4_owner}",protocol="layer2",service="default/web"}} 1.0'
        in metrics
    )


def test_no_answer_for_unowned_ip_or_on_disallowed_interface(lab: L2Lab) -> None:
    assert lab.arping(UNOWNED, count=1, timeout=1) == []
    assert lab.arping(V4, dev="eth2", count=1, timeout=1) == []
    assert lab.ndisc(UNOWNED6) == []
    # not ndisc6: it also takes the announcement burst on eth1 for an answer (tests/support/layer2_ndprobe.py)
    assert lab.solicit(V6, dev="eth2") == []  # answered on eth2 once allowed: see the config-change test


def solicited(ip: str) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(solicited_node(ipaddress.IPv6Address(ip).packed))


def groups(lab: L2Lab, node: str, dev: str = "eth1") -> set[ipaddress.IPv6Address]:
    """The IPv6 multicast groups ``dev`` of ``node`` is a member of, as the kernel lists them."""
    out = ns_run(lab.ns(node), "ip", "-6", "maddr", "show", "dev", dev).stdout.split()
    return {ipaddress.IPv6Address(out[i + 1]) for i, word in enumerate(out[:-1]) if word == "inet6"}


def members(lab: L2Lab, ip: str) -> set[str]:
    """The nodes whose eth1 joined the solicited-node group of ``ip``."""
    return {n for n in lab.node_names if solicited(ip) in groups(lab, n)}


def test_owner_joins_the_solicited_node_groups_of_its_ipv6_ips(lab: L2Lab) -> None:
    """The bridge floods multicast, so NDP works without the join: check the membership itself."""
    nodes = lab.node_names
    for n in nodes:  # the kernel joins the groups of eth1's own addresses: none may share ours
        own = ns_run(lab.ns(n), "ip", "-6", "-o", "addr", "show", "dev", "eth1").stdout.split()
        addrs = [own[i + 1].split("/")[0] for i, w in enumerate(own[:-1]) if w == "inet6"]
        assert addrs and not {solicited(a) for a in addrs} & {solicited(V6), solicited(LOCAL6)}
    v6_owner = expected(V6, nodes)
    assert wait_for(lambda: members(lab, V6) == {v6_owner}, timeout=10), members(lab, V6)
    first, second = (n for n in nodes if n != v6_owner)  # hosts of a Local service's endpoint
    try:
        base_manifests(
            lab, extra=[(service("v6loc", [LOCAL6], etp="Local"), endpoint_slice("v6loc", [first]))]
        )
        assert wait_for(lambda: members(lab, LOCAL6) == {first}, timeout=10), members(lab, LOCAL6)
        base_manifests(
            lab, extra=[(service("v6loc", [LOCAL6], etp="Local"), endpoint_slice("v6loc", [second]))]
        )
        # the IP moved: the new owner joined and the old one, still running, left
        assert wait_for(lambda: members(lab, LOCAL6) == {second}, timeout=10), members(lab, LOCAL6)
        assert lab.ndisc(LOCAL6) == [lab.macs[second]]
    finally:
        base_manifests(lab)  # the Service is deleted: its group is left everywhere
    assert wait_for(lambda: members(lab, LOCAL6) == set(), timeout=10), members(lab, LOCAL6)
    assert members(lab, V6) == {v6_owner}


def test_config_change_moves_answers_to_another_interface(lab: L2Lab) -> None:
    try:
        base_manifests(lab, interfaces=["eth2"])
        assert wait_for(lambda: lab.arping(V4, dev="eth2", count=1, timeout=1), timeout=10)
        assert lab.arping(V4, count=1, timeout=1) == []
        assert lab.solicit(V6, dev="eth2") == [lab.mac(lab.ns(expected(V6, lab.node_names)), "eth2")]
        assert lab.solicit(V6) == []
    finally:
        base_manifests(lab)
    assert wait_for(lambda: lab.arping(V4, count=1, timeout=1), timeout=10)
    assert lab.arping(V4, dev="eth2", count=1, timeout=1) == []
    assert lab.solicit(V6, dev="eth2") == []


def test_local_traffic_policy_follows_the_endpoint(lab: L2Lab) -> None:
    try:
        assert lab.arping(LOCAL, count=1) == [lab.macs["node2"]]
        base_manifests(lab, local_nodes=["node3"])
        assert wait_for(lambda: lab.arping(LOCAL, count=1, timeout=1) == [lab.macs["node3"]], timeout=10)
        base_manifests(lab, local_nodes=[])
        assert wait_for(lambda: lab.arping(LOCAL, count=1, timeout=1) == [], timeout=10)
    finally:
        base_manifests(lab)
    assert wait_for(lambda: lab.arping(LOCAL, count=1, timeout=1) == [lab.macs["node2"]], timeout=10)


def test_forged_membership_leave_changes_nothing(lab: L2Lab) -> None:
    v4_owner = expected(V4, lab.node_names)
    forged = wire.encode(wire.Message("leave", v4_owner, 2**62), b"wrong-key-wrong-key-wrong-key!!!")
    others = [i for i, n in enumerate(lab.node_names, start=1) if n != v4_owner]
    for i in others:  # sent from the client namespace: an attacker on the segment
        code = (
            "import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
            f"s.sendto(bytes.fromhex(sys.argv[1]),('172.30.0.{10 + i}',7946))"
        )
        ns_run(lab.client, "python3", "-c", code, forged.hex())
    time.sleep(0.5)
    assert lab.arping(V4, count=2) == [lab.macs[v4_owner]] * 2
    for i in others:
        assert "ironlb_membership_bad_mac_drops_total 1.0" in lab.metrics(lab.node_names[i - 1])


FORGE = (
    "import ipaddress, socket, sys\n"
    "from speaker.layer2.frames import Templates\n"
    "t = Templates.build(bytes.fromhex(sys.argv[2]))\n"
    "ip = ipaddress.ip_address(sys.argv[1]).packed\n"
    "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
    "s.bind(('eth1', 0))\n"
    "for f in (t.gratuitous_arp(ip) if len(ip) == 4 else (t.unsolicited_na(ip),)):\n"
    "    s.send(f)\n"
)


@pytest.mark.parametrize("ip", [V4, V6])
def test_a_stray_announcement_is_corrected_by_the_owner_at_once(lab: L2Lab, ip: str) -> None:
    """Another MAC announces the owner's IP (a gratuitous ARP or an unsolicited NA, from a node that is
    not the owner): the owner answers with its own at once, so the client's entry is back in one round
    trip (issue 11), not when the client next probes it."""
    owner_node = expected(ip, lab.node_names)
    stray_node = next(n for n in lab.node_names if n != owner_node)
    flag = "-6" if ":" in ip else "-4"
    ns_run(lab.client, "ping", flag, "-c", "1", "-W", "1", ip, check=False)
    assert lab.neigh(ip) == lab.macs[owner_node]
    rogue = "02:00:00:00:be:ef"
    rec = lab.record_neighbours([ip], f"stray-{ip}")
    try:
        time.sleep(0.2)
        ns_run(lab.ns(stray_node), sys.executable, "-c", FORGE, ip, rogue.replace(":", ""))
        time.sleep(1.0)
        end = time.monotonic()
    finally:
        changes = rec.stop()
    assert rogue in [c.mac for c in changes], changes  # the stray did reach the client's kernel
    wrong = pointing_elsewhere(changes, ip, lab.macs[owner_node], end)
    # One round trip (the owner's reaction, typically 5-30 ms), not the client's own re-validation
    # (seconds): bounded by issue 11's 200 ms for any wrong entry, which a loaded CI machine respects.
    assert wrong and all(d <= 0.2 for _, d, _ in wrong), wrong
    assert lab.neigh(ip) == lab.macs[owner_node]
    assert samples(lab.metrics(owner_node), "ironlb_layer2_conflicts_total", ip=ip) >= [1.0]


@pytest.mark.parametrize("how", ["sigkill", "sigterm", "cut"])
def test_owner_failure_moves_the_neighbour_entry(lab: L2Lab, how: str) -> None:
    old = expected(V4, lab.node_names)
    new = expected(V4, [n for n in lab.node_names if n != old])
    ns_run(lab.client, "ping", "-c", "1", "-W", "1", V4, check=False)
    ns_run(lab.client, "ping", "-6", "-c", "1", "-W", "1", V6, check=False)
    assert lab.neigh(V4) == lab.macs[old]
    assert lab.neigh(V6) == lab.macs[old]
    time.sleep(1.1)  # past the client's ARP locktime since the entry was made
    try:
        if how == "sigkill":
            lab.speakers[old].send_signal(signal.SIGKILL)
        elif how == "sigterm":
            lab.speakers[old].send_signal(signal.SIGTERM)
        else:
            lab.set_link(old, up=False)
        moved = wait_for(lambda: lab.neigh(V4) == lab.neigh(V6) == lab.macs[new], timeout=8, interval=0.05)
        assert moved, f"neighbour entries {lab.neigh(V4)} {lab.neigh(V6)}; logs:\n{lab.log(new)}"
        if how == "sigterm":
            assert lab.speakers[old].wait(5) == 0  # clean exit after the leave
        # traffic flows to the new owner (its kernel answers: the VIP is on its lo)
        assert ns_run(lab.client, "ping", "-c", "1", "-W", "2", V4, check=False).returncode == 0
        assert ns_run(lab.client, "ping", "-6", "-c", "1", "-W", "2", V6, check=False).returncode == 0
        got = lab.arping(V4, count=2)
        assert got == [lab.macs[new]] * 2, f"{got} {lab.macs}\n" + "\n".join(
            lab.log(n)[-3000:] for n in lab.node_names
        )
        # the segment's failover traffic (the new owner's gratuitous ARP replies) is no malformed frame
        for n in (new, *(m for m in lab.node_names if m not in (old, new))):
            text = lab.metrics(n)
            assert samples(text, "ironlb_layer2_malformed_frames_total") in ([], [0.0])
            assert sum(samples(text, "ironlb_layer2_frames_dropped_total", reason="arp-not-request")) > 0
    finally:
        if how == "cut":
            lab.set_link(old, up=True)
            assert wait_for(lambda: _all_live(lab), timeout=15)
        else:
            restart(lab, old)
    assert wait_for(lambda: lab.arping(V4, count=1, timeout=1) == [lab.macs[old]], timeout=10)


def test_speaker_without_net_raw_refuses_to_run(lab: L2Lab) -> None:
    """A speaker that could win IPs but never answer for them must stop instead of joining."""
    r = ns_run(
        lab.ns("node1"),
        "setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw",
        sys.executable, "-m", "speaker", "--node", "node1", "--manifests", str(lab.manifests),
        "--membership-key-file", str(lab.key_file), "--membership-port", "7999", "--metrics-address", "",
        "--no-bgp",
        check=False, timeout=30,
    )  # fmt: skip
    assert r.returncode == 1
    assert "Operation not permitted" in r.stderr
