"""Run the API-server double as a process: ``python -m tests.support.kubeapi --kubeconfig PATH``."""

from __future__ import annotations

import argparse
import json
import sys

from ironlb.stopping import stop_on_signals
from tests.support.kubeapi.server import KubeApiServer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.support.kubeapi")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--kubeconfig", help="write a kubeconfig for the double here")
    ap.add_argument("--history-limit", type=int, default=100_000)
    ap.add_argument("--bookmark-interval", type=float, default=2.0)
    args = ap.parse_args(argv)
    server = KubeApiServer(
        args.host, args.port, history_limit=args.history_limit, bookmark_interval=args.bookmark_interval
    ).start()
    if args.kubeconfig:
        server.write_kubeconfig(args.kubeconfig)
    done = stop_on_signals()
    print(json.dumps({"url": server.url, "kubeconfig": args.kubeconfig}), flush=True)
    done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
