"""``python -m speaker`` / ``ironlb-speaker``.

The flags are parsed before the speaker's modules are imported, so ``--help``, ``--version``
and a usage error answer at once instead of after loading scapy, pyroute2 and the client.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from speaker.options import parse_options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    from speaker.main import run

    return run(options)


if __name__ == "__main__":
    sys.exit(main())
