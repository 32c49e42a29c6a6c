"""``ironlb convert FILE_OR_DIR...``: MetalLB ≥0.13 CRDs, or a legacy ConfigMap, → ironlb.io resources.

The imperative shell around the pure ``ironlb.metallb`` and ``ironlb.config``: find the
manifest files (``ironlb.cluster.manifests.manifest_files``, as ``ironlb plan`` does), read
them (``-`` reads standard input, as ``kubectl apply -f -`` does, so that ``kubectl get
ipaddresspools,l2advertisements -o yaml | ironlb convert -`` works; findings then name
``<stdin>``), convert, print the findings on stderr (one per line, each naming its source)
and the result on stdout. The input is either MetalLB's custom resources (``metallb.io``) or
ironlb's own configuration (a ConfigMap in the legacy format, a bare config document,
``ironlb.io`` resources: read with ``ironlb.cli.configfile`` and judged by ``load_config``,
as ``ironlb validate`` judges them).

Output (``--to``): ``resources`` (the default) -- ``ironlb.io/v1beta1`` objects
(``ironlb.config.resources.render``), which say everything the domain config says, so nothing
is lost on the way but what ironlb cannot honour of a MetalLB object; they are decoded again
with ``load_config`` before they are printed, so what is printed is what ironlb will run.
``configmap`` -- the legacy ConfigMap (or, with ``--bare``, the config document), as before:
everything the format cannot say is reported as lossy by name (``ironlb.config.legacy``).
Deterministic, fit to be diffed and checked in.

Exit codes: 0 converted (warnings and notes may be printed; with ``--allow-lossy`` also the
lossy findings); 1 the input cannot be converted (including a file that is not UTF-8 text),
or something would be lost and ``--allow-lossy`` was not given (nothing on stdout then); 2
usage error or a file that cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ironlb.textfile import NotText, decode_text, read_text

if TYPE_CHECKING:  # imported where used, so that `ironlb --help` and the other commands start fast
    from ironlb.cli.configfile import ConfigInputs
    from ironlb.config.model import Config
    from ironlb.config.result import ConfigProblem
    from ironlb.metallb import Finding, Manifest

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
STDIN = "-"
STDIN_NAME = "<stdin>"
RESOURCES = "resources"
CONFIGMAP = "configmap"


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "convert",
        help="convert MetalLB CRDs (0.13+) or a legacy ConfigMap to ironlb.io resources",
        description=(
            "Read MetalLB CRD manifests (IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, "
            "BFDProfile, Community, and the deprecated AddressPool), or ironlb's own config (a legacy "
            "ConfigMap or bare config, ironlb.io resources); files or directories, '-' for standard "
            "input, multi-document YAML, kind: List as printed by kubectl get -o yaml. Print ironlb.io/"
            "v1beta1 resources (default) or, with --to configmap, an ironlb ConfigMap. Anything the "
            "output cannot express is reported on stderr with its source. Exit 0 converted, 1 not "
            "convertible or lossy without --allow-lossy, 2 usage error."
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
        "--to",
        choices=(RESOURCES, CONFIGMAP),
        default=RESOURCES,
        help="what to write: ironlb.io resources (default) or the legacy ConfigMap",
    )
    p.add_argument(
        "--prefer",
        choices=("bgp", "layer2"),
        help="--to configmap: protocol for pools selected by both L2 and BGP advertisements, and for pools "
        "no advertisement selects (default for those: layer2)",
    )
    p.add_argument(
        "--allow-lossy",
        action="store_true",
        help="print the config even when something cannot be expressed (the findings are still printed)",
    )
    p.add_argument(
        "--bare", action="store_true", help="--to configmap: print only the config document, not a ConfigMap"
    )
    p.add_argument(
        "-n",
        "--namespace",
        default="ironlb-system",
        help="namespace of the objects written, and of ironlb.io resources read (default: %(default)s)",
    )
    p.add_argument("--name", default="ironlb", help="--to configmap: ConfigMap name (default: %(default)s)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return convert_paths(
        args.paths,
        to=args.to,
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
    to: str = RESOURCES,
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
    if to == RESOURCES and (prefer or bare):
        flag = "--prefer" if prefer else "--bare"
        print(f"ironlb convert: {flag} goes with --to configmap (resources say both protocols)", file=err)
        return EXIT_USAGE
    texts = _read_all(paths, err, stdin)
    if isinstance(texts, int):
        return texts
    kind = _input_kind(texts)
    if kind == "mixed":
        print(
            "ironlb convert: the input mixes MetalLB resources (metallb.io) with ironlb's own config; "
            "convert the MetalLB resources alone",
            file=err,
        )
        return EXIT_INVALID
    output = _Output(to, prefer, allow_lossy, bare, namespace, name, out, err)
    if kind == "ironlb":
        return _from_ironlb(texts, output)
    return _from_metallb(texts, output)


def _read_all(paths: list[Path], err: TextIO, stdin: TextIO | None) -> list[tuple[str | None, str]] | int:
    """``(file, text)`` of every manifest file (``None``: standard input, in its place); or an exit code."""
    from ironlb.cluster.manifests import manifest_files

    for path in paths:
        if str(path) != STDIN and not path.exists():
            print(f"ironlb convert: {path}: no such file or directory", file=err)
            return EXIT_USAGE
    if sum(str(path) == STDIN for path in paths) > 1:
        print(f"ironlb convert: {STDIN!r} (standard input) can be given only once", file=err)
        return EXIT_USAGE
    files: list[Path | None] = []
    for path in paths:
        files.extend([None] if str(path) == STDIN else manifest_files([path]))
    if not files:
        print(
            f"ironlb convert: no manifest files (*.yaml, *.yml, *.json) in {', '.join(map(str, paths))}",
            file=err,
        )
        return EXIT_USAGE
    texts: list[tuple[str | None, str]] = []
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
        texts.append((None if file is None else str(file), text))
    return texts


def _input_kind(texts: list[tuple[str | None, str]]) -> str:
    """``metallb``, ``ironlb`` (a ConfigMap, bare config or ironlb.io resources) or ``mixed``.

    MetalLB objects decide (other objects beside them, a ConfigMap too, are the MetalLB reader's to
    note, as before), unless ironlb.io resources come with them. Text that is not YAML, or holds
    neither, goes to the MetalLB reader, whose findings say why."""
    import yaml

    from ironlb.cli.filekinds import is_config_object
    from ironlb.cluster.manifests import iter_objects

    metallb = resources = configmap = False
    for _, text in texts:
        try:
            docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
        except yaml.YAMLError:
            return "metallb"
        configmap = configmap or any("kind" not in d for d in docs)  # a bare config document
        for obj in iter_objects(docs):
            api = obj.get("apiVersion")
            metallb = metallb or (isinstance(api, str) and api.startswith("metallb.io/"))
            resources = resources or is_config_object(obj)
            configmap = configmap or obj.get("kind") == "ConfigMap"
    if metallb:
        return "mixed" if resources else "metallb"
    return "ironlb" if resources or configmap else "metallb"


class _Output:
    """What to write and how, and the writing, shared by both inputs."""

    def __init__(
        self,
        to: str,
        prefer: str | None,
        allow_lossy: bool,
        bare: bool,
        namespace: str,
        name: str,
        out: TextIO,
        err: TextIO,
    ) -> None:
        self.to, self.prefer, self.allow_lossy, self.bare = to, prefer, allow_lossy, bare
        self.namespace, self.name, self.out, self.err = namespace, name, out, err

    def finish(self, findings: list[Finding], write: Any) -> int:
        """Print ``findings``; then ``write()`` the output unless an error or (without consent) a loss."""
        for finding in findings:
            print(f"{finding.severity}: {finding}", file=self.err)
        errors = sum(f.severity == "error" for f in findings)
        lossy = sum(f.severity == "lossy" for f in findings)
        if errors:
            print(f"ironlb convert: {errors} error(s); nothing written", file=self.err)
            return EXIT_INVALID
        if lossy and not self.allow_lossy:
            what = "ironlb.io resources" if self.to == RESOURCES else "ironlb's ConfigMap"
            print(
                f"ironlb convert: {lossy} setting(s) above cannot be expressed in {what}; nothing "
                "written. Review them and re-run with --allow-lossy to accept the differences",
                file=self.err,
            )
            return EXIT_INVALID
        write()
        return EXIT_OK

    def resources(self, config: Config, findings: list[Finding]) -> int:
        """``config`` as ironlb.io objects, decoded again by ``load_config`` before they are printed."""
        from ironlb.config.load import load_config
        from ironlb.config.resources.render import render, render_text
        from ironlb.metallb import Finding

        rendered = render(config, namespace=self.namespace)
        findings = findings + [Finding("note", "output", "", str(rename)) for rename in rendered.renames]
        back = load_config(None, rendered.objects, namespace=self.namespace)
        findings += [Finding("error", f"output {p.object}", p.field, p.message) for p in back.errors]
        return self.finish(findings, lambda: self.out.write(render_text(rendered)))

    def configmap(self, config: Config) -> None:
        from ironlb.config.render import render_config, render_configmap

        if self.bare:
            self.out.write(render_config(config))
        else:
            self.out.write(render_configmap(config, name=self.name, namespace=self.namespace))


def _from_metallb(texts: list[tuple[str | None, str]], output: _Output) -> int:
    from ironlb.metallb import convert, manifests_from_text, to_model

    manifests: list[Manifest] = []
    findings: list[Finding] = []
    for file, text in texts:
        found, problems = manifests_from_text(text, STDIN_NAME if file is None else file)
        manifests.extend(found)
        findings.extend(problems)
    if output.to == RESOURCES:
        model = to_model(manifests)
        findings += model.findings
        if model.model is None:
            return output.finish(findings + _no_config(findings), lambda: None)
        return output.resources(model.model, findings)
    prefer = output.prefer
    result = convert(manifests, prefer="bgp" if prefer == "bgp" else "layer2" if prefer else None)
    findings += result.findings
    legacy = result.config
    if legacy is None:
        return output.finish(findings + _no_config(findings), lambda: None)
    return output.finish(findings, lambda: output.configmap(legacy))


def _no_config(findings: list[Finding]) -> list[Finding]:
    """An error finding when there is no config but no finding is an error (never expected; guards the
    exit code)."""
    from ironlb.metallb import Finding

    if any(f.severity == "error" for f in findings):
        return []
    return [Finding("error", "input", "", "nothing could be converted")]


def _from_ironlb(texts: list[tuple[str | None, str]], output: _Output) -> int:
    """A legacy ConfigMap (or bare config, or ironlb.io resources), judged as ``ironlb validate`` does."""
    from ironlb.cli.configfile import ConfigFileError, judge, sort_texts
    from ironlb.config.legacy import legacy_config
    from ironlb.metallb import Finding

    named = [(STDIN if file is None else file, text) for file, text in texts]
    try:
        inputs = sort_texts(named)
        result = judge(inputs, [path for path, _ in named], namespace=output.namespace)
    except ConfigFileError as exc:
        print(f"ironlb convert: {exc.sentence}", file=output.err)
        return exc.code
    findings = [Finding("warning", "input", "", line) for line in inputs.ignored]
    findings += [_finding(p, inputs) for p in (*result.errors, *result.warnings)]
    config = result.config
    if config is None:
        return output.finish(findings, lambda: None)
    if output.to == RESOURCES:
        return output.resources(config, findings)
    prefer = output.prefer
    legacy = legacy_config(config, "bgp" if prefer == "bgp" else "layer2" if prefer else None)
    findings += [
        Finding(
            loss.severity,
            f"{_RESOURCE_KINDS.get(loss.kind, loss.kind)}/{loss.name}",
            _spec_path(loss.field),
            loss.message,
        )
        for loss in legacy.losses
    ]
    return output.finish(findings, lambda: output.configmap(legacy.config))


def _finding(problem: ConfigProblem, inputs: ConfigInputs) -> Finding:
    """A problem of ``load_config`` as a finding: on its object (the ConfigMap: on its file), at its field."""
    from ironlb.metallb import Finding

    if problem.object.kind == "ConfigMap":
        where = inputs.configmap_label if inputs.resources else _subject(inputs.configmap_file)
    else:
        where = str(problem.object)
    return Finding(problem.severity, where, problem.field, problem.message)


def _subject(path: str) -> str:
    return STDIN_NAME if path == STDIN else path


_RESOURCE_KINDS = {"AddressPool": "IPAddressPool", "Peer": "BGPPeer"}


def _spec_path(domain_field: str) -> str:
    """A loss's domain field (``allocation.namespace_selectors``) as the resource spells it
    (``spec.serviceAllocation.namespaceSelectors``)."""
    from ironlb.config.resources.wire import field_name

    if not domain_field:
        return ""
    return "spec." + ".".join(field_name(part) for part in domain_field.split("."))


def _read_stdin(stdin: TextIO) -> str:
    """All of standard input, as UTF-8 whatever the locale (like the files)."""
    raw = getattr(stdin, "buffer", None)  # a StringIO has none: it is text already
    if raw is None:
        return stdin.read()
    data: bytes = raw.read()
    return decode_text(data, "standard input")
