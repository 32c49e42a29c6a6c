"""Entry point of the ``ironlb`` command: one subcommand per module in this package.

Exit codes follow the contract in ARCHITECTURE.md: 0 success, 1 the input is
wrong (errors on stderr), 2 usage error (argparse's own convention); ``plan``
adds 3 (valid input, but some Service gets no IP). With a cluster (``plan
--kubeconfig``, ``status``) they are ``kubectl diff``'s: see ``ironlb.cli.live``.

Start-up time matters for a command run by hand and in scripts (the demo calls it
dozens of times): the subcommand modules import only the standard library at
the top and load the config parser, the planner or the lab machinery when their
command runs. A test keeps ``--help``, ``validate`` and ``plan`` from importing the
Kubernetes client, scapy, pyroute2, ExaBGP or prometheus_client.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ironlb.cli import convert, lab, plan, status, validate
from ironlb.version import VersionAction

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def build_parser(prog: str = "ironlb") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="ironlb: bare-metal LoadBalancer provider for Kubernetes.",
    )
    parser.add_argument("--version", action=VersionAction, help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (validate, plan, status, lab, convert):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "ironlb") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
