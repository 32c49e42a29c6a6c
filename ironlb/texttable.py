"""Plain-text tables as ``ironlb plan``, ``ironlb status``, the what-if report and ``ironlb lab status``
print them: left-aligned columns two spaces apart, as kubectl prints its tables.

Why here: those four printed tables with four copies of this function, one of which left trailing
spaces; a module at the bottom of the library lets every layer use the one.
"""

from __future__ import annotations

from collections.abc import Sequence


def columns(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """``rows`` as lines of columns, each as wide as its widest cell; the last column is free text,
    not padded, and no line ends in spaces."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)), row[-1]]).rstrip()
        for row in rows
    ]
