"""Kubernetes label selectors of MetalLB's CRDs → ironlb's domain selectors, checked like ironlb's parser.

MetalLB uses ``metav1.LabelSelector`` (and, in BGPPeer v1beta1, its own type of
the same shape) for nodes and for pools. ironlb's :class:`NodeSelector` has the
same semantics (match-labels AND match-expressions; a list is OR'ed), so the
mapping is exact; only the syntax of keys, values and operators is checked here,
with the CRD field path of each problem.
"""

from __future__ import annotations

from ironlb.config import values as v
from ironlb.config.model import NodeSelector, SelectorRequirement
from ironlb.metallb import crds
from ironlb.metallb.crds import LabelSelector
from ironlb.metallb.findings import Source
from ironlb.metallb.report import Report


def label_selectors(
    r: Report, source: Source, path: str, raw: list[LabelSelector] | None
) -> tuple[NodeSelector, ...] | None:
    """Kubernetes label selectors as domain selectors (labels sorted, as ironlb's parser keeps them)."""
    out: list[NodeSelector] = []
    ok = True
    for i, sel in enumerate(raw or ()):
        base = crds.join(path, i)
        labels = []
        for key, value in (sel.match_labels or {}).items():
            try:
                v.check_label_key(key)
                v.check_label_value(value)
            except ValueError as exc:
                r.add("error", source, crds.join(base, "matchLabels", key), str(exc))
                ok = False
                continue
            labels.append((str.__str__(key), str.__str__(value)))
        exprs = []
        for j, e in enumerate(sel.match_expressions or ()):
            epath = crds.join(base, "matchExpressions", j)
            req = _requirement(r, source, epath, e.key, e.operator, e.values)
            ok &= req is not None
            if req is not None:
                exprs.append(req)
        out.append(NodeSelector(tuple(sorted(labels)), tuple(exprs)))
    return tuple(out) if ok else None


def _requirement(
    r: Report, source: Source, path: str, key: str | None, op: str | None, vals: list[str] | None
) -> SelectorRequirement | None:
    problems: list[tuple[str, str]] = []
    if not key:
        problems.append(("key", "required field is missing"))
    else:
        try:
            v.check_label_key(key)
        except ValueError as exc:
            problems.append(("key", str(exc)))
    operator = next((o for o in v.OPERATORS if o == op), None)
    if operator is None:
        problems.append(("operator", f"{op!r} is not one of {', '.join(v.OPERATORS)}"))
    elif operator in ("In", "NotIn") and not vals:
        problems.append(("values", f"operator {operator} needs at least one value"))
    elif operator in ("Exists", "DoesNotExist") and vals:
        problems.append(("values", f"operator {operator} takes no values"))
    for i, value in enumerate(vals or ()):
        try:
            v.check_label_value(value)
        except ValueError as exc:
            problems.append((crds.join("values", i), str(exc)))
    for sub, message in problems:
        r.add("error", source, crds.join(path, sub), message)
    if problems or not key or operator is None:
        return None
    return SelectorRequirement(str.__str__(key), operator, tuple(str.__str__(x) for x in vals or ()))
