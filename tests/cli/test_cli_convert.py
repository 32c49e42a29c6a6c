"""``ironlb convert`` writes ironlb.io resources by default: from MetalLB's CRDs (0.13+) and from a legacy
ConfigMap, nothing the resources can say reported as lost; ``--to configmap`` keeps the ConfigMap output
(tests/metallb/test_cli.py) and reports, by resource and field, what the ConfigMap cannot say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ironlb.cli.main import main
from ironlb.config import parse_config
from ironlb.config.load import load_config

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "config" / "samples"
NS = "ironlb-system"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def objects(text: str) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(text) if d]


def test_metallb_sample_becomes_resources_that_validate_and_plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "convert", str(SAMPLES / "metallb-crds"))
    assert (code, err) == (0, "")
    objs = objects(out)
    assert {o["apiVersion"] for o in objs} == {"ironlb.io/v1beta1"}
    assert {o["metadata"]["namespace"] for o in objs} == {NS}  # type: ignore[index]
    kinds = [o["kind"] for o in objs]
    assert kinds.count("IPAddressPool") == 3 and kinds.count("BGPAdvertisement") == 2
    config = load_config(None, objs).config
    assert config is not None
    assert [a.name for a in config.l2_advertisements_for("default")] == ["lab-segment"]
    f = tmp_path / "res.yaml"
    f.write_text(out)
    assert run(capsys, "validate", str(f))[0] == 0
    code, plan, err = run(
        capsys, "plan", "-c", str(f), "-f", str(SAMPLES / "services" / "layer2"), "-o", "json"
    )
    assert code == 0, err
    assert {s["name"]: s["pool"] for s in json.loads(plan)["services"]}["grafana"] == "reserved"


def test_what_the_configmap_cannot_say_survives_as_resources(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Node selectors, both protocols on one pool, a password Secret: lossy or an error for the ConfigMap,
    carried whole by the resources."""
    f = tmp_path / "m.yaml"
    f.write_text(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a, namespace: m}\n"
        "spec: {addresses: [10.0.0.0/24], serviceAllocation: {namespaces: [shop]}}\n---\n"
        "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l, namespace: m}\n"
        "spec: {nodeSelectors: [{matchLabels: {rack: r1}}], interfaces: [eth1]}\n---\n"
        "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: b, namespace: m}\n"
        "spec: {peers: [r]}\n---\n"
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r, namespace: m}\n"
        "spec: {myASN: 64513, peerASN: 64512, peerAddress: 172.30.0.1, passwordSecret: {name: s}}\n"
    )
    code, _, err = run(capsys, "convert", "--to", "configmap", str(f))
    assert code == 1 and "error:" in err
    code, out, err = run(capsys, "convert", str(f))
    assert code == 0
    assert err.splitlines() == [
        f"note: {f}:doc#4 BGPPeer/r: spec.passwordSecret: ironlb reads the Secret s (key 'password') "
        "from its own namespace, not from metallb-system: copy it there"
    ]
    config = load_config(None, objects(out)).config
    assert config is not None
    (l2,) = config.l2_advertisements
    assert (l2.interfaces, l2.node_selectors[0].match_labels) == (("eth1",), (("rack", "r1"),))
    assert [(a.name, a.peers) for a in config.bgp_advertisements] == [("b", ("r",))]
    assert config.peers[0].password_secret is not None and config.peers[0].password_secret.name == "s"
    assert config.pools[0].allocation is not None and config.pools[0].allocation.namespaces == ("shop",)


@pytest.mark.parametrize("sample", ["layer2", "bgp", "ecmp-clusterip", "dual-stack", "metallb-legacy"])
def test_a_legacy_configmap_becomes_resources_with_the_same_config(
    capsys: pytest.CaptureFixture[str], sample: str
) -> None:
    path = SAMPLES / f"{sample}.yaml"
    code, out, err = run(capsys, "convert", str(path))
    assert code == 0, err
    assert all(line.startswith("note: ") for line in err.splitlines()), err  # renames only
    config = parse_config(path.read_text())
    back = load_config(None, objects(out)).config
    assert back is not None
    assert {p.name: p for p in back.pools} == {p.name: p for p in config.pools}
    assert len(back.peers) == len(config.peers)
    assert sorted(a.name for a in back.bgp_advertisements) == sorted(
        a.name for a in config.bgp_advertisements
    )
    # and back to the ConfigMap: the same config (the ConfigMap says all a ConfigMap said)
    code, cm, err = run(capsys, "convert", "--to", "configmap", str(path))
    assert (code, err) == (0, "") and parse_config(cm) == config


def test_resources_to_configmap_name_what_is_lost_by_resource_and_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "convert", "--to", "configmap", str(SAMPLES / "resources"))
    assert (code, out) == (1, "")
    assert "lossy: L2Advertisement/frontend: spec.nodeSelectors: " in err
    assert "lossy: IPAddressPool/shop: spec.serviceAllocation.namespaces: " in err
    assert "lossy: BGPPeer/lab-router: spec.passwordSecret: " in err
    assert "--allow-lossy" in err.splitlines()[-1]
    code, out, _ = run(capsys, "convert", "--to", "configmap", "--allow-lossy", str(SAMPLES / "resources"))
    assert code == 0 and {p.name for p in parse_config(out).pools} == {
        "routed",
        "shop",
        "internal",
        "reserved",
    }


def test_resources_in_resources_out_is_the_same_config(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "convert", str(SAMPLES / "resources"))
    assert (code, err) == (0, "")
    sample = [d for p in sorted((SAMPLES / "resources").glob("*.yaml")) for d in objects(p.read_text())]
    assert load_config(None, objects(out)).config == load_config(None, sample).config


def test_invalid_legacy_configmap_and_usage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/33]}]\n")
    code, out, err = run(capsys, "convert", str(bad))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {bad}: address-pools[0].addresses[0]: '10.0.0.0/33' is not a valid CIDR or address range",
        "ironlb convert: 1 error(s); nothing written",
    ]
    code, out, err = run(capsys, "convert", "--prefer", "bgp", str(SAMPLES / "metallb-crds"))
    assert (code, out) == (2, "") and "--prefer goes with --to configmap" in err
    code, out, err = run(capsys, "convert", "--bare", str(SAMPLES / "metallb-crds"))
    assert (code, out) == (2, "") and "--bare goes with --to configmap" in err
    code, out, err = run(capsys, "convert", str(SAMPLES / "metallb-crds"), str(SAMPLES / "resources"))
    assert (code, out) == (1, "") and "mixes MetalLB resources" in err
