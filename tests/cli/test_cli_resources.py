"""``ironlb validate`` and ``ironlb plan`` on ironlb.io resources: files, directories, ``-f``, a ConfigMap
mixed with resources, with every message naming its object and field, and the plan naming which
advertisement announces which pool (and the pools nobody announces)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from ironlb.cli.main import main
from ironlb.config.legacy import legacy_config
from ironlb.config.load import load_config

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "config" / "samples"
NODES = SAMPLES / "services" / "nodes.yaml"
NS = "ironlb-system"


def obj(kind: str, name: str, spec: str = "{}", *, ns: str = NS, labels: str = "") -> str:
    meta = f"{{namespace: {ns}, name: {name}{', labels: ' + labels if labels else ''}}}"
    return f"apiVersion: ironlb.io/v1beta1\nkind: {kind}\nmetadata: {meta}\nspec: {spec}\n"


def docs(*parts: str) -> str:
    return "---\n".join(parts)


POOL_A = obj("IPAddressPool", "a", "{addresses: [172.30.0.200/29]}", labels="{tier: a}")
POOL_B = obj("IPAddressPool", "b", "{addresses: [172.30.0.208/29]}", labels="{tier: b}")
L2_ALL = obj("L2Advertisement", "everything")
CONFIGMAP = textwrap.dedent(
    """\
    apiVersion: v1
    kind: ConfigMap
    metadata: {namespace: ironlb-system, name: ironlb}
    data:
      config: |
        address-pools:
        - {name: legacy, protocol: layer2, addresses: [172.30.0.240/29]}
    """
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("files", "code", "expected"),
    [
        pytest.param({"r.yaml": docs(POOL_A, L2_ALL)}, 0, ["address pools: 1 (1 layer2)"], id="one-file"),
        pytest.param(
            {"d/pools.yaml": docs(POOL_A, POOL_B), "d/ads/l2.yaml": L2_ALL},
            0,
            ["address pools: 2 (2 layer2)"],
            id="directory",
        ),
        pytest.param(
            {"cm.yaml": CONFIGMAP, "r.yaml": docs(POOL_A, L2_ALL)},
            0,
            ["address pools: 2 (2 layer2)", "  legacy: layer2"],
            id="configmap-beside-resources",
        ),
        pytest.param(
            {"all.yaml": docs(CONFIGMAP, POOL_A, L2_ALL)},
            0,
            ["address pools: 2 (2 layer2)"],
            id="configmap-and-resources-in-one-file",
        ),
        pytest.param(
            {"r.yaml": obj("IPAddressPool", "a", "{addresses: [10.0.0.0/33]}")},
            1,
            [
                f"IPAddressPool {NS}/a: spec.addresses[0]: '10.0.0.0/33' is not a valid CIDR or address "
                "range",
                "invalid (1 error)",
            ],
            id="bad-address",
        ),
        pytest.param(
            {"cm.yaml": CONFIGMAP, "r.yaml": obj("IPAddressPool", "legacy", "{addresses: [10.9.0.0/24]}")},
            1,
            [f"IPAddressPool {NS}/legacy: metadata.name: ", "invalid (1 error)"],
            id="name-in-configmap-and-resource",
        ),
        pytest.param(
            {
                "cm.yaml": CONFIGMAP.replace("172.30.0.240/29", "172.30.0.240/33"),
                "r.yaml": docs(POOL_A),
            },
            1,
            [f"ConfigMap {NS}/ironlb: address-pools[0].addresses[0]: '172.30.0.240/33'"],
            id="configmap-error-named-beside-resources",
        ),
        pytest.param(
            {"r.yaml": obj("IPAddressPool", "a", "{addresses: [10.0.0.0/24]}", ns="default")},
            1,
            ["IPAddressPool default/a: metadata.namespace: 'default' is not ironlb's namespace"],
            id="wrong-namespace",
        ),
        pytest.param(
            {"r.yaml": docs(POOL_A, obj("BGPAdvertisement", "x", "{peers: [nope]}"))},
            1,
            [f"BGPAdvertisement {NS}/x: spec.peers[0]: no peer 'nope'"],
            id="unknown-peer",
        ),
        pytest.param(
            {"a.yaml": CONFIGMAP, "b.yaml": CONFIGMAP},
            1,
            ["ironlb validate: more than one ironlb config (ConfigMap or bare config) in "],
            id="two-configmaps",
        ),
        pytest.param(
            {"s.yaml": obj("ServiceL2Status", "x")},
            1,
            ["it holds ironlb status objects (ServiceL2Status): the speakers and the controller write them"],
            id="status-objects-only",
        ),
    ],
)
def test_validate_table(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    code: int,
    expected: list[str],
) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    paths = sorted({str(tmp_path / Path(name).parts[0]) for name in files})
    got, out, err = run(capsys, "validate", *paths)
    assert got == code, err
    text = out if code == 0 else err
    for line in expected:
        assert line in text, text
    if code == 0:
        assert out.startswith(f"{', '.join(paths)}: valid\n")
    else:
        assert out == ""


def test_validate_takes_f_repeated_and_positional_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write(tmp_path / "a.yaml", docs(POOL_A, L2_ALL))
    b = write(tmp_path / "cm.yaml", CONFIGMAP)
    positional = run(capsys, "validate", a, b)
    assert positional[0] == 0
    assert run(capsys, "validate", "-f", a, "-f", b) == positional
    assert run(capsys, "validate", a, "-f", b) == positional


def test_validate_ignores_other_objects_beside_config_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = "apiVersion: v1\nkind: Service\nmetadata: {namespace: x, name: s}\n"
    f = write(tmp_path / "mixed.yaml", docs(POOL_A, L2_ALL, service))
    code, out, err = run(capsys, "validate", f)
    assert code == 0 and "valid" in out
    assert err == f"warning: {f}: ignored Service (not ironlb configuration)\n"


def test_validate_namespace_flag_and_empty_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write(tmp_path / "r.yaml", obj("IPAddressPool", "a", "{addresses: [10.0.0.0/24]}", ns="lb"))
    assert run(capsys, "validate", f)[0] == 1
    assert run(capsys, "validate", "-n", "lb", f)[0] == 0
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "validate", str(tmp_path / "empty"))
    assert code == 2 and "no manifest files" in err


def test_validate_warns_about_an_advertisement_selecting_no_pool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ad = obj("L2Advertisement", "none", "{ipAddressPoolSelectors: [{matchLabels: {tier: c}}]}")
    f = write(tmp_path / "r.yaml", docs(POOL_A, ad))
    code, out, err = run(capsys, "validate", f)
    assert code == 0
    assert f"warning: L2Advertisement {NS}/none: spec: selects no pool" in err
    assert "  a: not announced" in out  # the ad applies to no pool, not to every pool


# --- plan ----------------------------------------------------------------------------------------

SERVICE = textwrap.dedent(
    """\
    apiVersion: v1
    kind: Service
    metadata: {namespace: shop, name: web}
    spec:
      type: LoadBalancer
      ports: [{port: 80, protocol: TCP}]
    """
)


def plan_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object], str]:
    code, out, err = run(capsys, "plan", *argv, "-o", "json")
    return code, (json.loads(out) if out else {}), err


def test_plan_reads_resources_from_the_manifests_and_names_the_advertisements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    only_b = obj(
        "L2Advertisement",
        "front",
        "{ipAddressPoolSelectors: [{matchLabels: {tier: b}}],"
        " nodeSelectors: [{matchLabels: {rack: frontend}}], interfaces: [eth1]}",
    )
    write(tmp_path / "m" / "config.yaml", docs(POOL_A, POOL_B, only_b))
    write(tmp_path / "m" / "svc.yaml", SERVICE)
    code, plan, err = plan_json(capsys, "-f", str(NODES), str(tmp_path / "m"))
    assert code == 0, err
    assert plan["advertisements"] == [
        {
            "kind": "L2Advertisement",
            "name": "front",
            "pools": ["b"],
            "nodes": ["node1", "node2"],
            "interfaces": ["eth1"],
        }
    ]
    assert plan["unannounced_pools"] == [
        {
            "pool": "a",
            "reason": "no L2Advertisement or BGPAdvertisement selects it: its IPs are assigned but "
            "announced by nobody",
        }
    ]
    code, out, _ = run(capsys, "plan", "-f", str(NODES), str(tmp_path / "m"))
    assert code == 0
    assert "L2Advertisement/front  b          node1,node2  interfaces eth1" in out
    assert "Pools not announced:\n  a: no L2Advertisement or BGPAdvertisement selects it" in out


def test_plan_config_from_c_mixes_configmap_and_resources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cm = write(tmp_path / "cm.yaml", CONFIGMAP)
    res = write(
        tmp_path / "r.yaml",
        docs(
            obj(
                "IPAddressPool",
                "a",
                "{addresses: [172.30.0.200/29], serviceAllocation: {priority: 1, namespaces: [shop]}}",
            ),
            L2_ALL,
        ),
    )
    svc = write(tmp_path / "svc" / "svc.yaml", SERVICE)
    code, plan, err = plan_json(capsys, "-c", cm, res, "-f", str(NODES), svc)
    assert code == 0, err
    assert [(s["name"], s["pool"]) for s in plan["services"]] == [("web", "a")]  # type: ignore[attr-defined,index]
    assert [a["name"] for a in plan["advertisements"]] == ["legacy", "everything"]  # type: ignore[attr-defined,index]
    # config objects among -f are ignored when -c gives the config, and the plan says so
    code, _, err = run(capsys, "plan", "-c", cm, res, "-f", str(NODES), svc, res)
    assert code == 0 and "ignored: the config is -c's" in err


def test_plan_of_invalid_resources_exits_1_naming_object_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path / "r.yaml", obj("IPAddressPool", "a", "{addresses: [nope]}"))
    code, out, err = run(capsys, "plan", "-c", bad, "-f", str(NODES))
    assert (code, out) == (1, "")
    assert err.startswith(f"IPAddressPool {NS}/a: spec.addresses[0]: ")
    code, out, err = run(capsys, "plan", "-f", str(NODES), bad)
    assert (code, out) == (1, "") and f"IPAddressPool {NS}/a: spec.addresses[0]" in err


def test_a_configmap_without_the_key_beside_resources_is_not_ironlbs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manifest directory often holds other ConfigMaps: beside resources they are ignored, named; alone,
    the missing key stays an error (as it always was)."""
    other = write(
        tmp_path / "d" / "ca.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ca}\ndata: {ca: x}\n"
    )
    write(tmp_path / "d" / "r.yaml", docs(POOL_A, L2_ALL))
    code, _, err = run(capsys, "validate", str(tmp_path / "d"))
    assert code == 0
    assert err == f"warning: {other}: ignored ConfigMap without data.config (not ironlb's)\n"
    code, _, err = run(capsys, "validate", other)
    assert code == 1 and "data.config: missing" in err


def test_plan_of_resources_names_the_advertisements_even_when_a_configmap_could_say_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ad = obj("L2Advertisement", "lab-segment", "{ipAddressPools: [a]}")
    res = write(tmp_path / "m" / "r.yaml", docs(POOL_A, ad))
    svc = write(tmp_path / "m" / "svc.yaml", SERVICE)
    config = load_config(None, [d for d in yaml.safe_load_all(Path(res).read_text()) if d]).config
    assert config is not None and legacy_config(config).exact  # a ConfigMap could say it: plain plan for it
    code, out, _ = run(capsys, "plan", "-c", res, "-f", str(NODES), svc)
    assert code == 0
    assert "L2Advertisement/lab-segment  a" in out and "ADVERTISEMENTS" in out
    code, out, _ = run(capsys, "plan", "-f", str(NODES), str(tmp_path / "m"))
    assert code == 0 and "L2Advertisement/lab-segment  a" in out
