"""``ironlb plan``: show what ironlb would assign and announce, without touching anything.

Imperative shell only: read the config and the manifests, call the pure
``ironlb.planner.build_plan``, print. The config is what ``-c`` names (files and
directories of ``ironlb.io`` resources, a ConfigMap or bare config, or both, judged
together as ``ironlb validate`` judges them), else the ConfigMap and ``ironlb.io``
resources found among the ``-f`` manifests (as the manifest-directory source of the lab
and standalone reads them). With no ``-c``/``-f`` it runs on the samples bundled in a
source checkout (``config/samples/``): a sample config (file or directory) given with
``-c`` and no ``-f`` runs on its own set of sample Services (``services/<name>/`` with
the sample Nodes, ``services/nodes.yaml``), so every sample shows its Services assigned.
The output names the advertisements (which L2/BGP advertisement announces which pool,
from which nodes, on which interfaces or to which peers) when the config came from
resources or says more than the ConfigMap can, and always the pools no advertisement
announces. Warnings (config notes, a ``keepalive-time``
the BGP backend cannot honour) go to stderr and do not change the exit code.

Exit codes: 0 every LoadBalancer Service gets its IPs; 1 the input is wrong
(config invalid, a file unreadable or not a manifest); 2 usage error; 3 the input
is valid but at least one Service gets no IP (its row says why).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ironlb.cli import live
from ironlb.cli.jsonout import dumps_indented

if TYPE_CHECKING:  # imported where used, so that `ironlb --help` and the other commands start fast
    from ironlb.cluster.seam import ClusterSnapshot
    from ironlb.config.model import Config
    from ironlb.config.result import ConfigProblem

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNASSIGNED = 3

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "config" / "samples"
DEFAULT_CONFIG = SAMPLES_DIR / "layer2.yaml"
SAMPLE_SERVICES = SAMPLES_DIR / "services"
SAMPLE_NODES = SAMPLE_SERVICES / "nodes.yaml"


def sample_configs() -> list[Path]:
    """The bundled sample configs: each ConfigMap file and each directory of resources that has its own
    sample Services (``services/NAME/``)."""
    return sorted(
        p
        for p in SAMPLES_DIR.iterdir()
        if (p.suffix == ".yaml" or p.is_dir())
        and p != SAMPLE_SERVICES
        and (SAMPLE_SERVICES / p.stem).is_dir()
    )


def sample_manifests(config: Path) -> list[Path] | None:
    """The sample Services that go with a bundled sample config (and the sample Nodes), if it is one."""
    services = SAMPLE_SERVICES / config.stem
    if config.resolve().parent != SAMPLES_DIR or not services.is_dir():
        return None
    return [SAMPLE_NODES, services]


PLAN_DESCRIPTION = """\
Show what ironlb would assign to every LoadBalancer Service and what each node would
announce, without touching anything.

From files (the default): -c CONFIG... (ironlb.io resource files, a ConfigMap manifest or
bare config, or directories; default config/samples/layer2.yaml, or the ConfigMap and
ironlb.io resources found among the manifests) and -f MANIFESTS; a sample config from config/samples/ without
-f runs on its sample Services (config/samples/services/NAME/ and nodes.yaml).
Exit 0 every Service assigned, 1 invalid input, 2 usage error, 3 valid input but some
Service gets no IP.

