"""``ironlb-controller`` / ``python -m controller``: parse flags, set up logs, run until signalled.

With ``--manifests DIR`` (env ``IRONLB_MANIFESTS``) it runs over a manifest directory
instead of the Kubernetes API (``controller.standalone``), as the lab does.

SIGTERM and SIGINT end the run gracefully: writing stops, then the Lease is released
so the standby, which watches the Lease, takes over at once instead of waiting out the lease.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from controller.options import build_parser, parse_options
from ironlb import logs
from ironlb.stopping import stop_on_signals


def main(argv: Sequence[str] | None = None, *, manifests_required: bool = False) -> int:
    opts = parse_options(argv)
    if manifests_required and opts.manifests is None:
        build_parser().error("--manifests (or IRONLB_MANIFESTS) is required")
    logs.setup(opts.log_format)
    stop = stop_on_signals()
    if opts.manifests is not None:
        from controller import standalone

        return standalone.run(
            Path(opts.manifests),
            stop,
            namespace=opts.namespace,
            configmap=opts.configmap,
            lb_class=opts.lb_class,
            poll_interval=opts.poll_interval,
        )
    from controller.runtime import run
    from ironlb.kube.client import CredentialsError

    try:
        return run(opts, stop)
    except CredentialsError as exc:  # before anything started: a flag or the environment to fix
        hint = "give --kubeconfig FILE or set KUBECONFIG; in a Pod, its ServiceAccount"
        print(f"ironlb-controller: {exc} ({hint})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
