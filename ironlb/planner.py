"""What ironlb would do for a cluster snapshot, as data: the pure core of ``ironlb plan``.

``build_plan(config, snapshot)`` decides (with the allocator and the announcement
decisions, the very functions the programs run); ``plan_to_json`` /
``render_table`` present the assignments, the layer-2 owners and the BGP routes
per node and peer, and name the pools no advertisement announces. Kept apart from
the CLI so the plan can grow additively: a new part is a new field of ``Plan``, a
new key of the JSON document and a new table.

Which advertisement announces which pools, from which nodes, on which interfaces or to
which peers, and which one makes each layer-2 answer and each route (the candidate
nodes, the interfaces), is shown when the config says something the
legacy ConfigMap cannot (``ironlb.config.legacy``: node selectors, interfaces or
peers per advertisement, ...): for a config the ConfigMap can express, every
advertisement is its pool's, from every node, on the one interface list, to
every peer, so those columns would say nothing and the plan keeps its shape.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ironlb.allocator import ServiceResult, allocate_all
from ironlb.announce.bgp import BgpRoute, NodeRoutes, PeerRoutes, planned_bgp
from ironlb.announce.inputs import build_inputs
from ironlb.announce.layer2 import IPDecision, planned_layer2
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config.legacy import legacy_config
from ironlb.config.model import Config, IPNetwork, LabelSelector
from ironlb.texttable import columns


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
    unannounced: tuple[str, ...] = ()
    """Pools no advertisement selects: their IPs are assigned but nobody announces them."""
    detailed: bool = False
    """Show the advertisements, interfaces and candidate nodes (see the module docstring)."""
    advertisements: tuple[AdvertisementRow, ...] = ()
    """Every advertisement: which pools it announces, from which nodes, how (shown when ``detailed``)."""


@dataclass(frozen=True)
class AdvertisementRow:
    """One L2, BGP or ClusterIP advertisement as the plan shows it."""

    kind: str
    """``L2Advertisement``, ``BGPAdvertisement`` or ``ClusterIPAdvertisement``."""
    name: str
    announces: tuple[str, ...]
    """The pools it announces (every pool when it names none), or a ClusterIP advertisement's CIDRs."""
    nodes: tuple[str, ...]
    """The nodes of the snapshot its node selectors pick (no selector: every node)."""
    interfaces: tuple[str, ...] = ()
    """L2: the interfaces named (empty: every eligible one)."""
    peers: tuple[str, ...] = ()
    """BGP, ClusterIP: the peers named (empty: every peer)."""


def advertisement_rows(config: Config, snapshot: ClusterSnapshot) -> tuple[AdvertisementRow, ...]:
    """Each advertisement with the pools it announces and the nodes it picks, in config order."""
    every_pool = tuple(p.name for p in config.pools)
    labels = {
        str(n.get("metadata", {}).get("name", "")): dict(n.get("metadata", {}).get("labels") or {})
        for n in snapshot.nodes
    }

    def nodes(selectors: tuple[LabelSelector, ...]) -> tuple[str, ...]:
        return tuple(
            sorted(n for n, ls in labels.items() if not selectors or any(s.matches(ls) for s in selectors))
        )

    rows = [
        AdvertisementRow(
            "L2Advertisement",
            ad.name,
            ad.pools or every_pool,
            nodes(ad.node_selectors),
            interfaces=ad.interfaces,
        )
        for ad in config.l2_advertisements
    ]
    rows += [
        AdvertisementRow(
            "BGPAdvertisement", ad.name, ad.pools or every_pool, nodes(ad.node_selectors), peers=ad.peers
        )
        for ad in config.bgp_advertisements
    ]
    rows += [
        AdvertisementRow(
            "ClusterIPAdvertisement",
            cip.name,
            tuple(map(str, cip.cidrs)),
            nodes(cip.node_selectors),
            peers=cip.peers,
        )
        for cip in config.cluster_ip_advertisements
    ]
    return tuple(rows)


