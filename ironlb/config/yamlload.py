"""YAML loading that behaves like the Go decoder MetalLB used (``gopkg.in/yaml.v2``).

Why not plain ``yaml.safe_load``: MetalLB configs must be accepted verbatim, and
PyYAML's YAML 1.1 resolver differs from yaml.v2 in ways that break real configs:

- ``64512:10`` (a community) is a base-60 integer to PyYAML, a string to yaml.v2;
- yaml.v2 decodes *any* plain scalar into a string field using its source text
  (``password: 123456``, ``match-labels: {rack: 01}``), so the text must survive;
- yaml.v2 rejects duplicate mapping keys, PyYAML silently keeps the last one.

So this loader drops the sexagesimal and timestamp resolvers, wraps every plain
scalar that resolved to a non-string in :class:`PlainScalar` (a ``str`` holding
the source text plus the resolved ``value``), and reports duplicate keys with
their line. The wire models unwrap ``PlainScalar`` according to the field type.

Every failure becomes ``(message-with-line)`` strings; nothing else escapes. The
expanded size of a document is bounded, so alias bombs and recursive aliases are
refused instead of exhausting memory or the stack. Hand-written (a small subclass
of PyYAML's SafeLoader) because no library offers yaml.v2's semantics in Python.
The pure-Python loader is used on purpose: PyYAML's libyaml-based CSafeLoader
crashes the interpreter (SIGSEGV) on deeply nested input, and configs are small
(the bundled MetalLB sample parses in under 10 ms).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

MAX_NODES = 200_000
"""Upper bound on the expanded size of a document (aliases counted at each use)."""


class PlainScalar(str):
    """A plain YAML scalar that resolved to a non-string; ``str(self)`` is its source text."""

    value: Any

    def __new__(cls, text: str, value: Any) -> PlainScalar:
        obj = super().__new__(cls, text)
        obj.value = value
        return obj


class YamlError(Exception):
    """A YAML syntax or structure problem; ``line`` and ``column`` are 1-based (0 when unknown)."""

    def __init__(self, line: int, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """SafeLoader with yaml.v2-like scalar resolution and duplicate-key detection."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {  # noqa: RUF012
        first: [
            (tag, regexp)
            for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # the base class reports unhashable keys with their mark
                if key in seen:
                    raise ConstructorError(
                        None,
                        None,
                        f"duplicate key {str(key)!r} (first at line {seen[key]})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


def _plain(tag: str) -> Any:
    def construct(loader: _Loader, node: ScalarNode) -> Any:
        text = loader.construct_scalar(node)
        value = yaml.SafeLoader.yaml_constructors[tag](loader, node)
        if node.style is None and node.tag == tag and not isinstance(value, str):
            return PlainScalar(text, value)
        return value

    return construct


for _first in "-+0123456789":
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).append(("tag:yaml.org,2002:int", _INT))
for _first in "-+.0123456789":
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).append(("tag:yaml.org,2002:float", _FLOAT))
for _tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"):
    _Loader.add_constructor(_tag, _plain(_tag))


def _position(exc: yaml.YAMLError) -> tuple[int, int]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return int(mark.line) + 1, int(mark.column) + 1
    return 0, 0


def _describe(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        return "; ".join(parts) if parts else "invalid YAML"
    if isinstance(exc, yaml.reader.ReaderError):
        char = chr(exc.character) if isinstance(exc.character, int) else exc.character
        return f"invalid character {char!r} at position {exc.position}"
    return str(exc) or "invalid YAML"


def _check_size(doc: Any) -> None:
    """Walk the expanded document: refuse cycles and documents larger than ``MAX_NODES``."""
    budget = MAX_NODES
    stack: list[tuple[Any, frozenset[int]]] = [(doc, frozenset())]
    while stack:
        obj, ancestors = stack.pop()
        budget -= 1
        if budget < 0:
            raise YamlError(0, f"document too large (more than {MAX_NODES} nodes after expanding aliases)")
        if isinstance(obj, dict | list):
            if id(obj) in ancestors:
                raise YamlError(0, "recursive YAML alias")
            inner = ancestors | {id(obj)}
            children = list(obj.values()) if isinstance(obj, dict) else obj
            stack.extend((c, inner) for c in children)


def load_documents(text: str) -> list[Any]:
    """All documents of ``text``; raises :class:`YamlError` with a line number on any problem."""
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        line, column = _position(exc)
        raise YamlError(line, _describe(exc), column) from None
    except RecursionError:
        raise YamlError(0, "document nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # PyYAML lets some bad escapes (\U99999999) through
        raise YamlError(0, f"invalid YAML: {exc}") from None
    for doc in docs:
        _check_size(doc)
    return docs


def block_scalar_offset(text: str, doc_index: int, path: tuple[str, ...]) -> tuple[int, int] | None:
    """Where the content of the block scalar at ``path`` starts: (0-based line, indentation).

    Lets errors inside ``data.config`` of a ConfigMap name the line of the file.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except (yaml.YAMLError, RecursionError):
        return None
    if doc_index >= len(nodes):
        return None
    node: Node = nodes[doc_index]
    for key in path:
        if not isinstance(node, MappingNode):
            return None
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                node = v
                break
        else:
            return None
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        line = int(node.start_mark.line) + 1
        lines = text.splitlines()
        content = lines[line] if line < len(lines) else ""
        return line, len(content) - len(content.lstrip(" "))
    return None


def native(value: Any) -> Any:
    """Unwrap :class:`PlainScalar` (recursively) into plain Python values."""
    if isinstance(value, PlainScalar):
        return value.value
    if isinstance(value, dict):
        return {native(k): native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [native(v) for v in value]
    return value
