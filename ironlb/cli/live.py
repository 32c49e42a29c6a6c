"""``ironlb plan --kubeconfig K`` (or ``--context``, or ``--live``): what a config would change, live.

Imperative shell: read the cluster once (``ironlb.kube.snapshot.read_live_inputs``), decode
the config in force and the proposed one, call the pure ``ironlb.live.whatif.what_if``, print
the difference (``ironlb.live.render``). Nothing is written; ``config/viewer`` grants all it reads.

The config in force is ``load_config`` of the cluster's ConfigMap and its ``ironlb.io``
resources in ironlb's namespace, as the programs read them. The proposed config: what
``-c FILE`` and ``-f FILES`` hold together (a ConfigMap manifest, ``ironlb.io`` resources, or
with ``-c`` a bare config document; ``-`` is standard input, so ``kubectl kustomize`` output
can be piped in; Services and other kinds there are not used: the Services are the
cluster's). Without either, the config in force is planned against itself: what the
controller would still change (Services waiting for an IP it can now give, for instance).

Exit status, as ``kubectl diff``: 0 no change; 1 changes that leave every running Service's
IPs as they are and still announced; 3 some Service would lose or change an IP, or be
announced by nobody; 2 anything that is not a plan: usage, the cluster cannot be read, the
proposed config is invalid (every error printed with its path, as ``ironlb validate`` does;
file-mode ``ironlb plan`` says 1 for invalid input, but here 1 means "changes that disturb
nothing", so an invalid config must not look like a safe change), or the ConfigMap in force
is invalid (the programs then run on a last good config the cluster does not show).

Imports the Kubernetes client only when it runs (``ironlb plan`` from files stays light).
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ironlb.cli.jsonout import dumps_indented

if TYPE_CHECKING:
    from ironlb.config.model import Config
    from ironlb.config.result import ConfigResult
    from ironlb.kube.snapshot import LiveInputs

EXIT_ERROR = 2
DEFAULT_NAMESPACE = "ironlb-system"
DEFAULT_CONFIGMAP = "ironlb"


class LiveError(Exception):
    """Why there is no plan; printed as is, exit status 2."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0] if lines else "")
        self.lines = lines


def add_cluster_arguments(p: argparse.ArgumentParser, *, live_flag: bool) -> None:
    """kubectl's flags for reaching a cluster, and where ironlb's config lives in it."""
    g = p.add_argument_group("cluster (kubectl's flags)")
    if live_flag:
        g.add_argument(
            "--live",
            action="store_true",
            help="read the cluster: the current context of $KUBECONFIG or ~/.kube/config, or in-cluster "
            "credentials (implied by --kubeconfig and --context)",
        )
    g.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
    g.add_argument("--context", help="the kubeconfig context to use")
    g.add_argument(
        "-n",
        "--namespace",
        default=DEFAULT_NAMESPACE,
        help=f"ironlb's namespace: where its ConfigMap lives (default {DEFAULT_NAMESPACE})",
    )
    g.add_argument(
        "--configmap", default=DEFAULT_CONFIGMAP, help=f"ironlb's ConfigMap (default {DEFAULT_CONFIGMAP})"
    )
    g.add_argument("-v", "--verbose", action="store_true", help="log what is read from the cluster")


def wants_live(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "live", False) or args.kubeconfig or args.context)


def quiet_client_logs(verbose: bool) -> None:
    """The command prints its own one-line errors; the client's and ironlb.kube's logs only with -v."""
    level = logging.DEBUG if verbose else logging.CRITICAL + 1
    for name in ("ironlb.kube", "kubernetes", "urllib3"):
        logging.getLogger(name).setLevel(level)
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")


def read_cluster(args: argparse.Namespace) -> LiveInputs:
    """The cluster's Services, EndpointSlices, Nodes, Namespaces and ConfigMap (``LiveReadError``)."""
    from ironlb.kube.snapshot import cli_client, read_live_inputs

    quiet_client_logs(args.verbose)
    api = cli_client(args.kubeconfig, context=args.context)
    try:
        return read_live_inputs(api, namespace=args.namespace, configmap=args.configmap)
    finally:
        api.close()  # type: ignore[no-untyped-call]


def _problem_lines(result: ConfigResult) -> list[str]:
    return [f"  {p}" for p in result.errors]


def config_inputs(live: LiveInputs) -> str:
    """Which inputs make the config in force (``ConfigMap NS/NAME and 3 ironlb.io resources in NS``);
    empty: none."""
    parts = [f"ConfigMap {live.config_namespace}/{live.config_name}"] if live.snapshot.config_map else []
    count = len(live.snapshot.config_resources)
    if count:
        parts.append(f"{count} ironlb.io resource{'s' * (count != 1)} in {live.config_namespace}")
    return " and ".join(parts)


def config_in_force(live: LiveInputs) -> tuple[Config, list[str]]:
    """The config the programs run on: ``load_config`` of the cluster's ConfigMap and ``ironlb.io``
    resources in ironlb's namespace; notes for stderr."""
    from ironlb.config import Config
    from ironlb.config.load import load_config

    where = f"ConfigMap {live.config_namespace}/{live.config_name}"
    cm = live.snapshot.config_map
    resources = live.snapshot.config_resources
    if cm is None and not resources:
        return Config(), [
            f"note: no {where} and no ironlb.io resources in the cluster: nothing is configured now"
        ]
    result = load_config(None, resources, configmap=cm, namespace=live.config_namespace)
    if result.config is None:
        raise LiveError(
            "ironlb plan: the config in force in the cluster is invalid, so the programs run on their last "
            "good config, which the cluster does not show; fix it first (ironlb validate):",
            *_problem_lines(result),
        )
    return result.config, []


