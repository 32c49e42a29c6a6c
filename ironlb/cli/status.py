"""``ironlb status [NAMESPACE/SERVICE]``: what runs, as ironlb's programs publish it.

Imperative shell: read the cluster (``ironlb.kube.snapshot``: Services, Nodes,
EndpointSlices, Namespaces, the ConfigMap), what the programs published there
(``ironlb.kube.published``: Events, the speakers' Pods, the ServiceL2Status and
ServiceBGPStatus objects they write), and what each speaker answers on
its metrics port (``ironlb.live.scrape``); ``ironlb.live.status`` assembles it, saying for
every answer where it comes from. Only reads (``config/viewer``).

The speakers' metrics are asked at their Pod's IP (``hostNetwork``: the node's address) or,
without a speaker Pod, at the Node's InternalIP, on ``--metrics-port`` (7473); ``--speaker
NODE=URL`` says where for a node (a port-forward, a proxy, a lab), ``--no-metrics`` asks none.
With ``--manifests`` only the ``--speaker`` URLs are asked: the Nodes' addresses in files say
nothing about where this host can reach them (a lab's live inside its network namespaces; asked
from the host, they would go out through its default route).
A speaker that does not answer is shown as such; who announces a Service is then taken from
the speakers that did, and said to be unknown for the others.

Exit status: 0 the status was shown; 1 ``NAMESPACE/SERVICE`` names no LoadBalancer Service
of ironlb's; 2 usage error, or the cluster cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from ironlb.cli import live

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_ERROR = 2
METRICS_PORT = 7473


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "status",
        help="show what ironlb runs: each Service's IPs and who announces them, each node's speaker",
        description=(
            "Per Service: its IPs, pool, who announces it (layer-2 owner and interfaces, or BGP nodes and "
            "peers), why it has no IP, its last ironlb Events. Per node: whether its speaker is ready, its "
            "membership view, its BGP sessions. Read from what ironlb's programs publish (ServiceL2Status "
            "and ServiceBGPStatus objects, Events, the speakers' Pods and metrics), each answer with where "
            "it comes from; who announces a Service is never computed: without a published answer it is "
            "unknown. Exit 0 shown, 1 no such Service, 2 usage or access error."
        ),
    )
    p.add_argument(
        "service",
        nargs="?",
        metavar="NAMESPACE/SERVICE",
        help="one Service (NAMESPACE/NAME), or every Service of a namespace (NAMESPACE/)",
    )
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")
    p.add_argument(
        "--lb-class", default=None, help="ironlb's loadBalancerClass (default: Services without one)"
    )
    p.add_argument("--events", type=int, default=5, metavar="N", help="the last N ironlb Events per Service")
    m = p.add_argument_group("the speakers' metrics")
    m.add_argument(
        "--metrics-port", type=int, default=METRICS_PORT, help=f"their metrics port (default {METRICS_PORT})"
    )
    m.add_argument(
        "--speaker",
        action="append",
        default=[],
        metavar="NODE=URL",
        help="where NODE's speaker answers (e.g. http://127.0.0.1:17473 through a port-forward); repeatable",
    )
    m.add_argument("--no-metrics", action="store_true", help="ask no speaker")
    m.add_argument("--metrics-timeout", type=float, default=1.5, metavar="SECONDS", help="per speaker (1.5)")
    live.add_cluster_arguments(p, live_flag=False)
    p.add_argument(
        "--manifests",
        metavar="DIR",
        help="no cluster: read a manifest directory instead, as the lab and the standalone controller "
        "use it (Services with the statuses the controller wrote, Nodes, the ConfigMap); no Events there; "
        "speakers are asked only at the --speaker URLs",
    )
    p.set_defaults(run=run)


def _selection(text: str | None) -> tuple[str, str | None] | None:
    if text is None:
        return None
    ns, slash, name = text.partition("/")
    if not slash or not ns:
        raise live.LiveError(
            f"ironlb status: {text!r}: name the Service as NAMESPACE/NAME (or NAMESPACE/ for all of a "
            "namespace); -n is ironlb's own namespace"
        )
    return ns, name or None


def _explicit(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        node, eq, url = pair.partition("=")
        if not eq or not node or not url.startswith(("http://", "https://")):
            raise live.LiveError(f"ironlb status: --speaker {pair!r}: expected NODE=http://HOST:PORT")
        out[node] = url
    return out


def run(args: argparse.Namespace) -> int:
    from ironlb.kube.snapshot import LiveReadError

    try:
        return _run(args)
    except LiveReadError as exc:
        print(f"ironlb status: {exc}", file=sys.stderr)
    except live.LiveError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
    return EXIT_ERROR


def _config_text(cluster: Any) -> tuple[Any, str]:
    """The config in force (the ConfigMap and the ``ironlb.io`` resources; None when there is none
    or it is invalid), and a line about it."""
    from ironlb.config.load import load_config

    inputs = live.config_inputs(cluster)
    ns = cluster.config_namespace
    if not inputs:
        cm = f"ConfigMap {ns}/{cluster.config_name}"
        return None, f"no {cm} and no ironlb.io resources in {ns}: nothing is configured"
    snapshot = cluster.snapshot
    result = load_config(None, snapshot.config_resources, configmap=snapshot.config_map, namespace=ns)
    if result.config is None:
        first = result.errors[0] if result.errors else ""
        more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
        return None, f"{inputs}: invalid: {first}{more}; the programs keep their last good config"
    pools = len(result.config.pools)
    return result.config, f"{inputs}, {pools} pool{'s' * (pools != 1)}"


def _read(args: argparse.Namespace) -> tuple[Any, Any]:
    """What the cluster (or the manifest directory) shows, and what the programs published there."""
    if args.manifests is not None:
        if args.kubeconfig or args.context:
            raise live.LiveError(
                "ironlb status: --manifests reads a directory, not a cluster: drop --kubeconfig/--context"
            )
        return _read_manifests(args)
    from ironlb.kube.published import read_published
    from ironlb.kube.snapshot import cli_client, read_live_inputs

    live.quiet_client_logs(args.verbose)
    api = cli_client(args.kubeconfig, context=args.context)
    try:
        cluster = read_live_inputs(api, namespace=args.namespace, configmap=args.configmap)
        published = read_published(api, namespace=args.namespace)
    finally:
        api.close()  # type: ignore[no-untyped-call]
    return cluster, published


def _read_manifests(args: argparse.Namespace) -> tuple[Any, Any]:
    from pathlib import Path

    from ironlb.cluster.manifests import ManifestSource
    from ironlb.cluster.seam import ClusterSourceUnavailable
    from ironlb.kube.published import Published
    from ironlb.kube.snapshot import LiveInputs

    where = Path(args.manifests)
    if not where.exists():
        raise live.LiveError(f"ironlb status: --manifests {where}: no such file or directory")
    source = ManifestSource([where], config_namespace=args.namespace, config_name=args.configmap)
    try:
        snapshot = source.snapshot()
    except ClusterSourceUnavailable as exc:
        raise live.LiveError(f"ironlb status: {exc}") from None
    return LiveInputs(snapshot, f"manifests {where}", args.namespace, args.configmap), Published()


def _run(args: argparse.Namespace) -> int:
    from ironlb.live.scrape import scrape_all, speaker_urls
    from ironlb.live.status import build_status
    from ironlb.live.statusview import render_status, status_to_json

    select = _selection(args.service)
    explicit = _explicit(args.speaker)
    cluster, published = _read(args)
    config, config_text = _config_text(cluster)
    if args.no_metrics:
        urls: dict[str, str] = {}
    elif args.manifests is not None:  # files: ask only where the user said a speaker answers
        named = [n for n in cluster.snapshot.nodes if (n.get("metadata") or {}).get("name") in explicit]
        urls = speaker_urls(named, (), args.metrics_port, explicit)
    else:
        urls = speaker_urls(cluster.snapshot.nodes, published.speaker_pods, args.metrics_port, explicit)
    scrapes = scrape_all(urls, args.metrics_timeout)
    report = build_status(
        cluster.snapshot,
        config,
        config_text=config_text,
        events=published.events,
        speaker_pods=published.speaker_pods,
        scrapes=scrapes,
        metrics_urls=urls,
        lb_class=args.lb_class,
        select=select,
        events_per_service=max(0, args.events),
        configmap_key=f"{args.namespace}/{args.configmap}",
        status_objects=published.service_statuses,
        configuration_states=published.configuration_states,
    )
    if select is not None and select[1] is not None and not report.services:
        print(f"ironlb status: no LoadBalancer Service {select[0]}/{select[1]} of ironlb's", file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.output == "json":
        doc = {"source": cluster.server, **status_to_json(report)}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(render_status(report, dt.datetime.now(dt.UTC)))
    return EXIT_OK
