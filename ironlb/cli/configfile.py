"""Read the configuration a command was given -- files, directories, standard input -- and judge it whole.

Shared by ``ironlb validate`` and ``ironlb plan -c``: the same inputs get the same
answer from both, and from the programs, because everything goes through
:func:`ironlb.config.load.load_config`. An input is any mix of:

- one ConfigMap (``data.config``) or one bare config document (``address-pools``,
  ``peers``, ...), in its own file or beside resources in a multi-document file;
- ``ironlb.io/v1beta1`` config objects (IPAddressPool, L2Advertisement, ...),
  read as ``kubectl apply`` reads them (``ironlb.cluster.manifests``);
- directories, searched recursively for ``*.yaml``, ``*.yml`` and ``*.json``.

Objects of other kinds beside configuration are ignored with a warning; inputs holding
nothing but other kinds (MetalLB's resources, Services) get one sentence naming the
command that takes them (:mod:`ironlb.cli.filekinds`). A path that cannot be read is a
usage error (exit 2); text that is not UTF-8, two ConfigMaps, or no configuration at all
is invalid input (exit 1).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ironlb.textfile import NotText, decode_text, read_text

if TYPE_CHECKING:
    from ironlb.config.result import ConfigProblem, ConfigResult

EXIT_INVALID = 1
EXIT_USAGE = 2
STDIN = "-"


@dataclass
class ConfigFileError(Exception):
    """Why the inputs give no config: one ``sentence`` (and the exit ``code``)."""

    code: int
    sentence: str = ""


@dataclass
class ConfigInputs:
    """What the paths hold, sorted for :func:`ironlb.config.load.load_config`."""

    configmap_text: str | None = None
    """The text of the one file holding the ConfigMap or bare config (the parser reads it whole: its
    YAML line numbers stay the file's)."""
    configmap_file: str = ""
    configmap_label: str = ""
    """``ConfigMap ironlb-system/ironlb`` or ``config FILE``: names the ConfigMap's problems beside
    resources."""
    resources: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    """One warning per file for objects that are not configuration."""
    foreign: list[tuple[str, list[Any]]] = field(default_factory=list)
    """Files holding only Kubernetes objects of other kinds (path, documents)."""


def _files(paths: Sequence[str]) -> list[str]:
    """Each path, directories expanded to their manifest files (sorted); a missing path is a usage error."""
    from ironlb.cluster.manifests import manifest_files

    out: list[str] = []
    for path in paths:
        p = Path(path)
        if path == STDIN or not p.is_dir():
            out.append(path)
            continue
        found = manifest_files([p])
        if not found:
            raise ConfigFileError(EXIT_USAGE, f"{path}: no manifest files (*.yaml, *.yml, *.json) in it")
        out.extend(map(str, found))
    if out.count(STDIN) > 1:
        raise ConfigFileError(EXIT_USAGE, f"{STDIN!r} (standard input) can be given only once")
    return out


def _text(path: str, stdin: BinaryIO | None) -> str:
    try:
        if path == STDIN:
            return decode_text((stdin or sys.stdin.buffer).read(), "standard input")
        return read_text(Path(path))
    except OSError as exc:
        raise ConfigFileError(EXIT_USAGE, f"cannot read {path}: {exc.strerror or exc}") from None
    except NotText as exc:
        raise ConfigFileError(EXIT_INVALID, str(exc)) from None


def read_inputs(paths: Sequence[str], *, key: str = "config", stdin: BinaryIO | None = None) -> ConfigInputs:
    """Sort what ``paths`` hold into a ConfigMap, resources and the rest; :class:`ConfigFileError`."""
    return sort_texts([(path, _text(path, stdin)) for path in _files(paths)], key=key)


def sort_texts(texts: Sequence[tuple[str, str]], *, key: str = "config") -> ConfigInputs:
    """Sort the ``(path, text)`` read into a ConfigMap, resources and the rest; :class:`ConfigFileError`."""
    inputs = ConfigInputs()
    configmaps: list[tuple[str, str, list[Any] | None]] = []  # (path, text, documents or None: not YAML)
    for path, text in texts:
        _sort_file(inputs, configmaps, path, text, key)
    keyless = [c for c in configmaps if c[2] is not None and not any(_is_config_doc(d, key) for d in c[2])]
    if inputs.resources and keyless:  # beside resources, a ConfigMap without data.<key> is not ironlb's
        for path, _, _ in keyless:
            inputs.ignored.append(f"{_subject(path)}: ignored ConfigMap without data.{key} (not ironlb's)")
        configmaps = [c for c in configmaps if c not in keyless]
    if len(configmaps) > 1:
        with_key = [c for c in configmaps if c[2] is None or any(_has_key(d, key) for d in c[2])]
        if len(with_key) != 1:
            where = ", ".join(c[0] for c in configmaps)
            raise ConfigFileError(
                EXIT_INVALID, f"more than one ironlb config (ConfigMap or bare config) in {where}; give one"
            )
        configmaps = with_key
    if configmaps:
        path, text, docs = configmaps[0]
        inputs.configmap_text, inputs.configmap_file = text, path
        inputs.configmap_label = _label(path, docs, key)
    return inputs


def _sort_file(
    inputs: ConfigInputs,
    configmaps: list[tuple[str, str, list[Any] | None]],
    path: str,
    text: str,
    key: str,
) -> None:
    import yaml

    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        configmaps.append((path, text, None))  # the config parser says where, with its own message
        return
    parts = _FileParts.of(documents)
    if parts.bare and (parts.resources or parts.others or parts.configmaps):
        raise ConfigFileError(
            EXIT_INVALID,
            f"{_subject(path)} mixes a bare config document with Kubernetes objects; put the config in a "
            "ConfigMap (data.config) or in a file of its own",
        )
    if parts.resources:
        _load_resources(inputs, path, text)
    if parts.bare or parts.configmaps:
        configmaps.append((path, text, documents))
    if parts.others and (parts.resources or parts.bare or parts.configmaps):
        inputs.ignored.append(f"{_subject(path)}: ignored {parts.others} (not ironlb configuration)")
    elif parts.others or not documents:
        inputs.foreign.append((path, documents))


@dataclass(frozen=True)
class _FileParts:
    """What one file's YAML documents hold, by what ironlb does with them."""

    resources: list[dict[str, Any]]
    """ironlb config objects (``ironlb.io`` kinds)."""
    configmaps: list[dict[str, Any]]
    bare: list[Any]
    """Documents that are not Kubernetes objects: a bare config."""
    others: str
    """The other Kubernetes objects, described (empty: none)."""

    @classmethod
    def of(cls, documents: list[Any]) -> _FileParts:
        from ironlb.cli.filekinds import is_config_object, other_objects
        from ironlb.cluster.manifests import iter_objects

        objects = list(iter_objects(documents))
        return cls(
            resources=[o for o in objects if is_config_object(o)],
            configmaps=[o for o in objects if o.get("kind") == "ConfigMap"],
            bare=[d for d in documents if not _is_object(d)],
            others=other_objects(documents),
        )


def _load_resources(inputs: ConfigInputs, path: str, text: str) -> None:
    from ironlb.cluster.manifests import load_config_resources
    from ironlb.cluster.seam import ClusterSourceUnavailable

    try:
        inputs.resources.extend(load_config_resources(text, "standard input" if path == STDIN else path))
    except ClusterSourceUnavailable as exc:
        raise ConfigFileError(EXIT_INVALID, str(exc)) from None


def _is_object(doc: Any) -> bool:
    """A Kubernetes object (``apiVersion`` and ``kind``), or a ConfigMap without ``apiVersion``."""
    return isinstance(doc, dict) and ("apiVersion" in doc or doc.get("kind") == "ConfigMap") and "kind" in doc


def _is_config_doc(doc: Any, key: str) -> bool:
    """A ConfigMap with ``data.<key>``, or a bare config document."""
    return _has_key(doc, key) or not _is_object(doc)


def _has_key(doc: Any, key: str) -> bool:
    data = doc.get("data") if isinstance(doc, dict) else None
    return isinstance(data, dict) and key in data


def _label(path: str, docs: list[Any] | None, key: str) -> str:
    """How the ConfigMap's problems are named beside resources: by its metadata, else by its file."""
    cms = [d for d in docs or () if isinstance(d, dict) and d.get("kind") == "ConfigMap"]
    cms = [d for d in cms if _has_key(d, key)] or cms
    meta = cms[0].get("metadata") if len(cms) == 1 else None
    if isinstance(meta, dict) and isinstance(meta.get("name"), str):
        ns = meta.get("namespace")
        return f"ConfigMap {ns}/{meta['name']}" if isinstance(ns, str) else f"ConfigMap {meta['name']}"
    return f"config {_subject(path)}"


def _subject(path: str) -> str:
    return "standard input" if path == STDIN else path


def load_inputs(
    paths: Sequence[str],
    *,
    key: str = "config",
    namespace: str = "ironlb-system",
    stdin: BinaryIO | None = None,
) -> tuple[ConfigResult, ConfigInputs]:
    """The config of ``paths`` judged whole by ``load_config``; :class:`ConfigFileError` when there is none
    to judge (see the module docstring)."""
    inputs = read_inputs(paths, key=key, stdin=stdin)
    return judge(inputs, paths, key=key, namespace=namespace), inputs


def judge(
    inputs: ConfigInputs, paths: Sequence[str], *, key: str = "config", namespace: str = "ironlb-system"
) -> ConfigResult:
    """``load_config`` on the sorted inputs; :class:`ConfigFileError` when they hold no configuration."""
    from ironlb.cli.filekinds import describe_non_config
    from ironlb.config.load import load_config

    if inputs.configmap_text is None and not inputs.resources:
        sentences = [describe_non_config(docs, path) for path, docs in inputs.foreign]
        if sentences and all(sentences):
            raise ConfigFileError(EXIT_INVALID, "; ".join(s for s in sentences if s))
        if len(paths) == 1 and inputs.foreign and not inputs.foreign[0][1]:
            inputs.configmap_text = ""  # an empty file: the config parser judges it, as it always did
        else:
            raise ConfigFileError(
                EXIT_INVALID,
                f"no ironlb configuration in {', '.join(map(_subject, paths))}: expected a ConfigMap "
                "(data.config), a bare config document or ironlb.io resources (IPAddressPool, ...)",
            )
    return load_config(inputs.configmap_text, inputs.resources, key=key, namespace=namespace)


def problem_line(problem: ConfigProblem, inputs: ConfigInputs) -> str:
    """One problem as the commands print it: ``Kind namespace/name: field: message``; a ConfigMap's alone
    keep their own ``path: message``, as they always read; beside resources they name the ConfigMap."""
    from ironlb.config.result import CONFIGMAP

    if problem.object.kind != CONFIGMAP:
        return str(problem)
    if not inputs.resources:
        return problem.in_object()
    return f"{inputs.configmap_label}: {problem.in_object()}"
