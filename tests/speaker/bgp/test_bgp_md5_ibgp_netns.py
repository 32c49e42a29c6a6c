"""TCP MD5 (right and wrong password, from a Secret-like file), iBGP localpref, and per-node peers.

A private copy of the ``bgp-ecmp`` lab whose FRR asks node1 and node2 for a TCP MD5
password and treats node3 as an iBGP neighbor. ironlb's config selects peers per
node: an eBGP peer for node1/node2, an iBGP peer for node3.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ironlb.lab.fixture import require_netns, running_lab
from ironlb.lab.runner import Lab
from tests.support.bgp_lab import NODES, Cluster, Speakers, copy_topology, vtysh_json
from tests.support.bgp_objects import service
from tests.support.objects import endpoint_slice
from tests.support.waiting import wait_for

pytestmark = pytest.mark.netns

RIGHT = "Right-Secret;{x}"
WRONG = "Wrong-Secret;{x}"

CONFIG = """
peers:
- peer-address: 172.30.0.1
  peer-asn: 64512
  my-asn: 64513
  hold-time: 9s
  node-selectors:
  - match-expressions:
    - {key: kubernetes.io/hostname, operator: In, values: [node1, node2]}
- peer-address: 172.30.0.1
  peer-asn: 64512
  my-asn: 64512
  hold-time: 9s
  node-selectors:
  - match-labels: {kubernetes.io/hostname: node3}
address-pools:
- name: pub
  protocol: bgp
  addresses: [198.51.100.0/24]
  bgp-advertisements:
  - localpref: 150
"""


def frr_conf(text: str) -> str:
    text = text.replace(
        " neighbor 172.30.0.13 peer-group NODES\n",
        " neighbor 172.30.0.13 remote-as internal\n"
        " neighbor 172.30.0.13 timers 3 9\n"
        " neighbor 172.30.0.13 timers connect 1\n"
        f" neighbor 172.30.0.11 password {RIGHT}\n"
        f" neighbor 172.30.0.12 password {RIGHT}\n",
    )
    return text.replace(
        "  maximum-paths ibgp 8\n", "  maximum-paths ibgp 8\n  neighbor 172.30.0.13 activate\n"
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Cluster, Speakers]]:
    require_netns()
    work = tmp_path_factory.mktemp("bgp-md5")
    topo = copy_topology("bgp-ecmp", work)
    conf = topo.parent / "frr.conf"
    conf.write_text(frr_conf(conf.read_text()))
    with running_lab(topo) as lab:
        cluster = Cluster(work / "cluster", CONFIG)
        cluster.write(
            [
                service("a", lb_ips=["198.51.100.7"]),
                endpoint_slice("a", ["node1"]),
                service("b", lb_ips=["198.51.100.8"], annotations={"ironlb.io/bgp-localpref": "250"}),
                endpoint_slice("b", ["node1"]),
            ]
        )
        speakers = Speakers(lab, cluster, work)
        try:
            for name, password in (("node1", RIGHT), ("node2", WRONG), ("node3", None)):
                pw_dir: Path | None = None
                if password is not None:
                    pw_dir = work / f"secret-{name}"
                    pw_dir.mkdir()
                    (pw_dir / "172.30.0.1").write_text(password + "\n")
                speakers.start(name, password_dir=pw_dir)
            yield lab, cluster, speakers
        finally:
            speakers.stop_all()


def test_right_md5_password_establishes_wrong_one_never(env: tuple[Lab, Cluster, Speakers]) -> None:
    lab, _, speakers = env
    lab.wait_established([NODES["node1"], NODES["node3"]], timeout=40)
    # node2 keeps trying with the wrong key (connect retry 1 s on both sides): give it several rounds.
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        assert lab.sessions().get(NODES["node2"]) != "Established"
        time.sleep(0.5)
    for name in NODES:
        log = speakers.logs(name)
        assert RIGHT not in log and WRONG not in log
        assert "Right-Secret" not in log and "Wrong-Secret" not in log
    # The session that never opens still has its series, at 0: the usual `session_up == 0` alert fires.
    assert 'ironlb_bgp_session_up{peer="172.30.0.1"} 0.0' in speakers.metrics("node2").splitlines()
    assert 'ironlb_bgp_session_up{peer="172.30.0.1"} 1.0' in speakers.metrics("node1").splitlines()


def test_localpref_reaches_ibgp_peer_only(env: tuple[Lab, Cluster, Speakers]) -> None:
    lab, _, _ = env
    lab.wait_established([NODES["node1"], NODES["node3"]], timeout=40)

    def paths(prefix: str) -> dict[str, dict[str, object]]:
        table = vtysh_json(lab, f"show bgp ipv4 unicast {prefix} json")
        return {p["peer"]["peerId"]: p for p in table.get("paths", [])}

    def two_paths(prefix: str) -> dict[str, dict[str, object]] | None:
        p = paths(prefix)
        return p if len(p) == 2 else None

    got = wait_for(lambda: two_paths("198.51.100.8/32"), what="two paths")
    assert got[NODES["node3"]]["locPrf"] == 250
    assert got[NODES["node1"]].get("locPrf", 100) == 100  # eBGP: no LOCAL_PREF sent
    got_a = wait_for(lambda: two_paths("198.51.100.7/32"), what="two paths")
    assert got_a[NODES["node3"]]["locPrf"] == 150
    assert NODES["node2"] not in got_a
