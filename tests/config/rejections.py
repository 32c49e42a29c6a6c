"""Shared by the config rule tables: parse a config that must be rejected and check its errors."""

from __future__ import annotations

import textwrap

import pytest

from ironlb.config import ConfigError, parse_config

PEER = "{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513}"

Rejection = tuple[str, str, list[tuple[str, str]]]
"""(id, config, [(path, substring of message)]) -- the errors must be exactly these, in any order."""


def errors_of(text: str) -> list[str]:
    """The errors of a config that must not parse; the exception's text is exactly those errors."""
    with pytest.raises(ConfigError) as info:
        parse_config(textwrap.dedent(text))
    assert str(info.value) == "\n".join(info.value.errors)
    return list(info.value.errors)


def assert_rejected(text: str, expected: list[tuple[str, str]]) -> None:
    """The config is rejected with exactly the expected errors, each ``path: ...fragment...``."""
    errors = errors_of(text)
    assert len(errors) == len(expected), errors
    for path, fragment in expected:
        matching = [e for e in errors if e.startswith(f"{path}: ") and fragment in e]
        assert matching, f"no error '{path}: ...{fragment}...' in {errors}"
