"""Domain :class:`Config` → the legacy ConfigMap format (the inverse of parsing).

Why: ``parse_config(render_config(c)) == c`` is the round-trip property the
tests check over generated configs, and tools (the lab, ``plan`` golden files)
can write a config they built in code. The output is canonical: aliases are
kept in ``bgp-communities`` but advertisements name communities literally,
well-known communities appear in numeric form, defaults are written out.
"""

from __future__ import annotations

from typing import Any

import yaml

from ironlb.config.model import (
    AddressRange,
    BfdProfile,
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Config,
    NodeSelector,
    Peer,
)
from ironlb.config.values import format_seconds


def range_text(r: AddressRange) -> str:
    """A CIDR when the range is exactly one block, else ``first-last``."""
    nets = list(r.networks())
    if len(nets) == 1:
        return str(nets[0])
    return f"{r.first}-{r.last}"


def _selectors(selectors: tuple[NodeSelector, ...]) -> list[dict[str, Any]]:
    out = []
    for s in selectors:
        item: dict[str, Any] = {}
        if s.match_labels:
            item["match-labels"] = dict(s.match_labels)
        if s.match_expressions:
            item["match-expressions"] = [
                {"key": e.key, "operator": e.operator, **({"values": list(e.values)} if e.values else {})}
                for e in s.match_expressions
            ]
        out.append(item)
    return out


def _advertisement(ad: BgpAdvertisement) -> dict[str, Any]:
    out: dict[str, Any] = {
        "aggregation-length": ad.aggregation_length,
        "aggregation-length-v6": ad.aggregation_length_v6,
    }
    if ad.localpref is not None:
        out["localpref"] = ad.localpref
    if ad.communities:
        out["communities"] = [c.value for c in ad.communities]
    return out


def _peer(peer: Peer) -> dict[str, Any]:
    out: dict[str, Any] = {
        "my-asn": peer.my_asn,
        "peer-asn": peer.peer_asn,
        "peer-address": str(peer.peer_address),
        "peer-port": peer.peer_port,
        "hold-time": format_seconds(peer.hold_time),
        "keepalive-time": format_seconds(peer.keepalive_time),
    }
    if peer.router_id is not None:
        out["router-id"] = str(peer.router_id)
    if peer.source_address is not None:
        out["source-address"] = str(peer.source_address)
    if peer.password is not None:
        out["password"] = peer.password
    if peer.node_selectors:
        out["node-selectors"] = _selectors(peer.node_selectors)
    if peer.bfd_profile is not None:
        out["bfd-profile"] = peer.bfd_profile
    if peer.ebgp_multihop:
        out["ebgp-multihop"] = True
    return out


def _bfd(prof: BfdProfile) -> dict[str, Any]:
    return {
        "name": prof.name,
        "receive-interval": prof.receive_interval,
        "transmit-interval": prof.transmit_interval,
        "detect-multiplier": prof.detect_multiplier,
        "echo-interval": prof.echo_interval,
        "echo-mode": prof.echo_mode,
        "passive-mode": prof.passive_mode,
        "minimum-ttl": prof.minimum_ttl,
    }


def _cluster_ip(cip: ClusterIPAdvertisement) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cidrs": [str(c) for c in cip.cidrs],
        "local-routes": cip.local_routes,
        "external-ips": cip.external_ips,
    }
    if cip.communities:
        out["communities"] = [c.value for c in cip.communities]
    if cip.localpref is not None:
        out["localpref"] = cip.localpref
    if cip.node_selectors:
        out["node-selectors"] = _selectors(cip.node_selectors)
    return out


def config_to_wire(config: Config) -> dict[str, Any]:
    """The config as the plain dict a ConfigMap's ``config`` key holds (hyphenated keys)."""
    out: dict[str, Any] = {}
    if config.peers:
        out["peers"] = [_peer(p) for p in config.peers]
    if config.bgp_communities:
        out["bgp-communities"] = {name: c.value for name, c in config.bgp_communities}
    if config.pools:
        out["address-pools"] = [
            {
                "name": pool.name,
                "protocol": pool.protocol,
                "addresses": [range_text(r) for r in pool.ranges],
                "auto-assign": pool.auto_assign,
                "avoid-buggy-ips": pool.avoid_buggy_ips,
                **(
                    {"bgp-advertisements": [_advertisement(a) for a in pool.bgp_advertisements]}
                    if pool.bgp_advertisements
                    else {}
                ),
            }
            for pool in config.pools
        ]
    if config.bfd_profiles:
        out["bfd-profiles"] = [_bfd(b) for b in config.bfd_profiles]
    if config.cluster_ip_advertisement is not None:
        out["cluster-ip-advertisement"] = _cluster_ip(config.cluster_ip_advertisement)
    if config.l2.interfaces:
        out["l2"] = {"interfaces": list(config.l2.interfaces)}
    return out


def render_config(config: Config) -> str:
    """The config as YAML text."""
    return yaml.dump(config_to_wire(config), Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True)


def render_configmap(config: Config, *, name: str = "ironlb", namespace: str = "ironlb-system") -> str:
    """A ConfigMap manifest holding the config under ``data.config``."""
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"config": render_config(config)},
    }
    return yaml.dump(manifest, Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True)


class _QuotingDumper(yaml.SafeDumper):
    """SafeDumper (which quotes strings that would read back as numbers) with block style for
    multi-line strings, so the config inside a ConfigMap stays readable."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(c in _SPECIAL or not c.isprintable() for c in value.replace("\n", "")):
        # PyYAML's emitter can write these raw, and they would not read back the same: escape them.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_str(value)


_SPECIAL = frozenset("\x85\u2028\u2029\ufeff\t")


_QuotingDumper.add_representer(str, _represent_str)
