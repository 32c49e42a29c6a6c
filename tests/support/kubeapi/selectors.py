"""Label and field selectors, parsed the way the API server reads them.

Labels: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``.
Fields: ``path=value``, ``path==value``, ``path!=value`` on any dotted path
(the real server allows only some paths per kind; ``metadata.name`` and
``metadata.namespace`` everywhere).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.support.kubeapi.errors import bad_request

Predicate = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_top(expr: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    depth = 0
    cur = ""
    for ch in expr:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _label_term(term: str) -> Callable[[dict[str, str]], bool]:
    m = _SET_RE.match(term)
    if m:
        key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in term:
            key, _, value = term.partition(op)
            key, value = key.strip(), value.strip()
            if not key:
                raise bad_request(f"unable to parse requirement: {term!r}")
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    if re.fullmatch(r"[A-Za-z0-9._/-]+", term):
        return lambda labels: term in labels
    raise bad_request(f"unable to parse requirement: {term!r}")


def label_selector(expr: str | None) -> Predicate:
    if not expr:
        return lambda obj: True
    terms = [_label_term(t) for t in _split_top(expr)]

    def pred(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(t(labels) for t in terms)

    return pred


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_selector(expr: str | None) -> Predicate:
    if not expr:
        return lambda obj: True
    terms: list[tuple[str, bool, str]] = []
    for term in _split_top(expr):
        for op in ("!=", "==", "="):
            if op in term:
                path, _, value = term.partition(op)
                terms.append((path.strip(), op != "!=", value.strip()))
                break
        else:
            raise bad_request(f"invalid field selector: {term!r}")

    def pred(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, p) == v) == eq for p, eq, v in terms)

    return pred


def exact_name(expr: str | None) -> str | None:
    """The name a field selector pins with ``metadata.name=<n>`` (or ``==``), if any."""
    for term in _split_top(expr or ""):
        if "!=" in term:
            continue
        path, _, value = term.replace("==", "=").partition("=")
        if path.strip() == "metadata.name" and value.strip():
            return value.strip()
    return None