With a cluster (--kubeconfig, --context or --live): the difference the proposed config
(what -c and -f hold: a ConfigMap and/or ironlb.io resources, or a bare config with -c;
default: the one in force) makes to what runs now, as the cluster shows it (Services with
their status, EndpointSlices, Nodes, Namespaces, the ConfigMap and ironlb.io resources).
Only reads (ClusterRole/Role ironlb-viewer in config/viewer grant it all).
Exit status as kubectl diff: 0 no change; 1 changes that disturb no running Service
(new IPs, routes or owners moving); 3 a Service would lose or change an IP, or be
announced by nobody; 2 usage error, the cluster cannot be read, or a config is invalid
(the proposed one, or the one in force). An invalid config exits 2 here, not 1 as from
files, because with a cluster 1 means "changes that disturb nothing".
"""


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "plan",
        help="show the IPs ironlb would assign to LoadBalancer Services",
        description=PLAN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-c",
        "--config",
        dest="configs",
        type=Path,
        nargs="+",
        action="extend",
        help="config: ironlb.io resource files, a ConfigMap manifest or bare config, or directories",
    )
    p.add_argument(
        "-f",
        "--filename",
        dest="files",
        type=Path,
        nargs="+",
        action="extend",
        help="manifest files or directories (Services, EndpointSlices, Nodes, Namespaces; the ConfigMap "
        "and ironlb.io resources when there is no -c)",
    )
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")
    p.add_argument(
        "--lb-class",
        default=None,
        help="ironlb's loadBalancerClass (default: none, i.e. only Services without a class)",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="with a cluster: also print the whole plan of the proposed config, before the changes",
    )
    live.add_cluster_arguments(p, live_flag=True)
    p.set_defaults(run=run)


def _fail(message: str) -> int:
    print(f"ironlb plan: {message}", file=sys.stderr)
    return EXIT_INVALID


def _warn(lines: list[str]) -> None:
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)


def _read_config(paths: list[Path]) -> tuple[Config, bool] | list[str]:
    """The config of ``-c`` (warnings printed) and whether resources gave part of it; or the lines saying
    why there is none."""
    from ironlb.cli.configfile import ConfigFileError, load_inputs, problem_line

    try:
        result, inputs = load_inputs([str(p) for p in paths])
    except ConfigFileError as exc:
        return [f"ironlb plan: {exc.sentence}"]
    _warn(inputs.ignored)
    if result.config is None:
        where = "" if inputs.resources else f"{', '.join(map(str, paths))}: "
        return [where + problem_line(p, inputs) for p in result.errors]
    _warn([problem_line(p, inputs) for p in result.warnings])
    return result.config, bool(inputs.resources)


def _manifest_config(snapshot: ClusterSnapshot) -> tuple[Config, bool] | list[str] | None:
    """The config of the ConfigMap and ``ironlb.io`` resources among the manifests (warnings printed);
    ``None`` when there are neither."""
    from ironlb.config.load import load_config

    if snapshot.config_map is None and not snapshot.config_resources:
        return None
    result = load_config(None, snapshot.config_resources, configmap=snapshot.config_map)

    def line(problem: ConfigProblem) -> str:
        if problem.object.kind == "ConfigMap" and not snapshot.config_resources:
            return f"ConfigMap in manifests: {problem.in_object()}"
        return str(problem)

    if result.config is None:
        return [line(p) for p in result.errors]
    _warn([line(p) for p in result.warnings])
    return result.config, bool(snapshot.config_resources)


def _manifests(args: argparse.Namespace) -> list[Path] | str:
    """The manifest paths: ``-f``, or the sample Services of a sample config; or why there are none."""
    if args.files:
        return list(args.files)
    if not SAMPLES_DIR.is_dir():
        return f"the bundled samples ({SAMPLES_DIR}) are only in a source checkout; pass -f MANIFESTS"
    configs = args.configs or [DEFAULT_CONFIG]
    files = sample_manifests(configs[0]) if len(configs) == 1 else None
    if files is None:
        return (
            f"pass -f MANIFESTS (Services, EndpointSlices, Nodes) to plan {' '.join(map(str, configs))} on: "
            f"the bundled sample Services ({SAMPLE_SERVICES}) go with the bundled sample configs"
        )
    return files


def _print_lines(lines: list[str]) -> int:
    for line in lines:
        print(line, file=sys.stderr)
    return EXIT_INVALID


def run(args: argparse.Namespace) -> int:
    if live.wants_live(args):
        return live.run_live(args)
    from ironlb.cluster.manifests import ManifestSource
    from ironlb.cluster.seam import ClusterSourceUnavailable
    from ironlb.planner import build_plan, plan_to_json, render_table

    config = _read_config(args.configs) if args.configs else None
    if isinstance(config, list):
        return _print_lines(config)
    files = _manifests(args)
    if isinstance(files, str):
        return _fail(files)
    try:
        snapshot = ManifestSource(
            files, config_namespace=args.namespace, config_name=args.configmap
        ).snapshot()
    except ClusterSourceUnavailable as exc:
        return _fail(str(exc))
    if config is None:
        config = _manifest_config(snapshot)
    elif snapshot.config_map is not None or snapshot.config_resources:
        _warn(
            ["the ConfigMap and ironlb.io resources among the -f manifests are ignored: the config is -c's"]
        )
    if config is None:
        if not DEFAULT_CONFIG.is_file():
            return _fail(
                "no config: pass -c CONFIG, or give the ironlb ConfigMap or ironlb.io resources among the "
                "manifests"
            )
        config = _read_config([DEFAULT_CONFIG])
    if isinstance(config, list):
        return _print_lines(config)

    # A config given as resources names its advertisements: the plan shows them, whatever it says.
    plan = build_plan(config[0], snapshot, lb_class=args.lb_class, detailed=config[1] or None)
    if args.output == "json":
        sys.stdout.write(dumps_indented(plan_to_json(plan)) + "\n")
    else:
        sys.stdout.write(render_table(plan))
    unassigned = sum(s.error is not None for s in plan.services)
    if unassigned:
        print(f"ironlb plan: {unassigned} of {len(plan.services)} Services get no IP", file=sys.stderr)
        return EXIT_UNASSIGNED
    return EXIT_OK
