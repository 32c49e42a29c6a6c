"""Entry points: text or a ConfigMap in, a validated :class:`Config` out, or every problem at once.

The pipeline is YAML (``yamlload``) → wire models (``decode``) → domain types
(``build``, with the field rules of ``fields``) → cross-item rules (``rules``). Each stage reports into one
:class:`~ironlb.config.errors.Problems`, so a user sees all errors of a
document together; only a YAML syntax error stops early (nothing after it can
be read). Nothing but :class:`ConfigError` escapes these functions.

Input forms: a ConfigMap manifest (``kind: ConfigMap``, the config under
``data.config``), possibly among other documents of a multi-document file, or a
bare config document. An empty document is a valid config with nothing in it,
as in MetalLB. Errors inside ``data.config`` carry config-relative paths; YAML
syntax errors there name the line of the file when the config is a block scalar.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ironlb.config import build, rules
from ironlb.config.decode import Decoded, decode, describe
from ironlb.config.errors import ConfigError, Problems
from ironlb.config.model import AddressRange, BfdProfile, BgpAdvertisement, Config, L2Advertisement, Peer
from ironlb.config.yamlload import YamlError, block_scalar_offset, load_documents
from ironlb.kube_types import ConfigMap

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParseResult:
    """A valid config and the warnings found on the way (e.g. host bits masked in a CIDR)."""

    config: Config
    warnings: tuple[str, ...] = ()


def parse_config(text: str) -> Config:
    """Parse a ConfigMap manifest (``data.config``) or a bare config document.

    Raises :class:`ConfigError` carrying every problem, each ``"path: message"``.
    Warnings are logged (the ``*_report`` functions return them instead).
    """
    return _logged(parse_config_report(text))


def config_from_configmap(cm: ConfigMap, key: str = "config") -> Config:
    """Parse the config held in ``cm["data"][key]``; :class:`ConfigError` if it is missing or invalid.

    Warnings are logged, as the programs want them; :func:`configmap_report` returns them instead.
    """
    return _logged(configmap_report(cm, key))


def configmap_report(cm: ConfigMap, key: str = "config") -> ParseResult:
    """Like :func:`config_from_configmap`, returning the warnings instead of logging them."""
    return _from_configmap(cm, key, None, 0)


def _logged(result: ParseResult) -> Config:
    for warning in result.warnings:
        log.warning("config: %s", warning)
    return result.config


def parse_config_report(text: str, key: str = "config") -> ParseResult:
    """Like :func:`parse_config`, returning the warnings instead of logging them (``ironlb validate``
    prints them: logging them too would show each twice)."""
    try:
        docs = load_documents(text)
    except YamlError as exc:
        raise ConfigError([_yaml_message(exc, (0, 0))]) from None
    present = [(i, d) for i, d in enumerate(docs) if d is not None]
    configmaps = [(i, d) for i, d in present if isinstance(d, dict) and d.get("kind") == "ConfigMap"]
    if configmaps:
        if len(configmaps) > 1:
            with_key = [(i, d) for i, d in configmaps if isinstance(d.get("data"), dict) and key in d["data"]]
            if len(with_key) != 1:
                found = f"found {len(configmaps)} ConfigMaps, {len(with_key)} with data.{key}"
                raise ConfigError([f"(root): {found}; expected exactly one"])
            configmaps = with_key
        index, cm = configmaps[0]
        return _from_configmap(cm, key, text, index)
    if len(present) > 1:
        raise ConfigError([f"(root): expected one config document, found {len(present)}"])
    return _validate(present[0][1] if present else None)


def _from_configmap(cm: Any, key: str, file_text: str | None, doc_index: int) -> ParseResult:
    data = cm.get("data") if isinstance(cm, dict) else None
    if data is None or (isinstance(data, dict) and key not in data):
        raise ConfigError([f"data.{key}: missing; the ConfigMap has no {key!r} key"])
    if not isinstance(data, dict):
        raise ConfigError([f"data: expected a mapping, got {describe(data)}"])
    body = data[key]
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise ConfigError([f"data.{key}: expected a string holding the config, got {describe(body)}"])
    try:
        docs = load_documents(body)
    except YamlError as exc:
        offset = block_scalar_offset(file_text, doc_index, ("data", key)) if file_text is not None else None
        raise ConfigError([_yaml_message(exc, offset, f"data.{key}")]) from None
    present = [d for d in docs if d is not None]
    if len(present) > 1:
        raise ConfigError([f"data.{key}: expected one config document, found {len(present)}"])
    return _validate(present[0] if present else None)


def _yaml_message(exc: YamlError, offset: tuple[int, int] | None, where: str = "") -> str:
    """``line L: message (column C)``, in file coordinates when ``offset`` (line, indent) is known."""
    if not exc.line:
        return f"{where or '(root)'}: {exc.message}"
    if offset is not None:
        return f"line {exc.line + offset[0]}: {exc.message} (column {exc.column + offset[1]})"
    prefix = f"{where} line" if where else "line"
    return f"{prefix} {exc.line}: {exc.message} (column {exc.column})"


def _validate(raw: Any) -> ParseResult:
    p = Problems()
    wire = decode(raw, p)

    aliases = build.build_communities(p, wire.bgp_communities, wire.names_seen.get("bgp-communities", set()))
    pools = _pools(p, wire, aliases)
    profiles = _bfd_profiles(p, wire)
    known_profiles = {prof.name for prof in profiles} | wire.names_seen.get("bfd-profiles", set())
    peers = _peers(p, wire, known_profiles)
    cip = None
    if wire.cluster_ip_advertisement is not None:
        cip = build.build_cluster_ip(p, wire.cluster_ip_advertisement, aliases)
    interfaces = build.build_l2(p, wire.l2) if wire.l2 is not None else ()

    if p.errors and isinstance(raw, dict):
        p.errors.sort(key=_document_order(raw))
    p.raise_if_any()
    l2_ads: list[L2Advertisement] = []
    bgp_ads: list[BgpAdvertisement] = []
    for pool in pools:
        l2, bgp = build.legacy_pool_advertisements(pool, interfaces or ())
        l2_ads += l2
        bgp_ads += bgp
    config = Config(
        pools=tuple(pool.pool for pool in pools),
        peers=peers,
        bgp_communities=tuple(aliases.defined.items()),
        bfd_profiles=profiles,
        l2_advertisements=tuple(l2_ads),
        bgp_advertisements=tuple(bgp_ads),
        cluster_ip_advertisements=(cip,) if cip is not None else (),
    )
    return ParseResult(config, tuple(p.warnings))


def _pools(p: Problems, wire: Decoded, aliases: build.Aliases) -> tuple[build.LegacyPool, ...]:
    """The pools that build; names and overlaps checked across all of them."""
    pools: list[build.LegacyPool] = []
    all_ranges: list[tuple[int, str, tuple[AddressRange, ...]]] = []
    for index, wpool in wire.pools:
        ranges = build.pool_ranges(p, index, wpool)
        all_ranges.append((index, wpool.name or f"#{index}", ranges))
        pool = build.build_pool(p, index, wpool, ranges, aliases)
        if pool is not None:
            pools.append(pool)
    rules.check_unique_names(p, "address-pools", [(i, w.name) for i, w in wire.pools])
    rules.check_pool_overlaps(p, all_ranges)
    return tuple(pools)


def _bfd_profiles(p: Problems, wire: Decoded) -> tuple[BfdProfile, ...]:
    profiles = [build.build_bfd_profile(p, index, wprof) for index, wprof in wire.bfd_profiles]
    rules.check_unique_names(p, "bfd-profiles", [(i, w.name) for i, w in wire.bfd_profiles])
    return tuple(prof for prof in profiles if prof is not None)


def _peers(p: Problems, wire: Decoded, known_profiles: set[str]) -> tuple[Peer, ...]:
    """The peers that build; duplicates checked among those decoded without dropping a field."""
    peers: list[tuple[int, Peer]] = []
    for index, wpeer in wire.peers:
        peer = build.build_peer(p, index, wpeer, known_profiles)
        if peer is not None:
            peers.append((index, peer))
    rules.check_duplicate_peers(p, [(i, peer) for i, peer in peers if ("peers", i) not in wire.salvaged])
    built = [peer for _, peer in peers]
    return tuple(replace(peer, name=name) for peer, name in zip(built, build.peer_names(built), strict=True))


def _document_order(raw: dict[Any, Any]) -> Callable[[str], tuple[int, int]]:
    """Sort key for error lines: by top-level section as written, then by item index (stable inside)."""
    sections = {str(k): i for i, k in enumerate(raw)}

    def key(line: str) -> tuple[int, int]:
        m = _SECTION.match(line)
        if m is None:
            return (len(sections), 0)
        return (sections.get(m.group(1), len(sections)), int(m.group(2) or -1))

    return key


_SECTION = re.compile(r"([A-Za-z0-9_-]+)(?:\[(\d+)\])?")
