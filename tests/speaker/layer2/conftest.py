"""Fixtures shared with other directories."""

from tests.support.fixtures_layer2 import l2lab  # noqa: F401
