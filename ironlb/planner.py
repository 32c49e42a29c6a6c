"""What ironlb would do for a cluster snapshot, as data: the pure core of ``ironlb plan``.

``build_plan(config, snapshot)`` decides; ``plan_to_json`` / ``render_table``
present. Kept apart from the CLI so the plan can grow additively: later issues
add what each node announces (layer-2 owner, BGP prefixes per node and peer) as
new fields of ``Plan`` and new keys of the JSON document, without touching the
allocation part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ironlb.allocator import ServiceResult, allocate_all
from ironlb.announce.bgp import NodeRoutes, bgp_plan_json, bgp_plan_table, planned_bgp
from ironlb.announce.inputs import build_inputs
from ironlb.announce.layer2 import IPDecision, planned_layer2
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config.model import Config


@dataclass(frozen=True)
class Plan:
    """Everything ``ironlb plan`` reports."""

    services: tuple[ServiceResult, ...]
    """One entry per managed LoadBalancer Service, sorted by namespace/name."""
    layer2: tuple[IPDecision, ...] = ()
    """Layer-2 owner (or why none) of every assigned IP of a layer2 pool; all nodes' speakers live."""
    bgp: tuple[NodeRoutes, ...] = ()
    """Per node (with BGP peers) and peer: next hop, the prefixes it would announce with attributes,
    or why the node cannot open that session; and the node's BGP problems (e.g. IPs no session carries)."""


def build_plan(config: Config, snapshot: ClusterSnapshot, *, lb_class: str | None = None) -> Plan:
    """Decide, without touching anything, what ironlb would do for ``snapshot`` under ``config``."""
    services = tuple(allocate_all(config, snapshot.services, lb_class))
    assigned = {(f"{s.namespace}/{s.name}" if s.namespace else s.name): tuple(s.ips) for s in services}
    inputs = build_inputs("", config, snapshot, (), lb_class=lb_class)
    return Plan(services=services, layer2=planned_layer2(inputs, assigned), bgp=planned_bgp(inputs, assigned))


def layer2_json(d: IPDecision) -> dict[str, Any]:
    return {
        "ip": str(d.ip),
        "services": list(d.services),
        "owner": d.owner,
        "candidates": sorted(d.candidates),
        "reason": d.reason or None,
    }


def service_json(result: ServiceResult) -> dict[str, Any]:
    return {
        "namespace": result.namespace,
        "name": result.name,
        "ips": [str(ip) for ip in result.ips],
        "pool": result.pool,
        "sharing_key": result.sharing_key,
        "error": result.error,
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The JSON document of ``ironlb plan -o json``: ``{"services": [...]}``, plus ``"layer2"`` when any."""
    doc: dict[str, Any] = {"services": [service_json(s) for s in plan.services]}
    if plan.layer2:
        doc["layer2"] = [layer2_json(d) for d in plan.layer2]
    if plan.bgp:
        doc["bgp"] = bgp_plan_json(plan.bgp)
    return doc


def render_table(plan: Plan) -> str:
    """A plain-text table, one row per Service; errors and notes in the last column."""
    header = ("NAMESPACE", "NAME", "IPS", "POOL", "SHARING-KEY", "STATUS")
    rows = [header]
    for s in plan.services:
        if s.error is not None:
            status = "error: " + s.error
        elif s.note:
            status = "assigned (" + s.note + ")"
        else:
            status = "assigned"
        rows.append(
            (
                s.namespace or "-",
                s.name,
                ",".join(str(ip) for ip in s.ips) or "-",
                s.pool or "-",
                s.sharing_key or "-",
                status,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ]
    if not plan.services:
        lines.append("(no LoadBalancer Services)")
    lines += _layer2_table(plan)
    lines += bgp_plan_table(plan.bgp)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _layer2_table(plan: Plan) -> list[str]:
    if not plan.layer2:
        return []
    rows = [("LAYER2-IP", "SERVICES", "OWNER")]
    rows += [(str(d.ip), ",".join(d.services), d.owner or f"none ({d.reason})") for d in plan.layer2]
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return [
        "",
        *("  ".join(c.ljust(w) for c, w in zip(r[:2], widths, strict=True)) + "  " + r[2] for r in rows),
    ]
