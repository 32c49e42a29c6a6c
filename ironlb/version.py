"""Which ironlb is this: the installed distribution's version, for ``--version`` and build-info metrics.

Why here: the version is written once, in ``pyproject.toml``; the installed package's
metadata carries it (``importlib.metadata``), so the CLI, the programs (``VersionAction``,
the one ``--version`` of every ironlb parser) and the ``ironlb_build_info`` metric
(``ironlb.build_info``) all report the same string without a second copy to keep in step.
Kept free of third-party imports so that ``ironlb --version`` starts fast.
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Sequence
from importlib import metadata
from typing import Any

DISTRIBUTION = "ironlb"
UNKNOWN = "0+unknown"
"""What :func:`version` answers for a source tree that was never installed (no metadata)."""


def version() -> str:
    """The installed ironlb's version (``pyproject.toml``'s ``project.version``), or ``0+unknown``."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def python_version() -> str:
    """The running interpreter's version, e.g. ``3.11.7``."""
    return platform.python_version()


def version_line(program: str) -> str:
    """What ``PROGRAM --version`` prints: ``ironlb 0.1.0 (Python 3.11.7)``."""
    return f"{program} {version()} (Python {python_version()})"


class VersionAction(argparse.Action):
    """``--version`` of every ironlb parser: prints :func:`version_line` of the parser's ``prog``, exits 0.

    Like argparse's own, except that the version is read (``importlib.metadata``) only when asked.
    """

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(version_line(parser.prog))
        parser.exit()
