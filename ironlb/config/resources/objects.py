"""Raw Kubernetes objects → typed ``ironlb.io`` config objects, every problem named by object and field.

The first step of decoding resources: check each object's ``apiVersion``, ``kind`` and
``metadata`` (a name; ironlb's namespace), decode its ``spec`` with the kind's wire model
(:mod:`ironlb.config.resources.wire`), and refuse a second object of the same kind and name.
A spec with a field that does not decode is reported (unknown fields with a "did you mean")
and decoded again without that field, so that the other fields' problems are reported in the
same run; such an object is *broken*: its problems are errors, so no config is built, but its
name still counts as defined (a reference to it is not reported a second time as unknown).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ironlb.config import fields
from ironlb.config.decode import describe, model_at, type_mismatch, unknown_field
from ironlb.config.errors import join_path
from ironlb.config.resources.schema import API_VERSION, GROUP, api_versions
from ironlb.config.resources.wire import SPECS, Metadata
from ironlb.config.result import ConfigProblem, ObjectRef, ObjectVersion

STATUS_KINDS = frozenset({"ServiceL2Status", "ServiceBGPStatus", "ConfigurationState"})
"""ironlb.io kinds that are not configuration (written by the programs): skipped without a word."""


@dataclass
class Report:
    """The problems found while the inputs are judged, in the order found."""

    errors: list[ConfigProblem] = field(default_factory=list)
    warnings: list[ConfigProblem] = field(default_factory=list)

    def error(self, obj: ObjectRef, path: str, message: str) -> None:
        self.errors.append(ConfigProblem(obj, path, message))

    def warn(self, obj: ObjectRef, path: str, message: str) -> None:
        self.warnings.append(ConfigProblem(obj, path, message, "warning"))

    def fields(self, obj: ObjectRef, base: fields.FieldPath, problems: Iterable[fields.Problem]) -> None:
        """The field rules' problems (:mod:`ironlb.config.fields`) of the part of ``obj`` at ``base``."""
        for problem in problems:
            path = join_path("", *base, *problem.field)
            if problem.warning:
                self.warn(obj, path, problem.message)
            else:
                self.error(obj, path, problem.message)

    def count(self) -> int:
        return len(self.errors)


@dataclass(frozen=True)
class Resource:
    """One config object, decoded."""

    ref: ObjectRef
    labels: Mapping[str, str]
    spec: Any
    """The kind's spec model (:data:`ironlb.config.resources.wire.SPECS`)."""
    broken: bool = False
    """A field of the spec did not decode (reported): the object is judged without it."""


@dataclass
class Objects:
    """The decoded objects per kind (sorted by name), and every object read with its generation."""

    by_kind: dict[str, list[Resource]] = field(default_factory=lambda: {kind: [] for kind in SPECS})
    versions: list[ObjectVersion] = field(default_factory=list)
    undecodable: dict[str, set[str]] = field(default_factory=dict)
    """Names of objects (per kind) whose spec could not be decoded at all: defined, but unusable."""

    def defined(self, kind: str) -> set[str]:
        """Every name of ``kind`` the input defines (broken and undecodable objects too)."""
        return {r.ref.name for r in self.by_kind[kind]} | self.undecodable.get(kind, set())


def read_objects(r: Report, raw: Sequence[Mapping[str, Any]], namespace: str) -> Objects:
    """The config objects of ``raw`` (other kinds are errors), decoded (see the module docstring)."""
    out = Objects()
    seen: set[ObjectRef] = set()
    for index, obj in enumerate(raw):
        header = _header(r, obj, index, namespace)
        if header is None:
            continue
        ref, meta = header
        out.versions.append(ObjectVersion(ref, meta.generation, meta.resource_version))
        if ref in seen:
            r.error(ref, "metadata.name", f"{ref.kind} {ref.name!r} is defined more than once")
            continue
        seen.add(ref)
        resource = _spec(r, ref, dict(meta.labels or {}), obj.get("spec"))
        if resource is None:
            out.undecodable.setdefault(ref.kind, set()).add(ref.name)
        else:
            out.by_kind[ref.kind].append(resource)
    for items in out.by_kind.values():
        items.sort(key=lambda res: res.ref.name)
    # Duplicates of one object may carry a generation or not: None sorts first, never compared to an int.
    out.versions.sort(
        key=lambda v: (v.ref, v.generation is not None, v.generation or 0, v.resource_version or "")
    )
    return out