def build_plan(
    config: Config, snapshot: ClusterSnapshot, *, lb_class: str | None = None, detailed: bool | None = None
) -> Plan:
    """Decide, without touching anything, what ironlb would do for ``snapshot`` under ``config``.

    ``detailed``: show the advertisements (``None``: when the config says more than the ConfigMap can;
    ``ironlb plan`` asks for them whenever the config came from resources, which name them)."""
    services = tuple(allocate_all(config, snapshot.services, lb_class, namespaces=snapshot.namespaces))
    assigned = {(f"{s.namespace}/{s.name}" if s.namespace else s.name): tuple(s.ips) for s in services}
    inputs = build_inputs("", config, snapshot, (), lb_class=lb_class)
    return Plan(
        services=services,
        layer2=planned_layer2(inputs, assigned),
        bgp=planned_bgp(inputs, assigned),
        unannounced=tuple(p.name for p in config.unannounced_pools()),
        detailed=not legacy_config(config).exact if detailed is None else detailed,
        advertisements=advertisement_rows(config, snapshot),
    )


UNANNOUNCED = (
    "no L2Advertisement or BGPAdvertisement selects it: its IPs are assigned but announced by nobody"
)


def layer2_json(d: IPDecision, detailed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ip": str(d.ip),
        "services": list(d.services),
        "owner": d.owner,
        "candidates": sorted(d.candidates),
        "reason": d.reason or None,
    }
    if detailed:
        out |= {"pool": d.pool, "advertisements": list(d.advertisements), "interfaces": list(d.interfaces)}
    return out


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
        doc["layer2"] = [layer2_json(d, plan.detailed) for d in plan.layer2]
    if plan.bgp:
        doc["bgp"] = bgp_plan_json(plan.bgp, plan.detailed)
    if plan.detailed and plan.advertisements:
        doc["advertisements"] = [advertisement_json(a) for a in plan.advertisements]
    if plan.unannounced:
        doc["unannounced_pools"] = [{"pool": name, "reason": UNANNOUNCED} for name in plan.unannounced]
    return doc


def advertisement_json(a: AdvertisementRow) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": a.kind, "name": a.name}
    out["cidrs" if a.kind == "ClusterIPAdvertisement" else "pools"] = list(a.announces)
    out["nodes"] = list(a.nodes)
    if a.kind == "L2Advertisement":
        out["interfaces"] = list(a.interfaces)
    else:
        out["peers"] = list(a.peers)
    return out


@functools.lru_cache(maxsize=1 << 16)
def prefix_text(prefix: IPNetwork) -> str:
    """``str(prefix)``, remembered: a plan prints each prefix once per node and peer (``ipaddress``
    formats it anew every time, a second for 100,000 routes)."""
    return str(prefix)


def route_json(route: BgpRoute, detailed: bool = False) -> dict[str, object]:
    out: dict[str, object] = {
        "prefix": prefix_text(route.prefix),
        "communities": list(route.communities),
        "large_communities": list(route.large_communities),
        "localpref": route.localpref,
        "sources": list(route.sources),
    }
    if detailed:
        out["advertisements"] = list(route.advertisements)
    return out


def _peer_json(pr: PeerRoutes, detailed: bool) -> dict[str, object]:
    out: dict[str, object] = {
        "peer": pr.peer_id,
        "peer_asn": pr.peer.peer_asn,
        "my_asn": pr.peer.my_asn,
        "next_hop": str(pr.next_hop) if pr.next_hop is not None else None,
        "unusable": pr.unusable,
        "routes": [route_json(r, detailed) for r in pr.routes],
    }
    if detailed:
        out["name"] = pr.peer.name
    return out


def bgp_plan_json(plan: Iterable[NodeRoutes], detailed: bool = False) -> list[dict[str, object]]:
    """``ironlb plan -o json`` key ``"bgp"``: per node, per peer, next hop and prefixes with attributes.

    ``unusable`` is null for a session the node can open, else the reason it cannot
    (then ``next_hop`` is null and ``routes`` empty). ``detailed`` adds each peer's
    name and each route's advertisements.
    """
    return [
        {
            "node": n.node,
            "peers": [_peer_json(pr, detailed) for pr in n.decision.peers],
            "problems": list(n.decision.problems),
        }
        for n in plan
    ]


def render_table(plan: Plan) -> str:
    """Plain-text tables: a row per Service (errors and notes in the last column), then the layer-2
    owners and the BGP routes when there are any."""
    rows: list[tuple[str, ...]] = [("NAMESPACE", "NAME", "IPS", "POOL", "SHARING-KEY", "STATUS")]
    rows += [_service_row(s) for s in plan.services]
    lines = columns(rows)
    if not plan.services:
        lines.append("(no LoadBalancer Services)")
    lines += _advertisement_table(plan)
    lines += _layer2_table(plan)
    lines += _bgp_table(plan.bgp, plan.detailed)
    if plan.unannounced:
        lines += ["", "Pools not announced:", *(f"  {name}: {UNANNOUNCED}" for name in plan.unannounced)]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _service_row(s: ServiceResult) -> tuple[str, ...]:
    if s.error is not None:
        status = "error: " + s.error
    elif s.note:
        status = "assigned (" + s.note + ")"
    else:
        status = "assigned"
    ips = ",".join(str(ip) for ip in s.ips)
    return (s.namespace or "-", s.name, ips or "-", s.pool or "-", s.sharing_key or "-", status)


