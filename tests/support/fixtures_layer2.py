"""Fixtures for the layer-2 speaker tests: the namespace lab (root only), always torn down."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.support.layer2_lab import L2Lab


@pytest.fixture(scope="module")
def l2lab() -> Iterator[L2Lab]:
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    for tool in ("arping", "ndisc6", "ip"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    lab = L2Lab()
    try:
        lab.up()
        yield lab
    finally:
        lab.close()
