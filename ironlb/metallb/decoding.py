"""Manifests → MetalLB objects per kind, each decoded by its CRD model, for ``ironlb.metallb.mapping``.

Everything that is not MetalLB configuration is counted and named in one note;
a MetalLB kind ironlb does not convert, an unsupported API version, a missing
or repeated name is a finding of that object; a spec that does not decode makes
the object *broken* (its name is kept, so that references to it are not
reported a second time as unknown). Fields no model declares are lossy findings,
never dropped silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ironlb.metallb import crds
from ironlb.metallb.crds import Metadata, Obj
from ironlb.metallb.documents import Manifest
from ironlb.metallb.findings import Source
from ironlb.metallb.report import Report

POOL_KINDS = frozenset({"IPAddressPool", "AddressPool"})
"""Kinds that become address pools: one name space, as in MetalLB (and in ironlb's config)."""


@dataclass
class Decoded:
    objects: dict[str, list[Obj]] = field(default_factory=lambda: {kind: [] for kind in crds.SPECS})
    """Objects per kind, sorted by name."""
    broken: dict[str, set[str]] = field(default_factory=dict)
    """Names of the objects (per kind) whose spec failed to decode."""


def decode_all(r: Report, manifests: Sequence[Manifest]) -> Decoded:
    """Typed objects per kind (sorted by name), and the names of objects that failed to decode."""
    reader = _Reader(r)
    for m in manifests:
        reader.read(m)
    reader.report_input()
    for items in reader.out.objects.values():
        items.sort(key=lambda o: o.source.name)
    return reader.out


class _Reader:
    def __init__(self, r: Report) -> None:
        self.r = r
        self.out = Decoded()
        self.seen: dict[tuple[str, str], Source] = {}
        self.ignored: Counter[str] = Counter()
        self.namespaces: set[str] = set()

    def read(self, m: Manifest) -> None:
        header = self._header(m)
        if header is None:
            return
        source, meta = header
        kind, name = source.kind, source.name
        spec, problems = crds.decode(crds.SPECS[kind], m.obj.get("spec"), "spec")
        if not self._claim(source):
            return
        for path, message in problems:
            self.r.add("error", source, path, message)
        if spec is None:
            self.out.broken.setdefault(kind, set()).add(name)
            return
        for path in crds.unknown_fields(spec, "spec"):
            self.r.add(
                "lossy",
                source,
                path,
                f"unknown {kind} field, not converted: check what it does in your "
                "MetalLB version and remove it, or configure its effect in ironlb by hand",
            )
        self.out.objects[kind].append(Obj(source, dict(meta.labels or {}), spec))

    def _header(self, m: Manifest) -> tuple[Source, Metadata] | None:
        """The object's source and metadata when it is a named MetalLB object of a kind and version
        ironlb converts; otherwise ``None``, with a finding or counted as ignored."""
        kind, api = m.obj.get("kind"), m.obj.get("apiVersion")
        group, _, version = api.rpartition("/") if isinstance(api, str) else ("", "", "")
        if group != crds.GROUP or not isinstance(kind, str):
            self.ignored[str(kind)] += 1
            return None
        meta, problems = crds.decode(crds.Metadata, m.obj.get("metadata"), "metadata")
        name = (meta.name if meta else None) or ""
        source = Source(m.origin, kind, name or "?")
        if kind not in crds.SPECS:
            self.r.add("note", source, "", f"{kind} is not MetalLB configuration ironlb converts; ignored")
            return None
        versions = crds.VERSIONS.get(kind, ("v1beta1",))
        if version not in versions:
            accepted = ", ".join(f"{crds.GROUP}/{x}" for x in versions)
            self.r.add("error", source, "apiVersion", f"{api!r} is not supported for {kind} (use {accepted})")
            return None
        for path, message in problems:
            self.r.add("error", source, path, message)
        if meta is None:
            return None
        if not name:
            self.r.add("error", source, "metadata.name", "required field is missing")
            return None
        if meta.namespace:
            self.namespaces.add(meta.namespace)
        return source, meta

    def _claim(self, source: Source) -> bool:
        """Is this the first object of its name (pools: across both pool kinds)? Reported if not."""
        kind, name = source.kind, source.name
        key = ("pool" if kind in POOL_KINDS else kind, name)
        first = self.seen.setdefault(key, source)
        if first is source:
            return True
        if first.kind == kind:
            message = f"duplicate {kind} {name!r} (first at {first.origin})"
        else:
            message = (
                f"pool name {name!r} is also used by {first}: IPAddressPools and AddressPools "
                "share one name space (MetalLB refuses this too); rename one"
            )
        self.r.add("error", source, "metadata.name", message)
        return False

    def report_input(self) -> None:
        """What concerns the input as a whole: several namespaces, objects that are not MetalLB's."""
        if len(self.namespaces) > 1:
            self.r.add(
                "warning",
                "input",
                "",
                f"objects from several namespaces ({', '.join(sorted(self.namespaces))}) are "
                "merged into one config; MetalLB reads only its own namespace: convert that one alone",
            )
        if self.ignored:
            kinds = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in sorted(self.ignored.items()))
            self.r.add(
                "note",
                "input",
                "",
                f"ignored {sum(self.ignored.values())} object(s) that are not MetalLB configuration: {kinds}",
            )
