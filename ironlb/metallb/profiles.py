"""MetalLB ``Community`` and ``BFDProfile`` objects → ironlb's ``bgp-communities`` and ``bfd-profiles``.

Both map one to one. Community aliases from every Community object are merged,
as MetalLB does; one alias defined twice with different values is an error.
BFD profiles keep MetalLB's defaults and documented ranges (the field rules of
``ironlb.config.fields``, as for a ConfigMap).
"""

from __future__ import annotations

from ironlb.config import fields
from ironlb.config import values as v
from ironlb.config.errors import join_path
from ironlb.config.model import BfdProfile, Community
from ironlb.config.resources.wire import field_name
from ironlb.metallb.crds import Obj
from ironlb.metallb.findings import Source
from ironlb.metallb.report import Report


def communities(r: Report, objs: list[Obj]) -> dict[str, tuple[Community, Source]]:
    aliases: dict[str, tuple[Community, Source]] = {}
    for obj in objs:
        for i, alias in enumerate(obj.spec.communities or ()):
            path = join_path("spec.communities", i)
            if not alias.name:
                r.add("error", obj.source, join_path(path, "name"), "required field is missing")
                continue
            try:
                value = v.parse_community_literal(alias.value or "")
            except ValueError as exc:
                r.add("error", obj.source, join_path(path, "value"), str(exc))
                continue
            name = str.__str__(alias.name)
            if name in aliases and aliases[name][0] != value:
                r.add(
                    "error",
                    obj.source,
                    join_path(path, "name"),
                    f"alias {name!r} is also defined with "
                    f"another value by {aliases[name][1]}; keep one definition",
                )
                continue
            aliases.setdefault(name, (value, obj.source))
    return aliases


def bfd_profiles(r: Report, objs: list[Obj]) -> list[BfdProfile]:
    out = []
    for obj in objs:
        profile, problems = fields.bfd_profile(obj.source.name, obj.spec, field_name)
        r.problems(obj.source, "spec", problems)
        if profile is not None:
            out.append(profile)
    return out
