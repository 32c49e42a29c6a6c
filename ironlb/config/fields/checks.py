"""How an item rule reports: ``Problem`` (a field path below the item and a message) and ``Checks``,
which collects them while spelling field names for the input being read (see ``ironlb.config.fields``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ParamSpec, TypeVar

Spelling = Callable[[str], str]
"""How an input writes a field of the domain model: ``"my_asn"`` is ``"my-asn"`` in the ConfigMap,
``"myASN"`` in a CRD."""

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in an item, at ``field`` below the item."""

    field: FieldPath
    message: str
    warning: bool = False


T = TypeVar("T")
P = ParamSpec("P")


class Checks:
    """Collects the problems of one item, spelling its field names for the input being read.

    A place is a field name of the domain model (spelled), optionally followed by
    indices and map keys below it (as written): ``("addresses", 2)``.
    """

    def __init__(self, spell: Spelling) -> None:
        self.spell = spell
        self.problems: list[Problem] = []

    def _path(self, where: str | FieldPath) -> FieldPath:
        if isinstance(where, str):
            return (self.spell(where),)
        head, *rest = where
        return (self.spell(head) if isinstance(head, str) else head, *rest)

    def error(self, where: str | FieldPath, message: str) -> None:
        self.problems.append(Problem(self._path(where), message))

    def warn(self, where: str | FieldPath, message: str) -> None:
        self.problems.append(Problem(self._path(where), message, warning=True))

    def value(
        self, where: str | FieldPath, rule: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        """``rule(*args)``, or ``None`` with the rule's message as an error at ``where``."""
        try:
            return rule(*args, **kwargs)
        except ValueError as exc:
            self.error(where, str(exc))
            return None

    def nested(self, where: str | FieldPath, found: tuple[T, list[Problem]]) -> T:
        """A sub-item's value, its problems moved under ``where``."""
        value, problems = found
        base = self._path(where)
        self.problems += [replace(p, field=base + p.field) for p in problems]
        return value

    @property
    def failed(self) -> bool:
        return any(not p.warning for p in self.problems)
