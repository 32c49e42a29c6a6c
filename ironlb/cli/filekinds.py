"""What a YAML file holds when it is not an ironlb config, and which command reads it instead.

Why: a new user's first ``ironlb validate`` is often on the wrong file -- MetalLB's
custom resources, a Service manifest, the install's DaemonSet -- and "unknown field
'apiVersion'" four times does not tell them what to do. This module recognises
Kubernetes objects by API group and kind and names the command that takes them.
It is the one place that knows which kinds go where: ironlb's own config resources
(``ironlb.io`` IPAddressPool, L2Advertisement, ...) and the ConfigMap are configuration
(:func:`is_config_object`), read by ``validate``, ``plan -c`` and ``convert``; ironlb's
status kinds are written by the programs, never read as configuration.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Family:
    """Kubernetes objects that one ironlb command (or none) reads."""

    what: str
    """What they are, for the sentence: ``MetalLB resources``."""
    hint: str
    """Which command takes them, ``{path}`` standing for the file."""


METALLB = Family(
    "MetalLB resources",
    "`ironlb convert {path}` turns them into ironlb.io resources (or change the group metallb.io to "
    "ironlb.io for the same fields)",
)
STATUS = Family(
    "ironlb status objects", "the speakers and the controller write them; they are not configuration"
)
CLUSTER = Family(
    "cluster manifests", "`ironlb plan -c CONFIG -f {path}` shows what ironlb would assign to them"
)
OTHER = Family("Kubernetes objects", "ironlb's commands do not read them")

_CLUSTER_KINDS = {("", "Service"), ("", "Node"), ("discovery.k8s.io", "EndpointSlice")}
_GROUPS = {"metallb.io": METALLB, "ironlb.io": STATUS}


def is_config_object(obj: Any) -> bool:
    """An ``ironlb.io`` config object (IPAddressPool, BGPPeer, ...; not the status kinds): configuration."""
    from ironlb.cluster.manifests import is_config_resource

    return is_config_resource(obj)


def other_objects(documents: Iterable[Any]) -> str:
    """The objects of ``documents`` that are not configuration, ``Service x2, Node``; or ``""``."""
    counts: Counter[str] = Counter(
        str(obj["kind"])
        for obj in _objects(documents)
        if isinstance(obj, dict)
        and isinstance(obj.get("apiVersion"), str)
        and obj.get("kind")
        and obj["kind"] != "ConfigMap"
        and not is_config_object(obj)
    )
    return _count(counts)


def family_of(api_version: str, kind: str) -> Family:
    """The family of one object, from its ``apiVersion`` (``group/version`` or ``version``) and kind."""
    group = api_version.rpartition("/")[0]
    if (group, kind) in _CLUSTER_KINDS:
        return CLUSTER
    return _GROUPS.get(group, OTHER)


def _objects(documents: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Each document, with ``kind: List`` (and ``*List`` with items) unpacked."""
    for doc in documents:
        if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
            yield from _objects(doc.get("items") or [])
        else:
            yield doc


def describe_non_config(documents: Iterable[Any], path: str) -> str | None:
    """A sentence saying what ``documents`` are and which command takes them, or ``None``.

    ``path`` is the command-line argument (``-``: standard input). ``None`` unless
    every document is a Kubernetes object (``apiVersion`` and ``kind``) and none is
    configuration: a ConfigMap, an ``ironlb.io`` config object or a bare config document
    is the config decoder's to judge, with its own errors.
    """
    objects = [doc for doc in _objects(documents) if doc is not None]
    if not objects:
        return None
    kinds: dict[Family, Counter[str]] = {}
    for obj in objects:
        if not (isinstance(obj, dict) and isinstance(obj.get("apiVersion"), str) and obj.get("kind")):
            return None
        if obj["kind"] == "ConfigMap" or is_config_object(obj):
            return None
        kind = str(obj["kind"])
        kinds.setdefault(family_of(obj["apiVersion"], kind), Counter())[kind] += 1
    parts = [
        f"{family.what} ({_count(counts)}): {family.hint.format(path=path)}"
        for family, counts in sorted(kinds.items(), key=lambda item: item[0] is OTHER)
    ]
    subject = "standard input" if path == "-" else path
    return (
        f"{subject} is not an ironlb config; it holds {'; and '.join(parts)}. "
        "ironlb's configuration is ironlb.io/v1beta1 resources (IPAddressPool, L2Advertisement, ...), "
        "a ConfigMap (data.config) or a bare config document (address-pools, peers, ...)"
    )


def _count(counts: Counter[str]) -> str:
    """``IPAddressPool x3, L2Advertisement``: kinds in the file's order, with their number when >1."""
    return ", ".join(kind if n == 1 else f"{kind} x{n}" for kind, n in counts.items())
