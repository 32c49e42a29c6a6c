"""Read and parse the config file a command was given, or say in one sentence why it cannot be used.

Shared by ``ironlb validate`` and ``ironlb plan -c``: the same file gets the same
answer from both. A file that cannot be read is a usage error (exit 2); one that
is not UTF-8 text, or holds other Kubernetes objects than a config (MetalLB's
custom resources, Services: ``ironlb.cli.filekinds`` names the command that takes
them), or an invalid config, is invalid input (exit 1).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ironlb.textfile import NotText, decode_text, read_text

if TYPE_CHECKING:
    from ironlb.config.parse import ParseResult

EXIT_INVALID = 1
EXIT_USAGE = 2
STDIN = "-"


@dataclass
class ConfigFileError(Exception):
    """Why the file gives no config: one ``sentence``, or the parser's ``errors`` (each ``path: message``)."""

    code: int
    sentence: str = ""
    errors: tuple[str, ...] = ()


def read_config(path: str, *, key: str = "config", stdin: BinaryIO | None = None) -> ParseResult:
    """The parsed config of ``path`` (``-``: standard input) with its warnings; :class:`ConfigFileError`."""
    from ironlb.config import ConfigError
    from ironlb.config.parse import parse_config_report

    try:
        if path == STDIN:
            text = decode_text((stdin or sys.stdin.buffer).read(), "standard input")
        else:
            text = read_text(Path(path))
    except OSError as exc:
        raise ConfigFileError(EXIT_USAGE, f"cannot read {path}: {exc.strerror or exc}") from None
    except NotText as exc:
        raise ConfigFileError(EXIT_INVALID, str(exc)) from None
    try:
        return parse_config_report(text, key=key)
    except ConfigError as exc:
        sentence = _not_a_config(text, path)
        raise ConfigFileError(EXIT_INVALID, sentence or "", () if sentence else tuple(exc.errors)) from None


def _not_a_config(text: str, path: str) -> str | None:
    """What the file is instead of a config, when it is Kubernetes objects of other kinds."""
    import yaml

    from ironlb.cli.filekinds import describe_non_config

    try:
        documents: list[Any] = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return None  # the parser's YAML error says it better
    return describe_non_config(documents, path)
