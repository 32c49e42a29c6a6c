"""``ironlb-controller`` / ``python -m controller``: parse flags, set up logs, run until signalled.

SIGTERM and SIGINT end the run gracefully: writing stops, then the Lease is released
so the standby, which watches the Lease, takes over at once instead of waiting out the lease.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from controller.options import parse_options
from controller.runtime import run
from ironlb import logs


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_options(argv)
    logs.setup(opts.log_format)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return run(opts, stop)


if __name__ == "__main__":
    sys.exit(main())