def _header(
    r: Report, obj: Mapping[str, Any], index: int, namespace: str
) -> tuple[ObjectRef, Metadata] | None:
    """The object's reference and metadata when it is a config object in ``namespace``; else reported."""
    kind = obj.get("kind") if isinstance(obj, Mapping) else None
    api = obj.get("apiVersion") if isinstance(obj, Mapping) else None
    if not isinstance(kind, str) or not isinstance(api, str):
        r.error(
            ObjectRef(f"object #{index + 1}", "", ""), "", "not a Kubernetes object (no apiVersion and kind)"
        )
        return None
    if api.rpartition("/")[0] == GROUP and kind in STATUS_KINDS:
        return None
    try:
        meta = Metadata.model_validate(obj.get("metadata") or {})
    except ValidationError as exc:
        where = ObjectRef(kind, namespace, "?")
        for path, message in _problems(exc, "metadata", Metadata):
            r.error(where, path, message)
        return None
    ref = ObjectRef(kind, meta.namespace or namespace, meta.name or "?")
    if api.rpartition("/")[0] != GROUP or kind not in SPECS:
        r.error(ref, "", _not_config(api, kind))
        return None
    if api not in api_versions(kind):
        r.error(ref, "apiVersion", f"{api!r} is not supported (use {' or '.join(api_versions(kind))})")
        return None
    if not meta.name:
        r.error(ref, "metadata.name", "required field is missing")
        return None
    if ref.namespace != namespace:
        r.error(
            ref,
            "metadata.namespace",
            f"{ref.namespace!r} is not ironlb's namespace: ironlb reads its configuration from "
            f"{namespace!r} only",
        )
        return None
    return ref, meta


def _not_config(api: str, kind: str) -> str:
    if api.startswith("metallb.io/"):
        same = f"{GROUP}/{api.rpartition('/')[2]}"
        target = same if same in api_versions(kind) else API_VERSION
        return f"a MetalLB {kind}: change apiVersion to {target} (same fields), or run `ironlb convert` on it"
    return f"{api} {kind} is not ironlb configuration (expected {API_VERSION}: {', '.join(SPECS)})"


def _spec(r: Report, ref: ObjectRef, labels: dict[str, str], raw: Any) -> Resource | None:
    """The decoded spec; with fields that failed dropped (reported, ``broken``); ``None`` when hopeless."""
    model = SPECS[ref.kind]
    raw = {} if raw is None else raw
    try:
        return Resource(ref, labels, model.model_validate(raw))
    except ValidationError as exc:
        for path, message in _problems(exc, "spec", model):
            r.error(ref, path, message)
        if not isinstance(raw, Mapping):
            return None
        bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
        try:
            return Resource(
                ref, labels, model.model_validate({k: v for k, v in raw.items() if k not in bad}), True
            )
        except ValidationError:
            return None


def _problems(exc: ValidationError, base: str, root: type[BaseModel]) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(part for part in err["loc"] if part != "[key]")
        path = join_path(base, *loc)
        if err["type"] == "extra_forbidden":
            out.append((path, unknown_field(str(loc[-1]), model_at(root, loc))))
        elif err["type"] == "model_type" and not loc:
            out.append((base, f"expected a mapping, got {describe(err.get('input'))}"))
        else:
            out.append((path, type_mismatch(err["type"], err.get("input")) or str(err["msg"])))
    return out
