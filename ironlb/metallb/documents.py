"""Manifest text → Kubernetes objects with their origin, for ``ironlb convert``.

No new loader: YAML is read by ``ironlb.config.yamlload`` (yaml.v2 semantics,
duplicate keys refused, alias bombs bounded, every failure a message with a
line) and ``kind: List`` is unpacked by ``ironlb.cluster.manifests.iter_objects``,
the same code ``ironlb plan`` reads manifests with. This module only numbers the
documents (1-based, as a person counts them) so that every finding can say where
its object came from, and turns a document ``iter_objects`` cannot walk (a
``kind`` that is not a string, ``items`` that is not a list) into a finding
instead of a crash. Pure: the caller reads the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ironlb.cluster.manifests import iter_objects
from ironlb.config.yamlload import YamlError, load_documents
from ironlb.metallb.findings import Finding, Origin


@dataclass(frozen=True)
class Manifest:
    origin: Origin
    obj: dict[str, Any]


def manifests_from_text(text: str, file: str) -> tuple[list[Manifest], list[Finding]]:
    """The objects in ``text`` (read from ``file``), or findings saying why some could not be read."""
    try:
        docs = load_documents(text)
    except YamlError as exc:
        where = f"{file}:{exc.line}" if exc.line else file
        column = f" (column {exc.column})" if exc.column else ""
        return [], [Finding("error", where, "", f"not valid YAML: {exc.message}{column}")]
    manifests: list[Manifest] = []
    findings: list[Finding] = []
    for number, doc in enumerate(docs, start=1):
        if doc is None:
            continue
        origin = Origin(file, number)
        if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
            findings.append(
                Finding("note", str(origin), "", "ignored: not a Kubernetes object (no string 'kind')")
            )
            continue
        try:
            objects = list(iter_objects([doc]))
        except (AttributeError, TypeError):
            findings.append(
                Finding(
                    "error",
                    str(origin),
                    "",
                    "malformed list: every item needs a string 'kind' and 'items' must be a list",
                )
            )
            continue
        is_list = _is_list(doc)
        for index, obj in enumerate(objects):
            manifests.append(Manifest(Origin(file, number, index if is_list else None), obj))
    return manifests, findings


def _is_list(doc: dict[str, Any]) -> bool:
    kind = doc.get("kind")
    return isinstance(kind, str) and (kind == "List" or (kind.endswith("List") and "items" in doc))