def _advertisement_table(plan: Plan) -> list[str]:
    """Which advertisement announces which pools, from which nodes, how; only when ``detailed``."""
    if not plan.detailed or not plan.advertisements:
        return []
    rows: list[tuple[str, ...]] = [("ADVERTISEMENT", "ANNOUNCES", "NODES", "ON/TO")]
    for a in plan.advertisements:
        if a.kind == "L2Advertisement":
            how = "interfaces " + ",".join(a.interfaces) if a.interfaces else "every eligible interface"
        else:
            how = "peers " + ",".join(a.peers) if a.peers else "every peer"
        rows.append((f"{a.kind}/{a.name}", ",".join(a.announces) or "-", ",".join(a.nodes) or "(none)", how))
    return ["", *columns(rows)]


def _layer2_table(plan: Plan) -> list[str]:
    if not plan.layer2:
        return []
    rows: list[tuple[str, ...]]
    if not plan.detailed:
        rows = [("LAYER2-IP", "SERVICES", "OWNER")]
        rows += [(str(d.ip), ",".join(d.services), d.owner or f"none ({d.reason})") for d in plan.layer2]
        return ["", *columns(rows)]
    rows = [("LAYER2-IP", "SERVICES", "ADVERTISEMENTS", "INTERFACES", "CANDIDATES", "OWNER")]
    rows += [
        (
            str(d.ip),
            ",".join(d.services),
            ",".join(d.advertisements) or "-",
            ",".join(d.interfaces) or ("(every eligible)" if d.owner else "-"),
            ",".join(sorted(d.candidates)) or "-",
            d.owner or f"none ({d.reason})",
        )
        for d in plan.layer2
    ]
    return ["", *columns(rows)]


def _bgp_table(plan: Iterable[NodeRoutes], detailed: bool = False) -> list[str]:
    """Lines (after a blank line) for ``ironlb plan``: a row per node, peer and prefix, then problems."""
    plan = tuple(plan)
    rows: list[tuple[str, ...]] = [("BGP-NODE", "PEER", "NEXT-HOP", "PREFIX", "ATTRIBUTES")]
    if detailed:
        rows = [("BGP-NODE", "PEER", "NEXT-HOP", "PREFIX", "ADVERTISEMENTS", "ATTRIBUTES")]
    for n in plan:
        for pr in n.decision.peers:
            rows += _bgp_rows(n.node, pr, detailed)
    problems = list(dict.fromkeys(p for n in plan for p in n.decision.problems))
    if len(rows) == 1 and not problems:
        return []
    lines = ["", *columns(rows)]
    if problems:
        lines += ["", "BGP problems:", *(f"  {p}" for p in problems)]
    return lines


def _bgp_rows(node: str, pr: PeerRoutes, detailed: bool) -> list[tuple[str, ...]]:
    """A row per prefix the session carries, or one saying why it carries none."""
    hop = str(pr.next_hop) if pr.next_hop is not None else "-"
    peer = f"{pr.peer_id} ({pr.peer.name})" if detailed and pr.peer.name else pr.peer_id
    ads: tuple[str, ...] = ("-",) if detailed else ()
    if pr.unusable is not None:
        return [(node, peer, hop, "-", *ads, f"(no session: {pr.unusable})")]
    if not pr.routes:
        return [(node, peer, hop, "-", *ads, "(nothing announced)")]
    return [
        (
            node,
            peer,
            hop,
            prefix_text(r.prefix),
            *((",".join(r.advertisements) or "-",) if detailed else ()),
            _attributes(r),
        )
        for r in pr.routes
    ]


def _attributes(r: BgpRoute) -> str:
    attrs = [f"communities={','.join(r.communities)}"] if r.communities else []
    attrs += [f"large={','.join(r.large_communities)}"] if r.large_communities else []
    attrs += [f"localpref={r.localpref}"] if r.localpref is not None else []
    return " ".join(attrs) or "-"
