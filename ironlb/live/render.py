"""A ``LiveDiff`` as ``ironlb plan --kubeconfig`` prints it: tables for people, JSON for tools.

Only what changes is shown: one row per Service whose IPs change (disturbing changes first,
with the allocator's reason), per layer-2 IP whose owner or interfaces change, per BGP
prefix added, withdrawn or re-attributed on a node's session to a peer, and per session that
appears, goes or changes. ``--full`` puts the whole plan of the proposed config (the table
or JSON ``ironlb plan`` prints for files) before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ironlb.announce.bgp import BgpRoute
from ironlb.live.whatif import (
    DISTURBING,
    LiveDiff,
    OwnerChange,
    RouteChange,
    ServiceChange,
    exit_code,
)
from ironlb.planner import plan_to_json, prefix_text, render_table, route_json
from ironlb.texttable import columns

CHANGE_WORDS = {
    "lose": "loses IP",
    "change": "changes IP",
    "unannounced": "unannounced",
    "gain": "gets IP",
    "pool": "pool renamed",
}
"""The CHANGE column."""
_SENTENCE = {
    "lose": ("loses its IP", "lose their IPs"),
    "change": ("changes IP", "change IPs"),
    "unannounced": ("is announced by nobody any more", "are announced by nobody any more"),
    "gain": ("gets an IP at last", "get an IP at last"),
    "pool": ("has its pool renamed", "have their pool renamed"),
}
_ORDER = {kind: i for i, kind in enumerate(CHANGE_WORDS)}


def _ips(ips: Sequence[object]) -> str:
    return ",".join(str(ip) for ip in ips) or "-"


def _service_rows(changes: Sequence[ServiceChange]) -> list[str]:
    if not changes:
        return []
    rows: list[tuple[str, ...]] = [("NAMESPACE", "NAME", "CHANGE", "NOW", "AFTER", "POOL", "WHY")]
    for c in sorted(changes, key=lambda c: (_ORDER[c.change], c.key)):
        ns, _, name = c.key.rpartition("/")
        pool = c.pool_after or c.pool_before or "-"
        if c.pool_before and c.pool_after and c.pool_before != c.pool_after:
            pool = f"{c.pool_before}->{c.pool_after}"
        rows.append(
            (ns or "-", name, CHANGE_WORDS[c.change], _ips(c.before), _ips(c.after), pool, c.rule or "")
        )
    return ["", *columns(rows)]


def _owner_note(c: OwnerChange) -> str:
    if c.moves:
        note = "owner moves"
    elif c.before is None and c.after is not None:
        note = "answered from now on"
    elif c.after is None:
        note = f"no longer answered{f' ({c.reason})' if c.reason else ''}"
    else:
        note = "interfaces change"
    if c.after is not None and c.before is not None and c.interfaces_before != c.interfaces_after:
        note += f"; interfaces {_ifaces(c.interfaces_before)} -> {_ifaces(c.interfaces_after)}"
    return note


def _ifaces(globs: Sequence[str]) -> str:
    return ",".join(globs) or "(every eligible)"


def _layer2_rows(changes: Sequence[OwnerChange]) -> list[str]:
    if not changes:
        return []
    rows: list[tuple[str, ...]] = [("LAYER2-IP", "SERVICES", "OWNER-NOW", "OWNER-AFTER", "CHANGE")]
    rows += [
        (str(c.ip), ",".join(c.services), c.before or "-", c.after or "-", _owner_note(c)) for c in changes
    ]
    return ["", *columns(rows)]


def _attributes(r: BgpRoute | None) -> str:
    if r is None:
        return "-"
    attrs = [f"communities={','.join(r.communities)}"] if r.communities else []
    attrs += [f"large={','.join(r.large_communities)}"] if r.large_communities else []
    attrs += [f"localpref={r.localpref}"] if r.localpref is not None else []
    return " ".join(attrs) or "(none)"


def _route_rows(changes: Sequence[RouteChange]) -> list[str]:
    if not changes:
        return []
    rows: list[tuple[str, ...]] = [("BGP-NODE", "PEER", "CHANGE", "PREFIX", "ATTRIBUTES")]
    for c in changes:
        if c.change == "add":
            attrs = _attributes(c.after)
        elif c.change == "withdraw":
            attrs = _attributes(c.before)
        else:
            attrs = f"{_attributes(c.before)} -> {_attributes(c.after)}"
        word = {"add": "announce", "withdraw": "withdraw", "attributes": "attributes"}[c.change]
        rows.append((c.node, c.peer, word, prefix_text(c.prefix), attrs))
    return ["", *columns(rows)]


def _session_rows(diff: LiveDiff) -> list[str]:
    if not diff.sessions:
        return []
    rows: list[tuple[str, ...]] = [("BGP-NODE", "PEER", "SESSION-NOW", "SESSION-AFTER")]
    rows += [(s.node, s.peer, s.before or "(none)", s.after or "(none)") for s in diff.sessions]
    return ["", *columns(rows)]


def summary(diff: LiveDiff) -> str:
    """One sentence: how many of each change (stderr, and the end of the table)."""
    if not diff.changed:
        return "no change: the proposed config leaves every Service's IPs and announcements as they are"
    counts: dict[str, int] = {}
    for c in diff.services:
        counts[c.change] = counts.get(c.change, 0) + 1
    parts = [
        f"{n} Service{'s' * (n != 1)} {_SENTENCE[k][n != 1]}"
        for k, n in sorted(counts.items(), key=_by_order)
    ]
    moves = sum(c.moves for c in diff.layer2)
    if moves:
        parts.append(f"{moves} layer-2 owner{'s' * (moves != 1)} move{'s' * (moves == 1)}")
    for kind, word in (("add", "announced"), ("withdraw", "withdrawn"), ("attributes", "re-attributed")):
        n = sum(r.change == kind for r in diff.routes)
        if n:
            parts.append(f"{n} BGP route{'s' * (n != 1)} {word}")
    if diff.sessions:
        parts.append(f"{len(diff.sessions)} BGP session{'s' * (len(diff.sessions) != 1)} change")
    disturbing = len(diff.disturbing)
    verdict = (
        f"{disturbing} running Service{'s' * (disturbing != 1)} disturbed"
        if disturbing
        else "no running Service disturbed"
    )
    return f"{'; '.join(parts) or 'changes in announcements only'} ({verdict})"


def _by_order(item: tuple[str, int]) -> int:
    return _ORDER[item[0]]


def render_diff(diff: LiveDiff, *, full: bool = False) -> str:
    lines: list[str] = []
    if full:
        lines += [render_table(diff.after).rstrip("\n"), "", "Changes from what runs now:"]
    body = _service_rows(diff.services) + _layer2_rows(diff.layer2) + _route_rows(diff.routes)
    body += _session_rows(diff)
    if diff.unannounced_added:
        lines_added = (f"  {p}: no advertisement selects it any more" for p in diff.unannounced_added)
        body += ["", "Pools announced by nobody after the change:", *lines_added]
    if diff.unannounced_removed:
        body += ["", "Pools announced again:", *(f"  {p}" for p in diff.unannounced_removed)]
    lines += body[1:] if body and not full else body
    if lines:
        lines.append("")
    lines.append(summary(diff) + ".")
    return "\n".join(lines) + "\n"


# -- JSON ------------------------------------------------------------------------------------------


class _RouteDicts:
    """Each distinct route's JSON built once: the same route shows up on every node and peer (50,000
    route changes of a 10,000-Service plan are 5,000 routes)."""

    def __init__(self) -> None:
        self.built: dict[tuple[object, ...], dict[str, object]] = {}

    def __call__(self, prefix: str, r: BgpRoute | None) -> dict[str, object] | None:
        if r is None:
            return None
        key = (prefix, r.communities, r.large_communities, r.localpref, r.sources, r.advertisements)
        out = self.built.get(key)
        if out is None:
            out = self.built[key] = route_json(r, detailed=True)
        return out


def _route_changes_json(changes: Sequence[RouteChange]) -> list[dict[str, object]]:
    route = _RouteDicts()
    out: list[dict[str, object]] = []
    for c in changes:
        prefix = prefix_text(c.prefix)
        out.append(
            {
                "node": c.node,
                "peer": c.peer,
                "prefix": prefix,
                "change": c.change,
                "now": route(prefix, c.before),
                "after": route(prefix, c.after),
            }
        )
    return out


def diff_to_json(diff: LiveDiff, *, full: bool = False) -> dict[str, Any]:
    """``ironlb plan --kubeconfig -o json``: every change, the exit status it gives, and a summary."""
    doc: dict[str, Any] = {
        "changed": diff.changed,
        "disturbing": bool(diff.disturbing),
        "exit_code": exit_code(diff),
        "summary": summary(diff),
        "services": [
            {
                "namespace": c.key.rpartition("/")[0],
                "name": c.key.rpartition("/")[2],
                "change": c.change,
                "disturbing": c.change in DISTURBING,
                "ips_now": [str(ip) for ip in c.before],
                "ips_after": [str(ip) for ip in c.after],
                "pool_now": c.pool_before,
                "pool_after": c.pool_after,
                "rule": c.rule,
            }
            for c in diff.services
        ],
        "layer2": [
            {
                "ip": str(c.ip),
                "services": list(c.services),
                "owner_now": c.before,
                "owner_after": c.after,
                "moves": c.moves,
                "interfaces_now": list(c.interfaces_before),
                "interfaces_after": list(c.interfaces_after),
                "reason": c.reason or None,
            }
            for c in diff.layer2
        ],
        "bgp_routes": _route_changes_json(diff.routes),
        "bgp_sessions": [
            {"node": s.node, "peer": s.peer, "now": s.before, "after": s.after} for s in diff.sessions
        ],
        "unannounced_pools": {
            "added": list(diff.unannounced_added),
            "removed": list(diff.unannounced_removed),
        },
    }
    if full:
        doc["plan"] = plan_to_json(diff.after)
    return doc
