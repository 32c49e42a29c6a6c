"""``config/viewer`` on the real API server: ``ironlb plan`` and ``ironlb status`` run as a
ServiceAccount bound to the ``ironlb-viewer`` roles and nothing else. No request is refused,
every rule is used (the audit log), and status shows who announces a Service from the status
objects the speakers publish, and "unknown" where none exists."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from ironlb.statusobjects.kinds import GROUP, SERVICE_L2_STATUS, VERSION
from ironlb.statusobjects.service import ServiceOwner, StatusObject
from tests.live.conftest import REPO, Live
from tests.support.waiting import wait_for

MAIN = {"name": "main", "protocol": "layer2", "addresses": ["10.215.0.0/30"]}


def _viewer_rules() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    docs = list(yaml.safe_load_all((REPO / "config" / "viewer" / "rbac-viewer.yaml").read_text()))
    cluster = next(d for d in docs if d["kind"] == "ClusterRole")["rules"]
    role = next(d for d in docs if d["kind"] == "Role")["rules"]
    return cluster, role


def _bind_viewer(live: Live) -> Path:
    """The ServiceAccount ``viewer`` bound to exactly the two roles of config/viewer."""
    cluster_rules, role_rules = _viewer_rules()
    live.kube.grant("viewer", cluster_rules)
    rbac = live.kube.rbac
    rbac.create_namespaced_role(live.ns, {"metadata": {"name": "ironlb-viewer"}, "rules": role_rules})
    rbac.create_namespaced_role_binding(
        live.ns,
        {
            "metadata": {"name": "ironlb-viewer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ironlb-viewer"},
            "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": live.ns}],
        },
    )
    return live.kube.kubeconfig("viewer", cluster_role=None)


def _publish_l2_status(live: Live, service: str, node: str, ip: str, interface: str) -> None:
    """A ServiceL2Status as a speaker writes it (``ironlb.statusobjects``): created, then its status."""
    svc = live.kube.core.read_namespaced_service(service, live.ns)
    obj = StatusObject(
        kind=SERVICE_L2_STATUS,
        namespace=live.ns,
        name=f"{service}.{node}",
        node=node,
        service=ServiceOwner(live.ns, service, svc.metadata.uid),
        ips=(ip,),
        via=(interface,),
    )
    api = client.CustomObjectsApi(live.kube.api)
    plural = "servicel2statuses"
    api.create_namespaced_custom_object(GROUP, VERSION, live.ns, plural, obj.manifest())
    api.patch_namespaced_custom_object_status(
        GROUP, VERSION, live.ns, plural, obj.name, {"status": obj.status()}
    )


def _controller_state(live: Live) -> dict[str, Any]:
    """The ConfigurationState the controller writes (``ironlb.kube.configurationstate``), or {}."""
    api = client.CustomObjectsApi(live.kube.api)
    try:
        out: dict[str, Any] = api.get_namespaced_custom_object(
            GROUP, VERSION, live.ns, "configurationstates", "controller"
        )
    except client.exceptions.ApiException:
        return {}
    return out


def _granted(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (g, r, v)
        for rule in rules
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }


def test_plan_and_status_need_nothing_beyond_the_viewer_roles_and_use_all_of_them(live: Live) -> None:
    nodes = live.add_nodes(2)
    live.set_config({"address-pools": [MAIN]})
    for name in ("a", "b"):
        live.service(name)
    ctl = live.controller()
    live.settled(ctl, lambda ips: bool(ips.get("a") and ips.get("b")))
    ips = live.ips()
    _publish_l2_status(live, "a", nodes[1], ips["a"][0], "eth7")
    wait_for(lambda: (_controller_state(live).get("status") or {}).get("result"), what="controller state")
    kubeconfig = _bind_viewer(live)
    user = live.kube.user("viewer")
    wait_for(
        lambda: live.ironlb("status", "--no-metrics", kubeconfig=kubeconfig).code == 0,
        timeout=10,
        what="the viewer's grant to take effect",
    )
    started = time.time()

    shrunk = live.write("shrunk.yaml", {"address-pools": [{**MAIN, "addresses": [f"{ips['a'][0]}/32"]}]})
    plan = live.ironlb("plan", "-c", str(shrunk), "-o", "json", kubeconfig=kubeconfig)
    assert plan.code == 3, plan.stderr
    assert [(s["name"], s["change"]) for s in plan.json()["services"]] == [("b", "lose")]

    status = live.ironlb("status", "--no-metrics", "-o", "json", kubeconfig=kubeconfig)
    assert status.code == 0, status.stderr
    (program,) = status.json()["configuration_states"]
    assert program.startswith("controller: Valid, in force: Latest since 20"), program
    by_name = {s["name"]: s for s in status.json()["services"]}
    (announcer,) = by_name["a"]["announced_by"]
    assert (announcer["node"], announcer["ips"], announcer["interfaces"]) == (
        nodes[1],
        list(ips["a"]),
        ["eth7"],
    )
    assert by_name["a"]["source"].startswith("status objects")
    assert by_name["b"]["announced_by"] == [] and by_name["b"]["source"].startswith("not known")
    table = live.ironlb("status", "--no-metrics", f"{live.ns}/b", kubeconfig=kubeconfig)
    assert table.code == 0 and "unknown" in table.stdout, table.stdout

    requests = [r for r in live.kube.audit(user) if r.at >= started]
    refused = [(r.verb, r.uri, r.code) for r in requests if r.code >= 400]
    assert refused == [], refused
    assert not [r for r in requests if r.write]
    used = {(r.group, r.rbac_resource, r.verb) for r in requests}
    cluster_rules, role_rules = _viewer_rules()
    assert used == _granted(cluster_rules) | _granted(role_rules)
