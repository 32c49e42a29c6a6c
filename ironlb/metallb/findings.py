"""What ``ironlb convert`` tells the user, and where each thing came from.

A conversion from MetalLB's CRDs to ironlb's legacy-format config can be exact,
or lose something the legacy format cannot express. Nothing may be dropped
silently, so every such place becomes a :class:`Finding` that names its source
(``file:doc#N Kind/name``), the field (``spec.nodeSelectors``) and what ironlb
does instead. Severities decide the exit code:

- ``error``: the input cannot be converted (bad value, conflicting protocols, a
  missing BFDProfile); nothing is printed on stdout, exit 1.
- ``lossy``: converted, but something is not kept; exit 1 unless ``--allow-lossy``.
- ``warning``: converted with a choice the user should know about (a pool no
  advertisement selects, ``--prefer`` dropping the other protocol, a deprecated
  AddressPool); exit 0.
- ``note``: for information (other kinds ignored); exit 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "lossy", "warning", "note"]


@dataclass(frozen=True, order=True)
class Origin:
    """Where an object was read: a file, the 1-based document in it, and the item of a ``kind: List``."""

    file: str
    doc: int
    item: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:doc#{self.doc}"
        return where if self.item is None else f"{where}.items[{self.item}]"


@dataclass(frozen=True)
class Source:
    """One Kubernetes object of the input."""

    origin: Origin
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.origin} {self.kind}/{self.name}"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    where: str
    """``file:doc#N Kind/name``, or just the file for file-level problems."""
    field: str
    """``spec.addresses[0]``; empty when the finding is about the whole object or file."""
    message: str

    def __str__(self) -> str:
        line = (
            f"{self.where}: {self.field}: {self.message}" if self.field else f"{self.where}: {self.message}"
        )
        # One finding, one line: names and values from the input may hold control characters.
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)
