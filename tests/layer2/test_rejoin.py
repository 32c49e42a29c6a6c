"""When a speaker re-announces the IPs it still owns: only after it may have been cut off."""

from __future__ import annotations

import pytest

from speaker.layer2.announcer import rejoined_after_isolation

F = frozenset


@pytest.mark.parametrize(
    ("before", "now", "expected"),
    [
        (None, F({"n1", "n2", "n3"}), F()),  # the first view: nothing to come back from
        (F({"n1"}), F({"n1", "n2", "n3"}), F({"n2", "n3"})),  # it was alone: its link came back
        (F(), F({"n1", "n2"}), F({"n2"})),  # alone, without itself in the set
        (F({"n1", "n2"}), F({"n1", "n2", "n3"}), F()),  # one speaker back: a restart or a new node
        (F({"n1", "n2"}), F({"n1", "n2", "n3", "n4"}), F({"n3", "n4"})),  # a healed partition
        (F({"n1", "n2", "n3"}), F({"n1", "n2"}), F()),  # shrinking is not coming back
        (F({"n1", "n2"}), F({"n1", "n2"}), F()),
    ],
)
def test_rejoined_after_isolation(
    before: frozenset[str] | None, now: frozenset[str], expected: frozenset[str]
) -> None:
    assert rejoined_after_isolation(before, now, "n1") == expected
