"""The one error type of configuration parsing.

A user fixing a config wants every problem at once, each pointing at the place
in the document, so ``ConfigError`` carries a tuple of ``"path: message"``
strings rather than a single message. It is a permanent error: retrying the
same text never helps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


class ConfigError(Exception):
    """An invalid configuration; ``errors`` holds every problem as ``"path: message"``."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors: tuple[str, ...] = tuple(errors)
        super().__init__("\n".join(self.errors))

    def __str__(self) -> str:
        return "\n".join(self.errors)


class Problems:
    """Collects ``"path: message"`` errors and warnings while a config is checked."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self._suppressed: set[str] = set()

    def error(self, path: str, message: str) -> None:
        if not self.is_suppressed(path):
            self.errors.append(f"{path or '(root)'}: {message}")

    def suppress(self, path: str) -> None:
        """Drop later errors at or below ``path``: it was reported already and then removed."""
        self._suppressed.add(path)

    def is_suppressed(self, path: str) -> bool:
        if not self._suppressed:
            return False
        if path in self._suppressed:
            return True
        return any(
            len(path) > len(s) and path.startswith(s) and path[len(s)] in ".[" for s in self._suppressed
        )

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{path or '(root)'}: {message}")

    def raise_if_any(self) -> None:
        if self.errors:
            raise ConfigError(self.errors)


def join_path(base: str, *parts: str | int) -> str:
    """``join_path("peers", 0, "node-selectors")`` is ``"peers[0].node-selectors"``."""
    out = base
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out = f"{out}.{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


_LOCATED = re.compile(
    r"""(\(root\)|(?:[A-Za-z0-9_.-]+\ )?line\ \d+
    |(?:[A-Za-z0-9_-]+|\.|\[\d+\]|\['(?:[^'\\]|\\.)*'\]|\["(?:[^"\\]|\\.)*"\])+):\ """,
    re.X,
)


def split_line(line: str) -> tuple[str, str]:
    """``"path: message"`` (as :class:`ConfigError` and :class:`Problems` hold them) → (path, message).

    Paths are :func:`join_path`'s (quoted keys may hold ``": "``), ``(root)`` or a YAML
    ``line N`` (``data.config line N``); ``(root)`` becomes the empty path.
    """
    m = _LOCATED.match(line)
    if m is None:
        return "", line
    path = m.group(1)
    return ("" if path == "(root)" else path), line[m.end() :]
