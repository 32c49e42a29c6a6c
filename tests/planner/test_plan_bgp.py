"""``ironlb plan`` shows, per node and peer, the prefixes each node would announce with their attributes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ironlb.cli.main import main
from ironlb.cli.plan import SAMPLES_DIR
from tests.support.bgp_objects import dump, node, service
from tests.support.golden import check_golden
from tests.support.objects import endpoint_slice

GOLDEN = Path(__file__).parent / "golden"

CONFIG = """
peers:
- {peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513}
- peer-address: 172.30.0.2
  peer-asn: 64513
  my-asn: 64513
  source-address: 172.30.0.112
  node-selectors: [{match-labels: {kubernetes.io/hostname: n2}}]
- {peer-address: "fd00:30::1", peer-asn: 64512, my-asn: 64513}
address-pools:
- name: pub
  protocol: bgp
  addresses: [198.51.100.0/24, "2001:db8:9::/64"]
  bgp-advertisements:
  - {localpref: 120, communities: [no-export]}
cluster-ip-advertisement:
  cidrs: [10.96.0.0/16]
"""


def write(tmp_path: Path) -> tuple[Path, Path]:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG)
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    web = service("web", etp="Local", annotations={"ironlb.io/loadBalancerIPs": "198.51.100.9,2001:db8:9::9"})
    web["spec"]["ipFamilyPolicy"] = "RequireDualStack"
    web["spec"]["ipFamilies"] = ["IPv4", "IPv6"]
    n1 = node("n1", "172.30.0.11", v6="fd00:30::11")
    (manifests / "all.yaml").write_text(
        dump([n1, node("n2", "172.30.0.12"), web, endpoint_slice("web", ["n1", "n2"])])
    )
    return cfg, manifests


def test_plan_json_lists_prefixes_per_node_and_peer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, manifests = write(tmp_path)
    assert main(["plan", "-c", str(cfg), "-f", str(manifests), "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_node = {n["node"]: {p["peer"]: p["routes"] for p in n["peers"]} for n in doc["bgp"]}
    assert set(by_node) == {"n1", "n2"}
    assert set(by_node["n1"]) == {"172.30.0.1", "fd00:30::1"}
    assert [r["prefix"] for r in by_node["n1"]["172.30.0.1"]] == ["10.96.0.0/16", "198.51.100.9/32"]
    assert [r["prefix"] for r in by_node["n1"]["fd00:30::1"]] == ["2001:db8:9::9/128"]
    n2_ibgp = {r["prefix"]: r for r in by_node["n2"]["172.30.0.2"]}
    assert n2_ibgp["198.51.100.9/32"]["communities"] == ["65535:65281"]
    assert n2_ibgp["198.51.100.9/32"]["localpref"] == 120
    n2_ebgp = {r["prefix"]: r for r in by_node["n2"]["172.30.0.1"]}
    assert n2_ebgp["198.51.100.9/32"]["localpref"] is None

    # Next hop = the session's local address: the node's own, or the peer's source-address.
    peers = {(n["node"], p["peer"]): p for n in doc["bgp"] for p in n["peers"]}
    assert peers["n1", "172.30.0.1"]["next_hop"] == "172.30.0.11"
    assert peers["n1", "fd00:30::1"]["next_hop"] == "fd00:30::11"
    assert peers["n2", "172.30.0.2"]["next_hop"] == "172.30.0.112"
    assert all(peers[k]["unusable"] is None for k in peers if k != ("n2", "fd00:30::1"))
    # n2 has no IPv6 address: the IPv6 peer is unusable there, and the IPv6 LoadBalancer IP is a
    # problem, not a silent drop.
    assert peers["n2", "fd00:30::1"]["next_hop"] is None
    assert peers["n2", "fd00:30::1"]["routes"] == []
    assert "node n2 has no IPv6 address" in peers["n2", "fd00:30::1"]["unusable"]
    problems = {n["node"]: n["problems"] for n in doc["bgp"]}
    assert problems["n1"] == []
    assert any("2001:db8:9::9 on node n2" in p and "default/web" in p for p in problems["n2"])


def test_plan_table_has_bgp_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, manifests = write(tmp_path)
    assert main(["plan", "-c", str(cfg), "-f", str(manifests)]) == 0
    out = capsys.readouterr().out
    assert "BGP-NODE" in out
    lines = out.splitlines()
    rows = [line.split() for line in lines if line.startswith("n2 ")]
    assert [
        "n2",
        "172.30.0.2",
        "172.30.0.112",
        "198.51.100.9/32",
        "communities=65535:65281",
        "localpref=120",
    ] in rows
    assert ["n1", "fd00:30::1", "fd00:30::11", "2001:db8:9::9/128", "communities=65535:65281"] in [
        line.split() for line in lines if line.startswith("n1 ")
    ]
    unusable = [line for line in lines if line.startswith("n2 ") and "fd00:30::1" in line]
    assert len(unusable) == 1 and "(no session: node n2 has no IPv6 address" in unusable[0]
    problems = lines[lines.index("BGP problems:") + 1 :]
    assert any("no usable IPv6 BGP session for 2001:db8:9::9 on node n2" in p for p in problems)


def test_plan_warns_about_a_keepalive_time_it_cannot_honour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, manifests = write(tmp_path)
    assert main(["plan", "-c", str(cfg), "-f", str(manifests)]) == 0
    assert "keepalive" not in capsys.readouterr().err
    cfg.write_text(CONFIG.replace("my-asn: 64513}", "my-asn: 64513, hold-time: 9s, keepalive-time: 1s}", 1))
    assert main(["plan", "-c", str(cfg), "-f", str(manifests)]) == 0  # a warning, not an error
    err = capsys.readouterr().err
    assert "warning: peers[0].keepalive-time: 1s is ignored" in err
    assert "(3s with hold-time 9s)" in err


@pytest.mark.parametrize("sample", ["bgp.yaml", "ecmp-clusterip.yaml", "dual-stack.yaml"])
def test_plan_table_on_bgp_samples_matches_golden(capsys: pytest.CaptureFixture[str], sample: str) -> None:
    """Its sample Services, Nodes and EndpointSlices give every node its peers, next hops and prefixes."""
    assert main(["plan", "-c", str(SAMPLES_DIR / sample)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "no Node objects known" not in captured.out
    for n in ("node1", "node2", "node3"):
        assert f"\n{n}  " in captured.out  # every lab node has BGP rows
    check_golden(GOLDEN / f"plan-{Path(sample).stem}.txt", captured.out)
