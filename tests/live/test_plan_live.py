"""``ironlb plan --kubeconfig`` on the real API server: the difference, its exit status, and the
controller doing what the plan said."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.live.conftest import REPO, Live

MAIN = {"name": "main", "protocol": "layer2", "addresses": ["10.210.0.0/29"]}


def _config(*pools: dict[str, Any]) -> dict[str, Any]:
    return {"address-pools": list(pools)}


def _changes(doc: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    return {s["name"]: (s["change"], s["ips_after"]) for s in doc["services"]}


def test_a_shrunk_pool_names_exactly_the_services_that_lose_their_ips_and_the_controller_agrees(
    live: Live,
) -> None:
    live.add_nodes(2)
    live.set_config(_config(MAIN))
    names = ["a", "b", "c", "d", "e", "f"]
    for name in names:
        live.service(name)
    ctl = live.controller()
    live.settled(ctl, lambda ips: all(ips.get(n) for n in names))
    before = live.ips()
    assert sorted(ip for ips in before.values() for ip in ips) == [f"10.210.0.{i}" for i in range(6)]

    # main keeps .0-.3: the two Services above it must move; one free IP in a new pool, so the
    # first (by name) gets it and the other loses its IP.
    shrunk = _config(
        {**MAIN, "addresses": ["10.210.0.0/30"]},
        {"name": "spare", "protocol": "layer2", "addresses": ["10.211.0.7/32"]},
    )
    proposed = live.write("shrunk.yaml", shrunk)
    run = live.ironlb("plan", "-c", str(proposed), "-o", "json")
    assert run.code == 3, run.stderr
    doc = run.json()
    outside = sorted(n for n, ips in before.items() if ips[0] not in {f"10.210.0.{i}" for i in range(4)})
    first, second = outside
    assert _changes(doc) == {first: ("change", ["10.211.0.7"]), second: ("lose", [])}
    rules = {s["name"]: s["rule"] for s in doc["services"]}
    assert before[first][0] in rules[first] and "not in any pool" in rules[first]
    assert "no available IPs" in rules[second]

    table = live.ironlb("plan", "-c", str(proposed))
    assert table.code == 3
    assert f"{live.ns}  {first}" in table.stdout and "changes IP" in table.stdout
    assert "loses IP" in table.stdout and "2 running Services disturbed" in table.stdout

    live.set_config(shrunk)  # apply it: the controller does what the plan said
    expected = {**before, first: ("10.211.0.7",), second: ()}
    live.settled(ctl, lambda ips: ips == expected)
    assert live.ironlb("plan").code == 0  # the config in force against what runs: nothing left


def test_a_new_pool_exits_0_when_nothing_changes_and_1_when_a_waiting_service_gets_an_ip(
    live: Live,
) -> None:
    live.add_nodes(1)
    tiny = {**MAIN, "addresses": ["10.210.0.0/31"]}
    live.set_config(_config(tiny))
    for name in ("a", "b"):
        live.service(name)
    ctl = live.controller()
    live.settled(ctl, lambda ips: all(ips.get(n) for n in ("a", "b")))
    extra = {"name": "extra", "protocol": "layer2", "addresses": ["10.212.0.0/30"]}
    grown = live.write("grown.yaml", _config(tiny, extra))
    same = live.ironlb("plan", "-c", str(grown), "-o", "json")
    assert same.code == 0, same.stderr
    assert same.json()["changed"] is False and same.json()["services"] == []

    live.service("waiting")
    live.settled(ctl, lambda ips: "waiting" in ips and not ips["waiting"])
    gain = live.ironlb("plan", "-c", str(grown), "-o", "json")
    assert gain.code == 1, gain.stderr
    assert _changes(gain.json()) == {"waiting": ("gain", ["10.212.0.0"])}
    assert [(r["owner_now"], r["ip"]) for r in gain.json()["layer2"]] == [(None, "10.212.0.0")]


def test_the_proposed_config_can_come_as_a_configmap_in_files_or_on_stdin(live: Live) -> None:
    live.add_nodes(1)
    live.set_config(_config(MAIN))
    live.service("a", loadBalancerIP="10.210.0.5")
    ctl = live.controller()
    live.settled(ctl, lambda ips: ips.get("a") == ("10.210.0.5",))
    moved = {**MAIN, "addresses": ["10.213.0.0/29"]}
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ironlb", "namespace": live.ns},
        "data": {
            "config": f"address-pools: [{{name: main, protocol: layer2, addresses: {moved['addresses']}}}]"
        },
    }
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}
    path = live.tmp / "install.yaml"
    path.write_text(yaml.safe_dump_all([other, cm]))
    run = live.ironlb("plan", "-f", str(path), "-o", "json")
    assert run.code == 3, run.stderr
    (change,) = run.json()["services"]
    assert (
        change["change"] == "lose" and "10.210.0.5" in change["rule"] and "not in any pool" in change["rule"]
    )
    piped = live.ironlb("plan", "-f", "-", "-o", "json", stdin=yaml.safe_dump(cm))
    assert piped.code == 3 and piped.json()["services"] == run.json()["services"]


def test_an_invalid_proposed_config_exits_2_with_every_error_and_a_file_plan_still_says_1(live: Live) -> None:
    live.set_config(_config(MAIN))
    bad = live.write("bad.yaml", _config({**MAIN, "addresses": ["10.0.0.0/33", "nonsense"]}))
    run = live.ironlb("plan", "-c", str(bad))
    assert run.code == 2
    assert "address-pools[0].addresses[0]" in run.stderr and "address-pools[0].addresses[1]" in run.stderr
    assert run.stdout == ""
    nodes = live.write("nodes.yaml", {"apiVersion": "v1", "kind": "List", "items": []})
    files = subprocess.run(
        [sys.executable, "-m", "ironlb", "plan", "-c", str(bad), "-f", str(nodes)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert files.returncode == 1 and "address-pools[0].addresses[0]" in files.stderr


def test_an_invalid_config_in_force_exits_2_naming_it(live: Live) -> None:
    live.set_config("address-pools: [{name: x, protocol: layer2, addresses: [not-an-ip]}]")
    run = live.ironlb("plan", "-c", str(live.write("ok.yaml", _config(MAIN))))
    assert run.code == 2
    assert "the config in force in the cluster is invalid" in run.stderr
    assert f"ConfigMap {live.ns}/ironlb: address-pools[0].addresses[0]" in run.stderr


def test_no_configmap_in_the_cluster_plans_the_first_install(live: Live) -> None:
    live.add_nodes(1)
    live.service("a")
    run = live.ironlb("plan", "-c", str(live.write("first.yaml", _config(MAIN))), "-o", "json")
    assert run.code == 1, run.stderr
    assert "nothing is configured now" in run.stderr
    assert _changes(run.json()) == {"a": ("gain", ["10.210.0.0"])}


def test_access_errors_exit_2_in_one_sentence_naming_what_to_grant(live: Live) -> None:
    kubeconfig = live.kube.kubeconfig("nobody", cluster_role=None)
    forbidden = live.ironlb("plan", kubeconfig=kubeconfig)
    assert forbidden.code == 2
    assert "403 Forbidden" in forbidden.stderr and "may not " in forbidden.stderr
    assert "ironlb-viewer" in forbidden.stderr
    assert len(forbidden.stderr.strip().splitlines()) == 1, forbidden.stderr

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens once closed
    text = live.admin_kubeconfig.read_text().replace(f":{live.kube.cp.port}", f":{port}")
    (live.tmp / "gone").write_text(text)
    gone = live.ironlb("plan", kubeconfig=live.tmp / "gone")
    assert gone.code == 2
    assert f"cannot reach the Kubernetes API server https://127.0.0.1:{port}" in gone.stderr
    usage = live.ironlb("plan", "--output", "yaml")
    assert usage.code == 2


def _resources(ns: str, name: str, addresses: list[str]) -> list[dict[str, Any]]:
    meta = {"name": name, "namespace": ns}
    return [
        {
            "apiVersion": "ironlb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": meta,
            "spec": {"addresses": addresses},
        },
        {
            "apiVersion": "ironlb.io/v1beta1",
            "kind": "L2Advertisement",
            "metadata": meta,
            "spec": {"ipAddressPools": [name]},
        },
    ]


def test_the_config_in_force_includes_the_ironlb_io_resources_and_a_proposal_may_be_resources(
    live: Live,
) -> None:
    from kubernetes import client

    live.add_nodes(1)
    live.set_config(_config(MAIN))
    for name in ("a", "b"):
        live.service(name)
    ctl = live.controller()
    live.settled(ctl, lambda ips: bool(ips.get("a") and ips.get("b")))
    live.stop_controllers()
    # In force: the ConfigMap and a pool given as resources (load_config merges them), which
    # Service c's IP comes from (its status written here, as a controller reading both would).
    custom = client.CustomObjectsApi(live.kube.api)
    for obj in _resources(live.ns, "extra", ["10.214.0.0/30"]):
        plural = {"IPAddressPool": "ipaddresspools", "L2Advertisement": "l2advertisements"}[obj["kind"]]
        custom.create_namespaced_custom_object("ironlb.io", "v1beta1", live.ns, plural, obj)
    live.service("c")
    status = {"status": {"loadBalancer": {"ingress": [{"ip": "10.214.0.1"}]}}}
    live.kube.core.patch_namespaced_service_status("c", live.ns, status)
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ironlb", "namespace": live.ns},
        "data": {"config": yaml.safe_dump(_config(MAIN))},
    }
    # The same config as resources and ConfigMap: no change (c's IP is announced now already,
    # which it would not be if the config in force were the ConfigMap alone).
    same = live.tmp / "same.yaml"
    same.write_text(yaml.safe_dump_all([cm, *_resources(live.ns, "extra", ["10.214.0.0/30"])]))
    run = live.ironlb("plan", "-f", str(same), "-o", "json")
    assert run.code == 0, (run.stderr, run.stdout)
    # The same again as a bare config (-c) with the resources (-f): read together as well.
    extra = live.tmp / "extra.yaml"
    extra.write_text(yaml.safe_dump_all(_resources(live.ns, "extra", ["10.214.0.0/30"])))
    bare_and_resources = live.ironlb(
        "plan", "-c", str(live.write("bare.yaml", _config(MAIN))), "-f", str(extra)
    )
    assert bare_and_resources.code == 0, (bare_and_resources.stderr, bare_and_resources.stdout)
    # The ConfigMap alone: c's IP is in no pool any more; it moves to main's next free IP.
    alone = live.write("alone.yaml", _config(MAIN))
    lost = live.ironlb("plan", "-c", str(alone), "-o", "json")
    assert lost.code == 3 and _changes(lost.json()) == {"c": ("change", ["10.210.0.2"])}, lost.stdout
    # Resources alone: main moves to another range, a and b change IPs (to free ones of either
    # pool), c keeps its own.
    only = live.tmp / "resources.yaml"
    only.write_text(
        yaml.safe_dump_all(
            _resources(live.ns, "main", ["10.216.0.0/30"]) + _resources(live.ns, "extra", ["10.214.0.0/30"])
        )
    )
    moved = live.ironlb("plan", "-f", str(only), "-o", "json")
    assert moved.code == 3, moved.stderr
    # The same resources split over two -c files (a pool file, an advertisement file): the same plan.
    objs = _resources(live.ns, "main", ["10.216.0.0/30"]) + _resources(live.ns, "extra", ["10.214.0.0/30"])
    (live.tmp / "pools.yaml").write_text(
        yaml.safe_dump_all([o for o in objs if o["kind"] == "IPAddressPool"])
    )
    (live.tmp / "ads.yaml").write_text(yaml.safe_dump_all([o for o in objs if o["kind"] != "IPAddressPool"]))
    split = live.ironlb("plan", "-c", str(live.tmp / "pools.yaml"), str(live.tmp / "ads.yaml"), "-o", "json")
    assert split.code == 3 and split.json()["services"] == moved.json()["services"], split.stderr
    changes = _changes(moved.json())
    assert sorted(changes) == ["a", "b"] and all(c == "change" for c, _ in changes.values())
    after = [ip for _, ips in changes.values() for ip in ips]
    assert len(set(after)) == 2 and "10.214.0.1" not in after
    assert all(ip.startswith(("10.214.0.", "10.216.0.")) for ip in after)


def test_kubectl_runs_plan_and_status_as_its_ironlb_plugin(live: Live) -> None:
    import os
    import shutil

    import pytest

    kubectl = shutil.which("kubectl")
    plugin = Path(sys.executable).parent / "kubectl-ironlb"
    if kubectl is None or not plugin.exists():
        pytest.skip("kubectl, or the kubectl-ironlb console script of this install, is not there")
    live.add_nodes(1)
    live.set_config(_config(MAIN))
    live.service("a")
    ctl = live.controller()
    live.settled(ctl, lambda ips: bool(ips.get("a")))
    env = {**os.environ, "PATH": f"{plugin.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["KUBECONFIG"] = str(live.admin_kubeconfig)  # kubectl's own way: the plugin reads the current context
    flags = ["-n", live.ns, "--lb-class", live.lb_class]
    moved = live.write("moved.yaml", _config({**MAIN, "addresses": ["10.219.0.0/30"]}))

    def kubectl_ironlb(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [kubectl, "ironlb", *argv, *flags],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    plan = kubectl_ironlb("plan", "-c", str(moved), "-o", "json")
    assert plan.returncode == 3, plan.stderr
    assert [(s["name"], s["change"]) for s in json.loads(plan.stdout)["services"]] == [("a", "change")]
    status = kubectl_ironlb("status", "--no-metrics", f"{live.ns}/a", "-o", "json")
    assert status.returncode == 0, status.stderr
    assert [s["name"] for s in json.loads(status.stdout)["services"]] == ["a"]
