"""``ironlb convert`` end to end: exit codes, stdout/stderr, and the bundled MetalLB CRD sample set
converted losslessly, then run through ``ironlb validate`` and ``ironlb plan``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ironlb.cli.main import main
from ironlb.config import parse_config
from ironlb.config.render import render_config

from .helpers import bgp, l2, peer, pool, text

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "samples" / "metallb-crds"
SERVICES = ROOT / "config" / "samples" / "services"


def convert(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["convert", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_sample_converts_without_loss_and_validates_and_plans(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = convert(capsys, str(SAMPLE))
    assert (code, err) == (0, "")
    manifest = yaml.safe_load(out)
    assert (manifest["kind"], manifest["metadata"]) == (
        "ConfigMap",
        {"name": "ironlb", "namespace": "ironlb-system"},
    )
    config = parse_config(out)
    assert {p.name: p.protocol for p in config.pools} == {
        "default": "layer2",
        "public": "bgp",
        "reserved": "layer2",
    }
    assert len(config.pool("public").bgp_advertisements) == 2  # type: ignore[union-attr]
    assert [p.bfd_profile for p in config.peers] == ["fast"]
    assert config.l2.interfaces == ("eth1",)
    assert dict(config.bgp_communities)["lab-only"].value == "64512:100"

    cm = tmp_path / "ironlb.yaml"
    cm.write_text(out)
    assert main(["validate", str(cm)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["plan", "-c", str(cm), "-f", str(SERVICES), "-o", "json"]) == 0
    plan = {(s["namespace"], s["name"]): s for s in json.loads(capsys.readouterr().out)["services"]}
    assert (plan["shop", "web"]["pool"], plan["shop", "web"]["error"]) == ("default", None)
    assert plan["shop", "api"]["ips"] == ["172.30.0.220"]
    assert plan["ops", "grafana"]["pool"] == "reserved"


def test_output_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    first = convert(capsys, str(SAMPLE))
    files = sorted(SAMPLE.glob("*.yaml"), reverse=True)
    again = convert(capsys, *map(str, files))
    assert first == again


def test_bare_and_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    code, bare, _ = convert(capsys, "--bare", str(SAMPLE))
    assert code == 0 and "address-pools" in yaml.safe_load(bare)
    code, out, _ = convert(capsys, "-n", "lb", "--name", "cfg", str(SAMPLE))
    assert yaml.safe_load(out)["metadata"] == {"name": "cfg", "namespace": "lb"}
    assert render_config(parse_config(out)) == bare


def test_lossy_input_exits_1_without_output_unless_allowed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(text(pool("a", "10.0.0.0/24"), l2("l", nodeSelectors=[{"matchLabels": {"z": "a"}}])))
    code, out, err = convert(capsys, str(f))
    assert (code, out) == (1, "")
    assert f"lossy: {f}:doc#2 L2Advertisement/l: spec.nodeSelectors:" in err
    assert "--allow-lossy" in err.splitlines()[-1]
    code, out, err = convert(capsys, "--allow-lossy", str(f))
    assert code == 0 and parse_config(out).pools[0].name == "a"
    assert "lossy:" in err


def test_conflicting_protocols_need_prefer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(text(pool("a", "10.0.0.0/24"), l2("l"), bgp("b")))
    code, out, err = convert(capsys, str(f))
    assert (code, out) == (1, "") and "error:" in err and "--prefer" in err
    code, out, err = convert(capsys, "--prefer", "bgp", str(f))
    assert code == 0 and parse_config(out).pools[0].protocol == "bgp" and "warning:" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = convert(capsys, str(tmp_path / "missing.yaml"))
    assert (code, out) == (2, "") and "missing.yaml: no such file or directory" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = convert(capsys, str(empty))
    assert code == 2 and "no manifest files" in err
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = convert(capsys, str(bad))
    assert code == 2 and "cannot read" in err
    with pytest.raises(SystemExit) as exc:
        main(["convert", "--prefer", "l3", str(SAMPLE)])
    assert exc.value.code == 2


def test_invalid_yaml_and_no_metallb_objects_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [\n")
    code, out, err = convert(capsys, str(bad))
    assert (code, out) == (1, "") and f"error: {bad}:2: not valid YAML" in err
    other = tmp_path / "other.yaml"
    other.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    code, out, err = convert(capsys, str(other))
    assert code == 1 and "no MetalLB configuration found" in err and "note:" in err


def test_password_secret_peer_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(text(peer("r", passwordSecret={"name": "s"})))
    code, _, err = convert(capsys, str(f))
    assert code == 1 and "spec.passwordSecret" in err and "ironlb-bgp-passwords" in err
