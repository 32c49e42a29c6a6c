"""Cluster state read from manifest files: the seam's implementation without Kubernetes.

``ironlb plan``, the local lab and standalone use read Services, EndpointSlices,
Nodes, Namespaces, the ConfigMap and the ``ironlb.io`` config objects (IPAddressPool,
BGPPeer, ...) from YAML files (multi-document, and ``kind: List``) given as files or
directories. Other kinds are ignored. A file that cannot be read or parsed makes the
whole snapshot unavailable, never half a cluster.

Config objects are read as ``kubectl apply`` reads them (YAML like Go's yaml.v2:
``64512:10`` is a string; then plain JSON values, so ``password: 1234`` is a number
that the decoder refuses, as the API server's schema would), and handed over whole,
whatever their namespace: :func:`ironlb.config.load.load_config` says what is wrong
with them.

Service statuses written by a standalone controller (``ironlb.cluster.statusdir``,
in each directory's ``.ironlb-status/``) are laid over the Services read, so
every reader sees the controller's decisions as it would through the API.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import yaml

from ironlb.cluster.seam import ClusterSnapshot, ClusterSourceUnavailable
from ironlb.cluster.statusdir import STATUS_DIRNAME, StatusDir, StatusRecord, apply_overlays, records_digest
from ironlb.config.resources.schema import CONFIG_KINDS, GROUP
from ironlb.config.yamlload import YamlError, load_documents, native
from ironlb.kube_types import ConfigMap, EndpointSlice, Namespace, Node, Service
from ironlb.textfile import NotText, read_text

DEFAULT_NAMESPACE = "ironlb-system"
DEFAULT_CONFIGMAP = "ironlb"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def manifest_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus manifest files found (recursively, sorted) in named directories."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix in MANIFEST_SUFFIXES
                    and STATUS_DIRNAME not in p.relative_to(path).parts
                    and p.is_file()
                )
            )
        else:
            files.append(path)
    return files


def iter_objects(documents: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Kubernetes objects in parsed YAML documents, with ``kind: List`` unpacked."""
    for doc in documents:
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "List" or (doc.get("kind", "").endswith("List") and "items" in doc):
            yield from iter_objects(doc.get("items") or [])
        elif "kind" in doc:
            yield doc


def load_objects(text: str, origin: str) -> list[dict[str, Any]]:
    try:
        return list(iter_objects(yaml.safe_load_all(text)))
    except yaml.YAMLError as exc:
        raise ClusterSourceUnavailable(f"{origin}: not valid YAML: {exc}") from exc


def is_config_resource(obj: Any) -> bool:
    """An ``ironlb.io`` config object (IPAddressPool, BGPPeer, ...; not the status kinds)."""
    api = obj.get("apiVersion") if isinstance(obj, dict) else None
    return isinstance(api, str) and api.rpartition("/")[0] == GROUP and obj.get("kind") in CONFIG_KINDS


def load_config_resources(text: str, origin: str) -> list[dict[str, Any]]:
    """The ``ironlb.io`` config objects of ``text``, read as ``kubectl apply`` reads them (see above)."""
    try:
        docs = native(load_documents(text))
    except YamlError as exc:
        raise ClusterSourceUnavailable(f"{origin}: not valid YAML: line {exc.line}: {exc.message}") from exc
    return [obj for obj in iter_objects(docs) if is_config_resource(obj)]


class ManifestSource:
    """A ``ClusterSource`` over manifest files and directories, re-read on every snapshot."""

    def __init__(
        self,
        paths: Sequence[Path | str],
        *,
        config_namespace: str = DEFAULT_NAMESPACE,
        config_name: str = DEFAULT_CONFIGMAP,
        status_overlays: bool = True,
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.config_namespace = config_namespace
        self.config_name = config_name
        self.status_overlays = status_overlays
        """Lay the statuses in each directory's ``.ironlb-status/`` over the Services read."""

    def status_records(self) -> dict[str, StatusRecord]:
        """The status records of every named directory (a later directory wins for the same key)."""
        records: dict[str, StatusRecord] = {}
        for path in self.paths:
            if path.is_dir():
                records.update(StatusDir.of(path).read_all())
        return records

    def snapshot(self) -> ClusterSnapshot:
        services: list[Service] = []
        slices: list[EndpointSlice] = []
        nodes: list[Node] = []
        namespaces: list[Namespace] = []
        config_map: ConfigMap | None = None
        resources: list[dict[str, Any]] = []
        digest = hashlib.sha256()
        for path in manifest_files(self.paths):
            try:
                text = read_text(path)
            except OSError as exc:
                raise ClusterSourceUnavailable(f"{path}: cannot read: {exc.strerror}") from exc
            except NotText as exc:
                raise ClusterSourceUnavailable(str(exc)) from exc
            digest.update(str(path).encode() + b"\0" + text.encode() + b"\0")
            objects = load_objects(text, str(path))
            if any(is_config_resource(obj) for obj in objects):
                resources.extend(load_config_resources(text, str(path)))
            for obj in objects:
                kind = obj.get("kind")
                if kind == "Service":
                    services.append(cast(Service, obj))
                elif kind == "EndpointSlice":
                    slices.append(cast(EndpointSlice, obj))
                elif kind == "Node":
                    nodes.append(cast(Node, obj))
                elif kind == "Namespace":
                    namespaces.append(cast(Namespace, obj))
                elif kind == "ConfigMap" and self._is_config(obj):
                    config_map = cast(ConfigMap, obj)
        if self.status_overlays:
            records = self.status_records()
            digest.update(b"status\0" + records_digest(records))
            services = list(apply_overlays(services, records))
        return ClusterSnapshot(
            services=tuple(services),
            endpoint_slices=tuple(slices),
            nodes=tuple(nodes),
            config_map=config_map,
            namespaces=tuple(namespaces),
            config_resources=tuple(resources),
            revision=digest.hexdigest(),
        )

    def _is_config(self, obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        return bool(
            meta.get("name") == self.config_name
            and meta.get("namespace", self.config_namespace) == self.config_namespace
        )
