"""``ironlb plan``: show what ironlb would assign (and, later, announce) without touching anything.

Imperative shell only: read the config file and the manifests, call the pure
``ironlb.planner.build_plan``, print. With no ``-c``/``-f`` it runs on the
samples bundled in a source checkout (``config/samples/``), which is the
README's "main job" command. Warnings (config notes, a ``keepalive-time`` the BGP
backend cannot honour) go to stderr and do not change the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ironlb.announce.bgp_sessions import keepalive_warnings
from ironlb.cluster.manifests import ManifestSource
from ironlb.cluster.seam import ClusterSourceUnavailable
from ironlb.config import ConfigError, config_from_configmap
from ironlb.config.model import Config
from ironlb.config.parse import parse_config_report
from ironlb.planner import build_plan, plan_to_json, render_table

EXIT_OK = 0
EXIT_INVALID = 1

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "config" / "samples"
DEFAULT_CONFIG = SAMPLES_DIR / "layer2.yaml"
DEFAULT_MANIFESTS = SAMPLES_DIR / "services"


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "plan",
        help="show the IPs ironlb would assign to LoadBalancer Services",
        description=(
            "Show what ironlb would assign to every LoadBalancer Service, without touching anything. "
            f"Defaults: -c {DEFAULT_CONFIG} (or a ConfigMap found among the manifests) "
            f"and -f {DEFAULT_MANIFESTS}."
        ),
    )
    p.add_argument("-c", "--config", type=Path, help="config: a ConfigMap manifest or a bare config document")
    p.add_argument(
        "-f",
        "--filename",
        dest="files",
        type=Path,
        nargs="+",
        action="extend",
        help="manifest files or directories (Services, EndpointSlices, Nodes, Namespaces, the ConfigMap)",
    )
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")
    p.add_argument(
        "--lb-class",
        default=None,
        help="ironlb's loadBalancerClass (default: none, i.e. only Services without a class)",
    )
    p.set_defaults(run=run)


def _fail(message: str) -> int:
    print(f"ironlb plan: {message}", file=sys.stderr)
    return EXIT_INVALID


def _read_config(path: Path) -> Config | list[str]:
    try:
        text = path.read_text()
    except OSError as exc:
        return [f"{path}: cannot read: {exc.strerror}"]
    try:
        result = parse_config_report(text)
    except ConfigError as exc:
        return [f"{path}: {error}" for error in exc.errors]
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return result.config


def run(args: argparse.Namespace) -> int:
    if not (args.files and args.config) and not SAMPLES_DIR.is_dir():
        return _fail(f"the bundled samples ({SAMPLES_DIR}) are only in a source checkout; pass -c and -f")
    files: list[Path] = args.files or [DEFAULT_MANIFESTS]
    try:
        snapshot = ManifestSource(files).snapshot()
    except ClusterSourceUnavailable as exc:
        return _fail(str(exc))

    config_path: Path | None = args.config
    if config_path is None and snapshot.config_map is None:
        config_path = DEFAULT_CONFIG
    config: Config | list[str]
    if config_path is not None:
        config = _read_config(config_path)
    else:
        assert snapshot.config_map is not None
        try:
            config = config_from_configmap(snapshot.config_map)
        except ConfigError as exc:
            config = [f"ConfigMap in manifests: {error}" for error in exc.errors]
    if isinstance(config, list):
        for line in config:
            print(line, file=sys.stderr)
        return EXIT_INVALID

    for warning in keepalive_warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    plan = build_plan(config, snapshot, lb_class=args.lb_class)
    if args.output == "json":
        sys.stdout.write(json.dumps(plan_to_json(plan), indent=2) + "\n")
    else:
        sys.stdout.write(render_table(plan))
    return EXIT_OK
