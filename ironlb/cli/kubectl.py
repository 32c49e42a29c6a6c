"""``kubectl-ironlb``: ironlb as a kubectl plugin (``kubectl ironlb plan``, ``kubectl ironlb status``).

kubectl runs ``kubectl-ironlb`` (found on ``PATH``) with the arguments after ``ironlb``; the
flags are kubectl's (``--kubeconfig``, ``--context``, ``-n`` for ironlb's namespace). The
commands are ``ironlb``'s, with one difference: ``plan`` reads the cluster by default (the
current context, as kubectl does), since a kubectl user means the cluster; ``plan`` from
files stays ``ironlb plan``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ironlb.cli.main import main as ironlb_main

PROG = "kubectl ironlb"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "plan" and "--live" not in args and not any(a in ("-h", "--help") for a in args):
        args.insert(1, "--live")
    return ironlb_main(args, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
