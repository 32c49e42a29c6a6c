"""Golden files: compare rendered text with a reviewed copy; ``IRONLB_UPDATE_GOLDEN=1`` rewrites it."""

from __future__ import annotations

import os
from pathlib import Path


def check_golden(path: Path, text: str) -> None:
    """Assert ``text`` equals the golden file at ``path`` (or write it, when refreshing)."""
    if os.environ.get("IRONLB_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"golden file {path} missing: run with IRONLB_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{path.name} differs (IRONLB_UPDATE_GOLDEN=1 refreshes it)"
