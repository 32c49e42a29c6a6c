"""MetalLB ``Community`` and ``BFDProfile`` objects → ironlb's ``bgp-communities`` and ``bfd-profiles``.

Both map one to one. Community aliases from every Community object are merged,
as MetalLB does; one alias defined twice with different values is an error.
BFD profiles keep MetalLB's defaults and documented ranges (shared with ironlb's
own parser through ``ironlb.config.fields.BFD_RANGES``).
"""

from __future__ import annotations

from ironlb.config import values as v
from ironlb.config.fields import BFD_RANGES
from ironlb.config.model import BfdProfile, Community
from ironlb.metallb import crds
from ironlb.metallb.crds import Obj
from ironlb.metallb.findings import Source
from ironlb.metallb.report import Report


def communities(r: Report, objs: list[Obj]) -> dict[str, tuple[Community, Source]]:
    aliases: dict[str, tuple[Community, Source]] = {}
    for obj in objs:
        for i, alias in enumerate(obj.spec.communities or ()):
            path = crds.join("spec.communities", i)
            if not alias.name:
                r.add("error", obj.source, crds.join(path, "name"), "required field is missing")
                continue
            try:
                value = v.parse_community_literal(alias.value or "")
            except ValueError as exc:
                r.add("error", obj.source, crds.join(path, "value"), str(exc))
                continue
            name = str.__str__(alias.name)
            if name in aliases and aliases[name][0] != value:
                r.add(
                    "error",
                    obj.source,
                    crds.join(path, "name"),
                    f"alias {name!r} is also defined with "
                    f"another value by {aliases[name][1]}; keep one definition",
                )
                continue
            aliases.setdefault(name, (value, obj.source))
    return aliases


_BFD_FIELDS = {
    "receiveInterval": "receive_interval",
    "transmitInterval": "transmit_interval",
    "detectMultiplier": "detect_multiplier",
    "echoInterval": "echo_interval",
    "minimumTtl": "minimum_ttl",
}


def bfd_profiles(r: Report, objs: list[Obj]) -> list[BfdProfile]:
    out = []
    for obj in objs:
        spec: crds.BFDProfileSpec = obj.spec
        numbers = {
            "receiveInterval": spec.receive_interval,
            "transmitInterval": spec.transmit_interval,
            "detectMultiplier": spec.detect_multiplier,
            "echoInterval": spec.echo_interval,
            "minimumTtl": spec.minimum_ttl,
        }
        ok = True
        for key, value in numbers.items():
            low, high = BFD_RANGES[_BFD_FIELDS[key]]
            if value is not None and not low <= value <= high:
                r.add("error", obj.source, f"spec.{key}", f"{value} is out of range ({low}..{high})")
                ok = False
        if not ok:
            continue
        d = BfdProfile(name=obj.source.name)
        out.append(
            BfdProfile(
                name=obj.source.name,
                receive_interval=d.receive_interval
                if spec.receive_interval is None
                else spec.receive_interval,
                transmit_interval=d.transmit_interval
                if spec.transmit_interval is None
                else spec.transmit_interval,
                detect_multiplier=d.detect_multiplier
                if spec.detect_multiplier is None
                else spec.detect_multiplier,
                echo_interval=d.echo_interval if spec.echo_interval is None else spec.echo_interval,
                echo_mode=bool(spec.echo_mode),
                passive_mode=bool(spec.passive_mode),
                minimum_ttl=d.minimum_ttl if spec.minimum_ttl is None else spec.minimum_ttl,
            )
        )
    return out
