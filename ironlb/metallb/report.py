"""The findings collected while one conversion runs (see ``ironlb.metallb.findings``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ironlb.config.errors import join_path
from ironlb.config.fields import Problem
from ironlb.metallb.findings import Finding, Severity, Source


@dataclass
class Report:
    """Findings collected during one conversion."""

    findings: list[Finding] = field(default_factory=list)

    def add(self, severity: Severity, where: Source | str, path: str, message: str) -> None:
        self.findings.append(Finding(severity, str(where), path, message))

    def problems(self, where: Source, base: str, problems: Iterable[Problem]) -> None:
        """The field rules' problems (:mod:`ironlb.config.fields`) of the object part at ``base``."""
        for problem in problems:
            severity: Severity = "warning" if problem.warning else "error"
            self.add(severity, where, join_path(base, *problem.field), problem.message)

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def failed(self) -> bool:
        return any(f.severity == "error" for f in self.findings)
