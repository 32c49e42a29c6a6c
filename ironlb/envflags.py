"""Flags with environment-variable equivalents: a bad value is a usage error naming where it came from.

Both programs take every setting from a flag or from the environment (a Deployment sets
``env``). argparse checks a flag's value itself; a value from the environment is checked
here, after parsing and only when the flag was not given (the flag wins), and a bad one
ends the program like a bad flag: exit status 2 and one line naming the variable
(``environment variable IRONLB_WORKERS='default': invalid int value``), never a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def boolean(text: str) -> bool:
    """``true``/``false`` and their usual spellings; anything else is refused, not taken as false."""
    value = text.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(sorted(TRUE | FALSE))}")


def from_env(
    parser: argparse.ArgumentParser,
    given: T | None,
    env: Mapping[str, str],
    name: str,
    convert: Callable[[str], T],
    default: T,
) -> T:
    """The flag's value if it was ``given``, else ``env[name]`` converted, else ``default``.

    An empty variable counts as unset. A value ``convert`` refuses (ValueError or
    ArgumentTypeError) exits through ``parser.error`` naming the variable.
    """
    if given is not None:
        return given
    raw = env.get(name, "")
    if not raw.strip():
        return default
    try:
        return convert(raw.strip())
    except (ValueError, argparse.ArgumentTypeError) as exc:
        reason = str(exc) if isinstance(exc, argparse.ArgumentTypeError) else ""
        kind = getattr(convert, "__name__", "value")
        parser.error(f"environment variable {name}={raw!r}: {reason or f'invalid {kind} value'}")
