"""``ironlb plan`` shows, per node and peer, the prefixes each node would announce with their attributes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bgp_objects import dump, node, service

from ironlb.cli.main import main
from tests.objects import endpoint_slice

CONFIG = """
peers:
- {peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513}
- peer-address: 172.30.0.2
  peer-asn: 64513
  my-asn: 64513
  node-selectors: [{match-labels: {kubernetes.io/hostname: n2}}]
address-pools:
- name: pub
  protocol: bgp
  addresses: [198.51.100.0/24]
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
    web = service("web", etp="Local", annotations={"ironlb.io/loadBalancerIPs": "198.51.100.9"})
    (manifests / "all.yaml").write_text(
        dump([node("n1", "172.30.0.11"), node("n2", "172.30.0.12"), web, endpoint_slice("web", ["n2"])])
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
    assert set(by_node["n1"]) == {"172.30.0.1"}
    assert [r["prefix"] for r in by_node["n1"]["172.30.0.1"]] == ["10.96.0.0/16"]  # no local endpoint on n1
    n2_ibgp = {r["prefix"]: r for r in by_node["n2"]["172.30.0.2"]}
    assert n2_ibgp["198.51.100.9/32"]["communities"] == ["65535:65281"]
    assert n2_ibgp["198.51.100.9/32"]["localpref"] == 120
    n2_ebgp = {r["prefix"]: r for r in by_node["n2"]["172.30.0.1"]}
    assert n2_ebgp["198.51.100.9/32"]["localpref"] is None


def test_plan_table_has_bgp_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, manifests = write(tmp_path)
    assert main(["plan", "-c", str(cfg), "-f", str(manifests)]) == 0
    out = capsys.readouterr().out
    assert "BGP-NODE" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("n2 ")]
    assert ["n2", "172.30.0.2", "198.51.100.9/32", "communities=65535:65281", "localpref=120"] in rows