def proposed_config(args: argparse.Namespace) -> tuple[Config | None, list[str]]:
    """The config of ``-c`` and ``-f`` (None: neither given); warnings.

    Each may hold a ConfigMap manifest, ``ironlb.io`` resources, or (``-c`` only) a bare config
    document; what they hold together is the proposed config, read by ``load_config`` as the
    programs read the cluster (other kinds, Services included, are not used: the Services are
    the cluster's)."""
    configs = [str(c) for c in args.configs or []]
    paths = configs + [str(f) for f in args.files or []]
    if not paths:
        return None, []
    from ironlb.config.load import load_config

    texts = [(str(f), _read_text(str(f)), path in configs) for path in paths for f in _files(path)]
    cm, resources, services, bare_files = _config_objects(texts, args)
    if len(bare_files) > 1 or (bare_files and cm is not None):
        raise LiveError(
            f"ironlb plan: {' and '.join(bare_files + (['a ConfigMap'] if cm is not None else []))}: "
            "more than one ConfigMap config; give one (with any ironlb.io resources)"
        )
    bare = next((text for path, text, _ in texts if path in bare_files), None)
    if cm is None and not resources and bare is None:
        raise LiveError(
            f"ironlb plan: no ConfigMap {args.namespace}/{args.configmap} and no ironlb.io resources in "
            f"{' '.join(paths)}: with a cluster, -c/-f name the proposed config (the Services are the "
            "cluster's)"
        )
    result = load_config(bare, resources, configmap=cm, namespace=args.namespace)
    if result.config is None:
        raise LiveError("ironlb plan: the proposed config is invalid:", *_problem_lines(result))
    notes = [f"warning: {w}" for w in result.warnings]
    if services:
        notes.append(f"note: {services} Services in -f are not used: the plan runs on the cluster's Services")
    return result.config, notes


def _files(path: str) -> list[Path]:
    """``path`` itself, or the manifest files of a directory (as ``kubectl apply -f DIR``)."""
    from ironlb.cluster.manifests import manifest_files

    return [Path(path)] if path == "-" or not Path(path).is_dir() else manifest_files([Path(path)])


def _read_text(path: str) -> str:
    from ironlb.textfile import NotText, decode_text

    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise LiveError(f"ironlb plan: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return decode_text(data, path)
    except NotText as exc:
        raise LiveError(f"ironlb plan: {exc}") from None


def _config_objects(
    texts: list[tuple[str, str, bool]], args: argparse.Namespace
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], int, list[str]]:
    """The ironlb ConfigMap, the ``ironlb.io`` config resources, how many Services ``texts`` hold, and
    the ``-c`` files (third item True) that hold no Kubernetes object: bare config documents."""
    from ironlb.cluster.manifests import is_config_resource, iter_objects
    from ironlb.config.yamlload import YamlError, load_documents, native

    cm: dict[str, Any] | None = None
    resources: list[dict[str, Any]] = []
    services = 0
    bare: list[str] = []
    for path, text, from_c in texts:
        try:
            docs = native(load_documents(text))
        except YamlError as exc:
            raise LiveError(f"ironlb plan: {path}: not valid YAML: line {exc.line}: {exc.message}") from None
        objects = [obj for obj in iter_objects(docs) if "kind" in obj]
        if from_c and not objects:
            bare.append(path)
        for obj in objects:
            kind = obj.get("kind")
            meta: dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
            if is_config_resource(obj):
                resources.append(obj)
            elif kind == "Service":
                services += 1
            elif (
                kind == "ConfigMap"
                and meta.get("name") == args.configmap
                and meta.get("namespace", args.namespace) == args.namespace
            ):
                cm = obj
    return cm, resources, services, bare


def run_live(args: argparse.Namespace) -> int:
    """The command, with the cyclic garbage collector off while it runs.

    Why: reading 10,000 Services and planning them makes millions of objects that live until the
    command ends, and almost no reference cycles; every full collection walks all of them again
    (about half the command's time on 10,000 Services). Reference counting still frees what
    is dropped; the collector is turned back on for callers that run the command in process."""
    from ironlb.kube.snapshot import LiveReadError

    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(args)
    except LiveReadError as exc:
        print(f"ironlb plan: {exc}", file=sys.stderr)
    except LiveError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
    finally:
        if enabled:
            gc.enable()
    return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from ironlb.announce.bgp_sessions import keepalive_warnings
    from ironlb.live.render import diff_to_json, render_diff, summary
    from ironlb.live.whatif import exit_code, what_if

    proposed, notes = proposed_config(args)  # a bad file is refused before the cluster is read
    live = read_cluster(args)
    current, more = config_in_force(live)
    notes += more
    if proposed is None:
        proposed = current
        inputs = config_inputs(live) or "empty config"
        notes.append(f"note: no -c/-f: planning the config in force ({inputs}) against what runs")
    notes += [f"warning: {w}" for w in keepalive_warnings(proposed)]
    for line in notes:
        print(line, file=sys.stderr)
    diff = what_if(current, proposed, live.snapshot, lb_class=args.lb_class)
    if args.output == "json":
        doc: dict[str, Any] = {"server": live.server, **diff_to_json(diff, full=args.full)}
        sys.stdout.write(dumps_indented(doc) + "\n")
    else:
        sys.stdout.write(render_diff(diff, full=args.full))
    code = exit_code(diff)
    if code and args.output == "json":
        print(f"ironlb plan: {summary(diff)}", file=sys.stderr)
    return code
