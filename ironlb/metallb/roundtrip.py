"""Check a converted config with ironlb's own parser, and map its errors back to the CRD objects.

Rules that span items (pools that overlap, duplicate peers, an aggregation
length shorter than a pool's prefix) are ironlb's parser's business; rather
than re-implement them, the built config is rendered with ``render_config`` and
parsed back. Each error path of the legacy format (``address-pools[2].bgp-
advertisements[1].aggregation-length``) is translated to the object and CRD
field it came from (``BGPAdvertisement/agg: spec.aggregationLength``), and the
parsed config must equal the built one, so what ``ironlb convert`` prints is
exactly what ironlb runs. An AddressPool's advertisement errors point into the
AddressPool (``AddressPool/old: spec.bgpAdvertisements[0].aggregationLength``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ironlb.config import ConfigError, parse_config
from ironlb.config.model import Config
from ironlb.config.render import render_config
from ironlb.metallb.crds import field_name
from ironlb.metallb.findings import Source
from ironlb.metallb.report import Report


@dataclass(frozen=True)
class Sources:
    pools: list[Source]
    ads: dict[tuple[int, int], Source]
    peers: list[Source]
    bfd: list[Source]
    ad_fields: dict[tuple[int, int], str] = field(default_factory=dict)
    """Where an advertisement is a field of its source (an AddressPool's ``spec.bgpAdvertisements[i]``)."""


_PATH = re.compile(r"(address-pools|peers|bfd-profiles)\[(\d+)\](?:\.bgp-advertisements\[(\d+)\])?\.?([^:]*)")
_REF = re.compile(r"(address-pools|peers)\[(\d+)\]")


def round_trip(r: Report, config: Config, sources: Sources) -> bool:
    """Parse the rendered config with ironlb's parser; map its errors back to the CRD objects."""
    try:
        back = parse_config(render_config(config))
    except ConfigError as exc:
        for line in exc.errors:
            path, _, message = line.partition(": ")
            where: Source | str = "converted config"
            spot = path
            m = _PATH.fullmatch(path)
            if m is not None:
                section, index, ad, rest = m.group(1), int(m.group(2)), m.group(3), m.group(4)
                table = {"address-pools": sources.pools, "peers": sources.peers, "bfd-profiles": sources.bfd}
                if index < len(table[section]):
                    where = table[section][index]
                base = "spec"
                if ad is not None and (index, int(ad)) in sources.ads:
                    where = sources.ads[index, int(ad)]
                    base = sources.ad_fields.get((index, int(ad)), base)
                key, sep, tail = rest.partition("[")
                spot = _crd_field(key) + (sep + tail if sep else "")
                if base != "spec":  # spec.aggregationLength -> spec.bgpAdvertisements[1].aggregationLength
                    spot = base + spot.removeprefix("spec")
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


def _crd_field(key: str) -> str:
    """A legacy-format field (``peer-asn``) as the CRD field it came from (``spec.peerASN``)."""
    if key == "name":
        return "metadata.name"
    return f"spec.{field_name(key.replace('-', '_'))}" if key else ""


def _ref(m: re.Match[str], sources: Sources) -> str:
    table = sources.pools if m.group(1) == "address-pools" else sources.peers
    index = int(m.group(2))
    return f"{table[index].kind}/{table[index].name}" if index < len(table) else m.group(0)
