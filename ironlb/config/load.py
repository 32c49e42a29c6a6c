"""The one entry every input of the configuration goes through: :func:`load_config`.

ironlb reads its configuration from MetalLB's legacy ConfigMap and from ``ironlb.io/v1beta1``
resources (IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile,
Community, ClusterIPAdvertisement), alone or together. The programs (from the API
server), the manifest-directory source (the lab, standalone), ``ironlb validate``,
``ironlb plan`` and ``ironlb convert`` all call :func:`load_config`, so the same input gets
the same verdict and the same messages everywhere.

Pipeline: the ConfigMap is parsed as it always was (:mod:`ironlb.config.parse`, messages
unchanged); the resources are read (:mod:`ironlb.config.resources.objects`), decoded item
by item with the shared field rules and merged with the ConfigMap's config under the rules
that span objects (:mod:`ironlb.config.resources.build`). Any error means no config (the
programs keep the last good one); warnings never block. Nothing but a :class:`ConfigResult`
comes out, whatever the input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ironlb.config import fields
from ironlb.config.errors import ConfigError, split_line
from ironlb.config.model import Config
from ironlb.config.parse import configmap_report, parse_config_report
from ironlb.config.resources.build import merge
from ironlb.config.resources.objects import Report, read_objects
from ironlb.config.resources.schema import CONFIG_KINDS
from ironlb.config.result import CONFIGMAP, ConfigProblem, ConfigResult, ObjectRef, ObjectVersion

DEFAULT_NAMESPACE = "ironlb-system"


def load_config(
    configmap_text: str | None,
    resources: Sequence[Mapping[str, Any]],
    *,
    configmap: Mapping[str, Any] | None = None,
    key: str = "config",
    namespace: str = DEFAULT_NAMESPACE,
) -> ConfigResult:
    """The config of the ConfigMap and the resources together, or every problem; never raises.

    ``configmap_text``: the ConfigMap's config (its ``data.config``, a whole ConfigMap manifest
    or a file holding one, as ``ironlb validate`` reads it); ``None``: no ConfigMap. Or pass the
    ConfigMap object as ``configmap`` (its ``data[key]`` is read, a missing key is an error, its
    name labels the problems). ``resources``: ``ironlb.io`` objects as the API server or a
    manifest file gives them (status kinds are skipped); they must be in ``namespace``.
    """
    r = Report()
    cm_ref = _configmap_ref(configmap)
    present = configmap is not None or configmap_text is not None
    base, base_ok = Config(), True
    if present:
        base, base_ok = _configmap(r, cm_ref, configmap_text, configmap, key)
    objects = read_objects(r, resources, namespace)
    config = merge(r, base, base_ok, objects, namespace)
    sources = tuple(objects.versions)
    if configmap is not None:
        meta = configmap.get("metadata") if isinstance(configmap.get("metadata"), Mapping) else {}
        version = meta.get("resourceVersion") if isinstance(meta, Mapping) else None
        sources = (ObjectVersion(cm_ref, None, version if isinstance(version, str) else None), *sources)
    elif present:
        sources = (ObjectVersion(cm_ref), *sources)
    return ConfigResult(
        config=None if r.errors else config,
        errors=_by_object(r.errors),
        warnings=_by_object(r.warnings),
        sources=sources,
    )


_KIND_ORDER = {kind: i for i, kind in enumerate((CONFIGMAP, *CONFIG_KINDS))}


def _by_object(problems: list[ConfigProblem]) -> tuple[ConfigProblem, ...]:
    """Problems grouped by object (the ConfigMap, then by kind as the CRDs are listed, then by name);
    in the order found within one object."""
    return tuple(
        sorted(
            problems,
            key=lambda p: (
                _KIND_ORDER.get(p.object.kind, len(_KIND_ORDER)),
                p.object.namespace,
                p.object.name,
            ),
        )
    )


def _configmap_ref(configmap: Mapping[str, Any] | None) -> ObjectRef:
    meta = configmap.get("metadata") if configmap is not None else None
    if not isinstance(meta, Mapping):
        return ObjectRef(CONFIGMAP, "", "")
    name, ns = meta.get("name"), meta.get("namespace")
    return ObjectRef(CONFIGMAP, ns if isinstance(ns, str) else "", name if isinstance(name, str) else "")


def _configmap(
    r: Report, ref: ObjectRef, text: str | None, configmap: Mapping[str, Any] | None, key: str
) -> tuple[Config, bool]:
    """The ConfigMap's config with its own paths in the messages; ``(empty, False)`` when it has errors."""
    try:
        if configmap is not None:
            result = configmap_report(dict(configmap), key)  # type: ignore[arg-type]
        else:
            result = parse_config_report(text or "", key)
    except ConfigError as exc:
        for line in exc.errors:
            r.error(ref, *split_line(line))
        return Config(), False
    except RecursionError:  # a pathologically nested mapping handed in as an object (files are bounded)
        r.error(ref, "", "nested too deeply")
        return Config(), False
    for line in result.warnings:
        r.warn(ref, *split_line(line))
    for i, peer in enumerate(result.config.peers):
        if fields.keepalive_ignored(peer):
            r.warn(ref, f"peers[{i}].keepalive-time", fields.keepalive_message(peer, "hold-time"))
    return result.config, True
