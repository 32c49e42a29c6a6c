"""``ironlb convert --to configmap`` end to end (the ConfigMap output as before ironlb.io resources became
the default; tests/cli/test_cli_convert.py has the default): exit codes, stdout/stderr, and the bundled
MetalLB CRD sample set converted losslessly, then run through ``ironlb validate`` and ``ironlb plan``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ironlb.cli.main import main
from ironlb.config import parse_config
from ironlb.config.render import render_config
from tests.metallb.helpers import address_pool, bgp, interfaces, l2, peer, pool, protocols, text

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "samples" / "metallb-crds"
SERVICES = ROOT / "config" / "samples" / "services" / "layer2"  # the layer-2 sample's Services fit it too


def convert(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["convert", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_sample_converts_without_loss_and_validates_and_plans(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = convert(capsys, "--to", "configmap", str(SAMPLE))
    assert (code, err) == (0, "")
    manifest = yaml.safe_load(out)
    assert (manifest["kind"], manifest["metadata"]) == (
        "ConfigMap",
        {"name": "ironlb", "namespace": "ironlb-system"},
    )
    config = parse_config(out)
    assert protocols(config) == {"default": "layer2", "public": "bgp", "reserved": "layer2"}
    assert len(config.bgp_advertisements_for("public")) == 2
    assert [p.bfd_profile for p in config.peers] == ["fast"]
    assert interfaces(config) == ("eth1",)
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


def convert_stdin(data: bytes, *argv: str) -> tuple[int, str, str]:
    """The real command in a child process, ``data`` on its standard input through a pipe."""
    done = subprocess.run(
        [sys.executable, "-m", "ironlb", "convert", *argv],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


# What `kubectl get ipaddresspools,l2advertisements,addresspools -A -o yaml` prints (server fields and
# all), followed by a typed list as the API itself returns it.
KUBECTL_LIST = """\
apiVersion: v1
items:
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"metallb.io/v1beta1","kind":"IPAddressPool"}
    creationTimestamp: "2026-11-02T09:14:07Z"
    generation: 1
    name: default
    namespace: metallb-system
    resourceVersion: "81723"
    uid: 5b0f2c1e-8a61-4f0e-9d53-0c1d2e3f4a5b
  spec:
    addresses:
    - 172.30.0.0/24
    autoAssign: true
    avoidBuggyIPs: false
  status: {}
- apiVersion: metallb.io/v1beta1
  kind: L2Advertisement
  metadata:
    creationTimestamp: "2026-11-02T09:14:07Z"
    generation: 1
    name: l2
    namespace: metallb-system
    resourceVersion: "81724"
    uid: 6c1f3d2f-9b72-4a1f-8e64-1d2e3f4a5b6c
  spec:
    ipAddressPools:
    - default
- apiVersion: metallb.io/v1beta1
  kind: AddressPool
  metadata:
    creationTimestamp: "2021-06-01T10:00:00Z"
    generation: 3
    name: legacy
    namespace: metallb-system
    resourceVersion: "1234"
    uid: 7d2a4e3a-ac83-4b2a-9f75-2e3f4a5b6c7d
  spec:
    addresses:
    - 198.51.100.0/24
    autoAssign: false
    avoidBuggyIPs: true
    bgpAdvertisements:
    - aggregationLength: 32
      aggregationLengthV6: 128
      communities:
      - 64512:7
      localPref: 150
    protocol: bgp
  status: {}
kind: List
metadata:
  resourceVersion: ""
---
apiVersion: metallb.io/v1beta2
kind: BGPPeerList
metadata:
  resourceVersion: "81800"
items:
- apiVersion: metallb.io/v1beta2
  kind: BGPPeer
  metadata: {name: tor, namespace: metallb-system}
  spec: {myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1}
