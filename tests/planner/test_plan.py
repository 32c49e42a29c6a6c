"""``ironlb plan`` shows the layer-2 owner of every IP it would assign."""

from __future__ import annotations

import ipaddress
from typing import Any, cast

from ironlb.announce.layer2 import owner
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.kube_types import Node
from ironlb.planner import build_plan, plan_to_json, render_table
from tests.support.layer2_helpers import CONFIG, eps, node


def lb(name: str, etp: str = "Cluster") -> dict[str, Any]:
    return {
        "kind": "Service",
        "metadata": {"name": name, "namespace": "ns", "annotations": {"ironlb.io/address-pool": "l2"}},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": etp, "ports": [{"port": 80}]},
    }


def test_plan_has_layer2_owner_per_assigned_ip() -> None:
    names = ["a", "b", "c"]
    snap = ClusterSnapshot(
        services=(lb("web"), lb("loc", "Local"), lb("idle")),  # type: ignore[arg-type]
        endpoint_slices=(eps("web", ["a"]), eps("loc", ["c"])),  # type: ignore[arg-type]
        nodes=tuple(cast(Node, node(n)) for n in names),
    )
    plan = build_plan(CONFIG, snap)
    doc = plan_to_json(plan)
    by_service = {tuple(e["services"]): e for e in doc["layer2"]}
    web = by_service[("ns/web",)]
    assert web["owner"] == owner(ipaddress.ip_address(web["ip"]), names)
    assert by_service[("ns/loc",)]["owner"] == "c"
    idle = by_service[("ns/idle",)]
    assert idle["owner"] is None and "no ready endpoint" in idle["reason"]
    table = render_table(plan)
    assert "LAYER2-IP" in table and web["ip"] in table
