"""Entry point of the ``ironlb`` command: one subcommand per module in this package.

Exit codes follow the contract in ARCHITECTURE.md: 0 success, 1 the input is
wrong (errors on stderr), 2 usage error (argparse's own convention).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ironlb.cli import convert, lab, plan, validate

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ironlb",
        description="ironlb: bare-metal LoadBalancer provider for Kubernetes.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (validate, plan, lab, convert):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
