"""The findings collected while one conversion runs (see ``ironlb.metallb.findings``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ironlb.metallb.findings import Finding, Severity, Source


@dataclass
class Report:
    """Findings collected during one conversion."""

    findings: list[Finding] = field(default_factory=list)

    def add(self, severity: Severity, where: Source | str, path: str, message: str) -> None:
        self.findings.append(Finding(severity, str(where), path, message))

    @property
    def failed(self) -> bool:
        return any(f.severity == "error" for f in self.findings)
