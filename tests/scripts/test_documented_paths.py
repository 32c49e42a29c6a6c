"""The paths a newcomer copies from the README, the samples' README and the demo exist on disk.

The CLI also resolves shorthands (``containerlab/bgp-ecmp.clab.yml``, a bare name),
but a path printed for a human to read or open must be a real file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ["README.md", "config/samples/README.md", "containerlab/README.md", "scripts/demo.sh"]
PATH = re.compile(r"(?<![\w/.-])((?:containerlab|config|scripts|benchmarks)/[\w./-]*[\w/])")
PLACEHOLDER = re.compile(r"\b(NAME|NODE|TOPOLOGY|FILE|DIR)\b")  # config/samples/NAME.yaml stands for any


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_repository_path_named_exists(document: str) -> None:
    named = sorted(set(PATH.findall((ROOT / document).read_text())))
    assert named, f"{document} names no path: the pattern is wrong"
    missing = [p for p in named if not PLACEHOLDER.search(p) and not (ROOT / p).exists()]
    assert missing == [], f"{document} names paths that do not exist: {missing}"
