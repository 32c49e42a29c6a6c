"""``python -m ironlb.lab.supervisor``: the detached process that owns a lab started by the CLI.

Why: routing daemons run in the foreground and need a living parent that reaps
them (PID 1 does not always do it). ``ironlb lab up`` starts this process in its
own session and returns once it reports ``READY`` (or ``ERROR ...``) on its
stdout; the supervisor keeps the daemons as its children, is a child subreaper
for anything they fork, and tears the lab down on SIGTERM/SIGINT (which is what
``ironlb lab down`` sends).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from ironlb.lab import procs
from ironlb.lab.runner import Lab, LabError
from ironlb.lab.topology import TopologyError, load_topology

log = logging.getLogger(__name__)


def _report(line: str) -> None:
    """Tell the waiting CLI how ``up`` went, then detach stdout from its pipe."""
    try:
        sys.stdout.write(line.rstrip("\n").replace("\n", "\\n") + "\n")
        sys.stdout.flush()
    except OSError:
        pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ironlb.lab.supervisor")
    parser.add_argument("topology", type=Path)
    parser.add_argument("--instance")
    parser.add_argument("--state-root", type=Path)
    parser.add_argument("--with-ironlb", action="store_true", help="also run ironlb (ironlb.lab.system)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    stop = procs.StopRequest()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    procs.set_child_subreaper(True)
    try:
        topology = load_topology(args.topology)
        lab = Lab(topology, instance=args.instance, state_root_dir=args.state_root, owner_kind="supervisor")
        lab.up()
    except (TopologyError, LabError, OSError) as exc:
        _report(f"ERROR {exc}")
        return 1
    if args.with_ironlb:
        from ironlb.lab.system import IronlbSystem

        try:
            IronlbSystem(lab).start().wait_ready()
        except (LabError, OSError) as exc:
            lab.down()
            _report(f"ERROR ironlb did not start: {exc}")
            return 1
    _report("READY")
    log.info("lab %s up; supervising %d processes", lab.instance, len(lab.state.processes))
    reported: set[int] = set()
    while not stop.requested:
        # reap whatever exited: our daemons and orphans re-parented to us
        try:
            while True:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                if pid not in reported:
                    reported.add(pid)
                    log.warning("pid %d exited with status %d", pid, status)
        except ChildProcessError:
            pass
        time.sleep(0.2)
    log.info("lab %s: stopping", lab.instance)
    lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
