"""``ironlb convert FILE_OR_DIR...``: MetalLB ≥0.13 CRD manifests → an ironlb ConfigMap.

The imperative shell around the pure ``ironlb.metallb``: find the manifest files
(``ironlb.cluster.manifests.manifest_files``, as ``ironlb plan`` does), read them
(``-`` reads standard input, as ``kubectl apply -f -`` does, so that
``kubectl get ipaddresspools,l2advertisements -o yaml | ironlb convert -`` works;
findings then name ``<stdin>``), convert, print the findings on stderr (one per line, each naming its source)
and the ConfigMap (or, with ``--bare``, the config document) on stdout. The
output is rendered by ``render_config`` and has been parsed back by ironlb's own
parser, so what is printed is exactly what ironlb will run; it is deterministic,
fit to be diffed and checked in.

Exit codes: 0 converted (warnings and notes may be printed; with ``--allow-lossy``
also the lossy findings); 1 the input cannot be converted (including a file that is
not UTF-8 text), or something would be lost and ``--allow-lossy`` was not given
(nothing on stdout then); 2 usage error or a file that cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ironlb.textfile import NotText, decode_text, read_text

if TYPE_CHECKING:  # imported where used, so that `ironlb --help` and the other commands start fast
    from ironlb.metallb import Finding, Manifest

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
STDIN = "-"
STDIN_NAME = "<stdin>"


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "convert",
        help="convert MetalLB CRD manifests (0.13+) to an ironlb ConfigMap",
        description=(
            "Read MetalLB CRD manifests (IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, "
            "BFDProfile, Community, and the deprecated AddressPool; files or directories, '-' for standard "
            "input, multi-document YAML, kind: List as printed by kubectl get -o yaml) and print an "
            "ironlb ConfigMap. Anything ironlb's config cannot express is reported on stderr with its "
            "source. Exit 0 converted, 1 not convertible or lossy without --allow-lossy, 2 usage error."
        ),
    )
    p.add_argument(
        "paths",
        metavar="FILE_OR_DIR",
        nargs="+",
        type=Path,
        help="manifest files or directories; '-' reads standard input",
    )
    p.add_argument(
        "--prefer",
        choices=("bgp", "layer2"),
        help="protocol for pools selected by both L2 and BGP advertisements, and for pools no "
        "advertisement selects (default for those: layer2)",
    )
    p.add_argument(
        "--allow-lossy",
        action="store_true",
        help="print the config even when something cannot be expressed (the findings are still printed)",
    )
    p.add_argument("--bare", action="store_true", help="print only the config document, not a ConfigMap")
    p.add_argument(
        "-n", "--namespace", default="ironlb-system", help="ConfigMap namespace (default: %(default)s)"
    )
    p.add_argument("--name", default="ironlb", help="ConfigMap name (default: %(default)s)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return convert_paths(
        args.paths,
        prefer=args.prefer,
        allow_lossy=args.allow_lossy,
        bare=args.bare,
        namespace=args.namespace,
        name=args.name,
        out=sys.stdout,
        err=sys.stderr,
        stdin=sys.stdin,
    )


def convert_paths(
    paths: list[Path],
    *,
    prefer: str | None = None,
    allow_lossy: bool = False,
    bare: bool = False,
    namespace: str = "ironlb-system",
    name: str = "ironlb",
    out: TextIO,
    err: TextIO,
    stdin: TextIO | None = None,
) -> int:
    """Convert ``paths`` (``-``: ``stdin``, default ``sys.stdin``); print as the command does."""
    from ironlb.cluster.manifests import manifest_files
    from ironlb.config.render import render_config, render_configmap
    from ironlb.metallb import convert, manifests_from_text

    for path in paths:
        if str(path) != STDIN and not path.exists():
            print(f"ironlb convert: {path}: no such file or directory", file=err)
            return EXIT_USAGE
    if sum(str(path) == STDIN for path in paths) > 1:
        print(f"ironlb convert: {STDIN!r} (standard input) can be given only once", file=err)
        return EXIT_USAGE
    manifests: list[Manifest] = []
    read_findings: list[Finding] = []
    files: list[Path | None] = []  # None: standard input, in its place among the paths
    for path in paths:
        files.extend([None] if str(path) == STDIN else manifest_files([path]))
    if not files:
        print(
            f"ironlb convert: no manifest files (*.yaml, *.yml, *.json) in {', '.join(map(str, paths))}",
            file=err,
        )
        return EXIT_USAGE
    for file in files:
        try:
            text = _read_stdin(stdin or sys.stdin) if file is None else read_text(file)
        except OSError as exc:
            what = "standard input" if file is None else file
            print(f"ironlb convert: cannot read {what}: {exc.strerror or exc}", file=err)
            return EXIT_USAGE
        except NotText as exc:
            print(f"ironlb convert: {exc}", file=err)
            return EXIT_INVALID
        found, findings = manifests_from_text(text, STDIN_NAME if file is None else str(file))
        manifests.extend(found)
        read_findings.extend(findings)
    result = convert(manifests, prefer="bgp" if prefer == "bgp" else "layer2" if prefer else None)
    findings = read_findings + list(result.findings)
    for finding in findings:
        print(f"{finding.severity}: {finding}", file=err)
    errors = sum(f.severity == "error" for f in findings)
    lossy = sum(f.severity == "lossy" for f in findings)
    if errors or result.config is None:
        print(f"ironlb convert: {errors} error(s); nothing written", file=err)
        return EXIT_INVALID
    if lossy and not allow_lossy:
        print(
            f"ironlb convert: {lossy} setting(s) above cannot be expressed in ironlb's config; nothing "
            "written. Review them and re-run with --allow-lossy to accept the differences",
            file=err,
        )
        return EXIT_INVALID
    if bare:
        out.write(render_config(result.config))
    else:
        out.write(render_configmap(result.config, name=name, namespace=namespace))
    return EXIT_OK


def _read_stdin(stdin: TextIO) -> str:
    """All of standard input, as UTF-8 whatever the locale (like the files)."""
    raw = getattr(stdin, "buffer", None)  # a StringIO has none: it is text already
    if raw is None:
        return stdin.read()
    data: bytes = raw.read()
    return decode_text(data, "standard input")
