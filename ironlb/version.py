"""Which ironlb is this: the installed distribution's version, for ``--version`` and build-info metrics.

Why here: the version is written once, in ``pyproject.toml``; the installed package's
metadata carries it (``importlib.metadata``), so the CLI, the programs and the
``ironlb_build_info`` metric (``ironlb.build_info``) all report the same string
without a second copy to keep in step. Kept free of third-party imports so that
``ironlb --version`` starts fast.
"""

from __future__ import annotations

import platform
from importlib import metadata

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
