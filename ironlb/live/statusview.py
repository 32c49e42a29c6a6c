"""A ``StatusReport`` as ``ironlb status`` prints it: tables for people, JSON for tools.

Every answer carries where it comes from (a ``FROM`` column, ``source`` keys), so a reader
tells what a program published from what was computed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ironlb.live.status import Announcer, EventLine, NodeStatus, ServiceStatus, StatusReport, age
from ironlb.texttable import columns

INTERFACES_NOTE = "interfaces from the config"


def announcer_text(a: Announcer) -> str:
    """``layer2 node2 on eth1`` / ``bgp node1 to 172.30.0.1 (up)``."""
    if a.protocol == "layer2":
        where = ",".join(a.interfaces) if a.interfaces else "every eligible interface"
        return f"layer2 {a.node} on {where}"
    if a.peers:
        peers = ", ".join(f"{p} ({'up' if up else 'down' if up is not None else '?'})" for p, up in a.peers)
        return f"bgp {a.node} to {peers}"
    return f"bgp {a.node}"


def _announced_by(s: ServiceStatus) -> str:
    if not s.ips:
        return f"no IP: {s.no_ip}"
    if not s.announcers:
        return "unknown" if s.source.startswith("not known") else "nobody"
    return "; ".join(announcer_text(a) for a in s.announcers)


def _from(s: ServiceStatus, now: dt.datetime) -> str:
    if not s.ips:
        source = s.no_ip_source or ""
        if source.startswith("event "):
            reason, _, stamp = source[len("event ") :].partition(" ")
            return f"event {reason} {age(stamp, now)} ago"
        return source
    parts = [s.source]
    if any(a.protocol == "layer2" and a.interfaces_source == "config" for a in s.announcers):
        parts.append(INTERFACES_NOTE)
    if s.unknown_nodes:
        parts.append(f"not known for {','.join(s.unknown_nodes)}")
    parts += [f"{a.obj.kind} of {a.obj.node} set aside: {a.why}" for a in s.set_aside]
    return "; ".join(p for p in parts if p)


def _speaker(n: NodeStatus) -> str:
    return f"{n.speaker} ({n.speaker_source})"


def _sessions(n: NodeStatus) -> str:
    if not n.sessions:
        return "-" if n.members is not None else "?"
    return ",".join(f"{peer}={'up' if up else 'down'}" for peer, up in n.sessions)


def _event_rows(services: Sequence[ServiceStatus], now: dt.datetime) -> list[str]:
    rows: list[tuple[str, ...]] = [("SERVICE", "AGE", "TYPE", "REASON", "FROM", "MESSAGE")]
    for s in services:
        for e in s.events:
            count = f" (x{e.count})" if e.count > 1 else ""
            rows.append((s.key, age(e.time, now), e.type, e.reason, e.component, e.message + count))
    return columns(rows) if len(rows) > 1 else []


def render_status(report: StatusReport, now: dt.datetime) -> str:
    lines = [f"Config: {report.config}"]
    for e in report.config_events:
        lines.append(f"  {age(e.time, now)} ago {e.type} {e.reason}: {e.message}")
    lines += [f"  ConfigurationState {line}" for line in report.programs]
    lines.append("")
    if report.services:
        rows: list[tuple[str, ...]] = [("NAMESPACE", "NAME", "IPS", "POOL", "ANNOUNCED-BY", "FROM")]
        for s in report.services:
            ns, _, name = s.key.rpartition("/")
            rows.append((ns, name, ",".join(s.ips) or "-", s.pool or "-", _announced_by(s), _from(s, now)))
        lines += columns(rows)
    else:
        lines.append("(no LoadBalancer Service of ironlb's)")
    lines.append("")
    rows = [("NODE", "SPEAKER", "MEMBERS", "ANNOUNCES", "BGP-SESSIONS", "METRICS")]
    for n in report.nodes:
        metrics = n.metrics_url or "(not asked)"
        if n.metrics_error:
            metrics += f": {n.metrics_error}"
        elif n.config_stale:
            metrics += " (runs on its last good config: the current one is invalid)"
        members = str(n.members) if n.members is not None else "?"
        announced = str(n.announced) if n.announced is not None else "?"
        rows.append((n.node, _speaker(n), members, announced, _sessions(n), metrics))
    lines += columns(rows) if report.nodes else ["(no Nodes)"]
    events = _event_rows(report.services, now)
    if events:
        lines += ["", "Events (ironlb's, newest first):", *events]
    return "\n".join(lines) + "\n"


# -- JSON ------------------------------------------------------------------------------------------


def _event(e: EventLine) -> dict[str, Any]:
    return {
        "time": e.time,
        "type": e.type,
        "reason": e.reason,
        "message": e.message,
        "component": e.component,
        "count": e.count,
    }


def _announcer(a: Announcer) -> dict[str, Any]:
    out: dict[str, Any] = {"node": a.node, "protocol": a.protocol, "ips": list(a.ips)}
    if a.protocol == "layer2":
        out["interfaces"] = list(a.interfaces)
        out["interfaces_source"] = a.interfaces_source
    else:
        out["peers"] = [{"peer": p, "session_up": up} for p, up in a.peers]
    return out


def status_to_json(report: StatusReport) -> dict[str, Any]:
    return {
        "config": report.config,
        "config_events": [_event(e) for e in report.config_events],
        "configuration_states": list(report.programs),
        "services": [
            {
                "namespace": s.key.rpartition("/")[0],
                "name": s.key.rpartition("/")[2],
                "ips": list(s.ips),
                "pool": s.pool,
                "announced_by": [_announcer(a) for a in s.announcers],
                "source": s.source or None,
                "not_known_for": list(s.unknown_nodes),
                "no_ip": {"reason": s.no_ip, "source": s.no_ip_source} if not s.ips else None,
                "events": [_event(e) for e in s.events],
                "set_aside": [
                    {"kind": a.obj.kind, "node": a.obj.node, "ips": list(a.obj.ips), "why": a.why}
                    for a in s.set_aside
                ],
            }
            for s in report.services
        ],
        "nodes": [
            {
                "node": n.node,
                "speaker": n.speaker,
                "speaker_source": n.speaker_source,
                "metrics_url": n.metrics_url,
                "metrics_error": n.metrics_error or None,
                "membership_members": n.members,
                "announced": n.announced,
                "bgp_sessions": [{"peer": p, "up": up} for p, up in n.sessions],
                "config_stale": n.config_stale,
            }
            for n in report.nodes
        ],
    }
