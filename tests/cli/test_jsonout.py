"""``dumps_indented`` writes exactly what ``json.dumps(doc, indent=2)`` writes, for any document."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ironlb.cli.jsonout import dumps_indented

scalars = st.none() | st.booleans() | st.integers() | st.text()
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=30,
)


@given(documents)
def test_same_bytes_as_json_dumps(doc: Any) -> None:
    assert dumps_indented(doc) == json.dumps(doc, indent=2)


@given(st.dictionaries(st.text(max_size=3), documents, max_size=3), documents)
def test_a_dict_held_many_times_is_written_each_time_at_its_level(shared: dict[str, Any], other: Any) -> None:
    """The one dict object at several places and levels (``ironlb plan`` shares a route's dict
    between all the nodes and peers it changes for)."""
    doc = {"a": [shared, shared, other], "b": shared, "c": [[shared, {"d": shared}]], "e": other}
    assert dumps_indented(doc) == json.dumps(doc, indent=2)


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    "doc",
    [
        {"a": [1.5, float("nan")]},
        {1: "int key", None: [True]},
        [Level.HIGH, {"x": Level.HIGH}],
        {"nested": {"k": 2.0}},
    ],
)
def test_values_it_leaves_to_json_dumps_come_out_the_same(doc: Any) -> None:
    assert dumps_indented(doc) == json.dumps(doc, indent=2)


def test_a_circular_document_is_refused_as_json_dumps_refuses_it() -> None:
    doc: list[Any] = []
    doc.append(doc)
    try:
        json.dumps(doc, indent=2)
    except ValueError as exc:
        expected = str(exc)
    try:
        dumps_indented(doc)
    except ValueError as exc:
        assert str(exc) == expected
    else:
        raise AssertionError("a circular document was written")
