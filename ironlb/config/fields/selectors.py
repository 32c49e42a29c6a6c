"""Item rules for Kubernetes label selectors (``matchLabels``, ``matchExpressions``), however an input
spells them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from ironlb.config import values
from ironlb.config.fields.checks import Checks, Problem, Spelling
from ironlb.config.fields.scalars import label, label_key, operator
from ironlb.config.model import LabelSelector, SelectorRequirement


class RequirementFields(Protocol):
    """A ``match-expressions`` item as any input decodes it."""

    @property
    def key(self) -> str | None: ...
    @property
    def operator(self) -> str | None: ...
    @property
    def values(self) -> Sequence[str] | None: ...


class SelectorFields(Protocol):
    """A Kubernetes label selector as any input decodes it."""

    @property
    def match_labels(self) -> Mapping[str, str] | None: ...
    @property
    def match_expressions(self) -> Sequence[RequirementFields] | None: ...


def requirement(raw: RequirementFields, spell: Spelling) -> tuple[SelectorRequirement | None, list[Problem]]:
    c = Checks(spell)
    key = c.value("key", label_key, raw.key)
    op = c.value("operator", operator, raw.operator)
    if op in ("In", "NotIn") and not raw.values:
        c.error("values", f"operator {op} needs at least one value")
    if op in ("Exists", "DoesNotExist") and raw.values:
        c.error("values", f"operator {op} takes no values")
    for i, text in enumerate(raw.values or ()):
        c.value(("values", i), values.check_label_value, text)
    if c.failed or key is None or op is None:
        return None, c.problems
    return SelectorRequirement(key, op, tuple(raw.values or ())), c.problems


def label_selector(raw: SelectorFields, spell: Spelling) -> tuple[LabelSelector | None, list[Problem]]:
    """Labels sorted, as the domain keeps them; ``None`` when any part is wrong."""
    c = Checks(spell)
    labels: list[tuple[str, str]] = []
    for key, value in (raw.match_labels or {}).items():
        pair = c.value(("match_labels", key), label, key, value)
        if pair is not None:
            labels.append(pair)
    exprs: list[SelectorRequirement] = []
    for j, expr in enumerate(raw.match_expressions or ()):
        req = c.nested(("match_expressions", j), requirement(expr, spell))
        if req is not None:
            exprs.append(req)
    if c.failed:
        return None, c.problems
    return LabelSelector(tuple(sorted(labels)), tuple(exprs)), c.problems


def label_selectors(
    raw: Sequence[SelectorFields] | None, spell: Spelling
) -> tuple[tuple[LabelSelector, ...] | None, list[Problem]]:
    """A list of selectors (OR'ed); ``None`` when any of them is wrong."""
    c = Checks(spell)
    out = [c.nested((i,), label_selector(sel, spell)) for i, sel in enumerate(raw or ())]
    if c.failed:
        return None, c.problems
    return tuple(s for s in out if s is not None), c.problems
