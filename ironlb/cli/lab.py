"""``ironlb lab up|down|status|exec|services``: containerlab topologies on network namespaces.

This module only declares the arguments; ``ironlb.cli.lab_commands`` does the
work and is imported when a lab command runs, so that ``ironlb --help`` and the
other commands do not load the lab machinery.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_STATE_ROOT = "/run/ironlb-lab"
"""``ironlb.lab.state.DEFAULT_ROOT``, written out for the help text (a test keeps them equal)."""


def _run(args: argparse.Namespace) -> int:
    from ironlb.cli import lab_commands

    return lab_commands.run(args)


def register(subparsers: Any) -> None:
    """Add ``lab`` and its sub-commands to the ``ironlb`` parser."""
    parser = subparsers.add_parser(
        "lab",
        help="run a containerlab topology on network namespaces (FRR/BIRD routers, real hosts)",
        description=(
            "Run containerlab topologies (containerlab/*/*.clab.yml) on Linux network namespaces. "
            "TOPOLOGY is a .clab.yml file, its directory, a name under containerlab/, or (down/status/exec) "
            "the name of a running lab."
        ),
    )
    commands = parser.add_subparsers(dest="lab_command", required=True, metavar="ACTION")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("topology", metavar="TOPOLOGY")
        sub.add_argument("--name", help="lab instance name (default: the topology's name)")
        sub.add_argument(
            "--state-dir", type=Path, default=None,
            help=f"state root (default: $IRONLB_LAB_STATE, else {DEFAULT_STATE_ROOT})",
        )  # fmt: skip

    up = commands.add_parser(
        "up",
        help="create namespaces, links, addresses; start routers and ironlb",
        description="Bring a topology up. When it ships ironlb manifests (an ironlb/ directory next to "
        "it), ironlb runs on it too: ironlb-controller --manifests over the lab's cluster directory, "
        "ironlb-speaker and a test backend on every node labelled ironlb.io/kubernetes-node.",
    )
    common(up)
    up.add_argument("--foreground", action="store_true", help="stay in the foreground until SIGINT/SIGTERM")
    which = up.add_mutually_exclusive_group()
    which.add_argument(
        "--no-ironlb",
        action="store_true",
        help="routers and hosts only: do not run ironlb's controller, speakers and test backends",
    )
    which.add_argument(
        "--with-ironlb",
        action="store_true",
        help="run ironlb (the default when the topology ships an ironlb/ directory of manifests; "
        "kept for compatibility)",
    )
    common(commands.add_parser("down", help="stop everything the lab started and delete its namespaces"))
    status = commands.add_parser("status", help="nodes, links, router processes and BGP sessions")
    common(status)
    status.add_argument(
        "-o",
        "--output",
        choices=("table", "json", "text"),
        default="table",
        help="table (the default; 'text' is the same, as before) or json, as the other commands take",
    )
    common(commands.add_parser("services", help="the lab cluster's Services and their IPs (with ironlb)"))
    exec_ = commands.add_parser("exec", help="run a command inside a node: exec TOPOLOGY NODE -- CMD...")
    common(exec_)
    exec_.add_argument("node", metavar="NODE")
    exec_.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD")
    parser.set_defaults(run=_run)
