"""``json.dumps(doc, indent=2)``, the same bytes, about three times faster for big documents.

Why hand-written: the standard library's C encoder is used only without ``indent`` (CPython
3.11-3.13); with it, every value goes through a chain of Python generators as deep as the
document, which for ``ironlb plan --kubeconfig -o json`` over 10,000 Services (100,000 route
changes) costs more than a second. This walks the document once into a list of pieces, and
quotes strings with the C function the standard encoder uses. Anything but dicts with string
keys, lists, tuples, strings, ints, bools and None (a float, a non-string key, a subclass) makes
it hand the whole document to ``json.dumps``, so the output is always what ``json.dumps`` gives.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any

_INDENT = "  "


class _Unsupported(Exception):
    """A value this writer leaves to ``json.dumps``."""


def dumps_indented(doc: Any) -> str:
    """``json.dumps(doc, indent=2)`` (ASCII output, the default separators)."""
    pieces: list[str] = []
    try:
        _write(doc, 0, pieces)
    except (_Unsupported, RecursionError):
        return json.dumps(doc, indent=2)
    return "".join(pieces)


def _write(value: Any, level: int, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(encode_basestring_ascii(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is dict:
        _write_dict(value, level, out)
    elif kind is list or kind is tuple:
        _write_list(value, level, out)
    else:
        raise _Unsupported(kind)


def _write_dict(value: dict[Any, Any], level: int, out: list[str]) -> None:
    if not value:
        out.append("{}")
        return
    inner = "\n" + _INDENT * (level + 1)
    separator = "{"
    for key, item in value.items():
        if type(key) is not str:
            raise _Unsupported(type(key))
        out.append(separator + inner + encode_basestring_ascii(key) + ": ")
        _write(item, level + 1, out)
        separator = ","
    out.append("\n" + _INDENT * level + "}")


def _write_list(value: list[Any] | tuple[Any, ...], level: int, out: list[str]) -> None:
    if not value:
        out.append("[]")
        return
    inner = "\n" + _INDENT * (level + 1)
    separator = "["
    for item in value:
        out.append(separator + inner)
        _write(item, level + 1, out)
        separator = ","
    out.append("\n" + _INDENT * level + "]")
