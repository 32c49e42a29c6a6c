"""Check a converted config with ironlb's own parser, and map its errors back to the CRD objects.

Rules that span items (pools that overlap, duplicate peers, an aggregation
length shorter than a pool's prefix) are ironlb's parser's business; rather
than re-implement them, the projected ConfigMap is rendered with
``render_config`` and parsed back. Each error path of the legacy format
(``address-pools[2].bgp-advertisements[1].aggregation-length``) is translated to
the object and CRD field it came from (``BGPAdvertisement/agg:
spec.aggregationLength``), and the parsed config must equal the projection, so
what ``ironlb convert`` prints is exactly what ironlb runs. An AddressPool's
advertisement errors point into the AddressPool (``AddressPool/old:
spec.bgpAdvertisements[0].aggregationLength``). The projection's losses are
placed the same way (:meth:`Sources.of`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ironlb.config import ConfigError, parse_config
from ironlb.config.legacy import Legacy, Loss
from ironlb.config.render import render_config
from ironlb.config.resources.wire import field_name
from ironlb.metallb.findings import Source
from ironlb.metallb.report import Report

Where = tuple[Source, str]
"""An object, and the field of it that stands for a domain item (``spec``, or an AddressPool's
``spec.bgpAdvertisements[i]``)."""


@dataclass(frozen=True)
class Sources:
    """Where each item of the domain config came from, by its index in the config."""

    pools: list[Source]
    l2: list[Where]
    bgp: list[Where]
    peers: list[Source]
    bfd: list[Source]

    def of(self, loss: Loss) -> tuple[Source | str, str]:
        """The object and CRD field a loss of the legacy projection is about."""
        base = "spec"
        where: Source | str = "converted config"
        if loss.kind == "AddressPool" and loss.index < len(self.pools):
            where = self.pools[loss.index]
        elif loss.kind == "Peer" and loss.index < len(self.peers):
            where = self.peers[loss.index]
        elif loss.kind in ("L2Advertisement", "BGPAdvertisement"):
            table = self.l2 if loss.kind == "L2Advertisement" else self.bgp
            if loss.index < len(table):
                where, base = table[loss.index]
        if not loss.field:
            return where, ""
        spelled = ".".join(field_name(part) for part in loss.field.split("."))
        return where, f"{base}.{spelled}"


_PATH = re.compile(r"(address-pools|peers|bfd-profiles)\[(\d+)\](?:\.bgp-advertisements\[(\d+)\])?\.?([^:]*)")
_REF = re.compile(r"(address-pools|peers)\[(\d+)\]")


def round_trip(r: Report, legacy: Legacy, sources: Sources) -> bool:
    """Parse the rendered projection with ironlb's parser; map its errors back to the CRD objects."""
    config = legacy.config
    try:
        back = parse_config(render_config(config))
    except ConfigError as exc:
        for line in exc.errors:
            path, _, message = line.partition(": ")
            where, spot = _locate(path, legacy, sources)
            r.add("error", where, spot, _REF.sub(lambda mm: _ref(mm, sources), message))
        return False
    if back != config:
        r.add(
            "error",
            "converted config",
            "",
            "internal error: the rendered config does not parse back to "
            "the same config; please report this with the input",
        )
        return False
    return True


def _locate(path: str, legacy: Legacy, sources: Sources) -> tuple[Source | str, str]:
    """The object and CRD field a ConfigMap error path stands for (the path itself when unknown)."""
    m = _PATH.fullmatch(path)
    if m is None:
        return "converted config", path
    section, index, ad, rest = m.group(1), int(m.group(2)), m.group(3), m.group(4)
    table = {"address-pools": sources.pools, "peers": sources.peers, "bfd-profiles": sources.bfd}[section]
    where: Source | str = table[index] if index < len(table) else "converted config"
    base = "spec"
    if ad is not None:
        origin = legacy.bgp_origins.get((index, int(ad)))
        if origin is not None and origin < len(sources.bgp):
            where, base = sources.bgp[origin]
    key, sep, tail = rest.partition("[")
    spot = _crd_field(key) + (sep + tail if sep else "")
    if base != "spec":  # spec.aggregationLength -> spec.bgpAdvertisements[1].aggregationLength
        spot = base + spot.removeprefix("spec")
    return where, spot


def _crd_field(key: str) -> str:
    """A legacy-format field (``peer-asn``) as the CRD field it came from (``spec.peerASN``)."""
    if key == "name":
        return "metadata.name"
    return f"spec.{field_name(key.replace('-', '_'))}" if key else ""


def _ref(m: re.Match[str], sources: Sources) -> str:
    table = sources.pools if m.group(1) == "address-pools" else sources.peers
    index = int(m.group(2))
    return f"{table[index].kind}/{table[index].name}" if index < len(table) else m.group(0)