"""


def test_kubectl_list_on_stdin_converts() -> None:
    code, out, err = convert_stdin(KUBECTL_LIST.encode(), "--to", "configmap", "--bare", "-")
    assert code == 0, err
    assert err.splitlines() == [
        "warning: <stdin>:doc#1.items[2] AddressPool/legacy: AddressPool is deprecated in MetalLB "
        "(replaced there by IPAddressPool plus L2Advertisement or BGPAdvertisement); converted one to one "
        "into an ironlb address pool"
    ]
    config = parse_config(out)
    assert [(p.name, p.auto_assign, p.avoid_buggy_ips) for p in config.pools] == [
        ("default", True, False),
        ("legacy", False, True),
    ]
    assert protocols(config) == {"default": "layer2", "legacy": "bgp"}
    (ad,) = config.bgp_advertisements_for("legacy")
    assert (ad.localpref, [c.value for c in ad.communities]) == (150, ["64512:7"])
    assert [str(p.peer_address) for p in config.peers] == ["192.0.2.1"]


def test_stdin_with_files_names_each_source(tmp_path: Path) -> None:
    f = tmp_path / "old.yaml"
    f.write_text(text(address_pool("x", "layer2", "10.0.1.0/24")))
    code, out, err = convert_stdin(text(pool("x", "10.0.0.0/24"), l2("l")).encode(), "-", str(f))
    assert (code, out) == (1, "")
    assert (
        f"error: {f}:doc#1 AddressPool/x: metadata.name: pool name 'x' is also used by "
        "<stdin>:doc#1 IPAddressPool/x" in err
    )
    code, out, err = convert_stdin(b"\xff\xfe\x00garbage", "-")
    assert (code, out) == (1, "") and "standard input is not a text file" in err  # wrong input, not usage


def test_stdin_only_once(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = convert(capsys, "-", str(SAMPLE), "-")
    assert (code, out) == (2, "") and "'-' (standard input) can be given only once" in err


def test_output_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    first = convert(capsys, str(SAMPLE))
    files = sorted(SAMPLE.glob("*.yaml"), reverse=True)
    again = convert(capsys, *map(str, files))
    assert first == again


def test_bare_and_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    code, bare, _ = convert(capsys, "--to", "configmap", "--bare", str(SAMPLE))
    assert code == 0 and "address-pools" in yaml.safe_load(bare)
    code, out, _ = convert(capsys, "--to", "configmap", "-n", "lb", "--name", "cfg", str(SAMPLE))
    assert yaml.safe_load(out)["metadata"] == {"name": "cfg", "namespace": "lb"}
    assert render_config(parse_config(out)) == bare


def test_lossy_input_exits_1_without_output_unless_allowed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(text(pool("a", "10.0.0.0/24"), l2("l", nodeSelectors=[{"matchLabels": {"z": "a"}}])))
    code, out, err = convert(capsys, "--to", "configmap", str(f))
    assert (code, out) == (1, "")
    assert f"lossy: {f}:doc#2 L2Advertisement/l: spec.nodeSelectors:" in err
    assert "--allow-lossy" in err.splitlines()[-1]
    code, out, err = convert(capsys, "--to", "configmap", "--allow-lossy", str(f))
    assert code == 0 and parse_config(out).pools[0].name == "a"
    assert "lossy:" in err


def test_conflicting_protocols_need_prefer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(text(pool("a", "10.0.0.0/24"), l2("l"), bgp("b")))
    code, out, err = convert(capsys, "--to", "configmap", str(f))
    assert (code, out) == (1, "") and "error:" in err and "--prefer" in err
    code, out, err = convert(capsys, "--to", "configmap", "--prefer", "bgp", str(f))
    assert code == 0 and protocols(parse_config(out)) == {"a": "bgp"} and "warning:" in err


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
    assert code == 1 and "bad.yaml is not a text file" in err  # wrong input (exit 1), not usage
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
    code, _, err = convert(capsys, "--to", "configmap", str(f))
    assert code == 1 and "spec.passwordSecret" in err and "ironlb-bgp-passwords" in err
