"""Domain :class:`Config` → the legacy ConfigMap format (the inverse of parsing).

Why: ``parse_config(render_config(c)) == c`` is the round-trip property the
tests check over generated configs, and tools (the lab, ``plan`` golden files,
``ironlb convert``) can write a config they built in code. The output is
canonical: aliases are kept in ``bgp-communities`` but advertisements name
communities literally, well-known communities appear in numeric form, defaults
are written out (a bgp pool whose one advertisement has the default attributes
is written without ``bgp-advertisements``, which means the same).

Only what the ConfigMap can say is rendered: a config that says more (node
selectors on advertisements, service allocation, ...) raises
:class:`~ironlb.config.legacy.NotExpressible` naming every loss; project it
first with :func:`~ironlb.config.legacy.legacy_config` to render what survives.
"""

from __future__ import annotations

from typing import Any

import yaml

from ironlb.config.fields import Spelling
from ironlb.config.legacy import NotExpressible, legacy_config, pool_protocol
from ironlb.config.model import (
    AddressPool,
    AddressRange,
    BfdProfile,
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Config,
    LabelSelector,
    Peer,
)
from ironlb.config.values import format_seconds
from ironlb.config.wire import field_name


def range_text(r: AddressRange) -> str:
    """A CIDR when the range is exactly one block, else ``first-last``."""
    nets = list(r.networks())
    if len(nets) == 1:
        return str(nets[0])
    return f"{r.first}-{r.last}"


def selectors_data(selectors: tuple[LabelSelector, ...], spell: Spelling) -> list[dict[str, Any]]:
    """Label selectors as a format writes them, ``spell`` naming the fields (``match-labels`` in the
    ConfigMap, ``matchLabels`` in the CRDs)."""
    out = []
    for s in selectors:
        item: dict[str, Any] = {}
        if s.match_labels:
            item[spell("match_labels")] = dict(s.match_labels)
        if s.match_expressions:
            item[spell("match_expressions")] = [
                {"key": e.key, "operator": e.operator, **({"values": list(e.values)} if e.values else {})}
                for e in s.match_expressions
            ]
        out.append(item)
    return out


def _selectors(selectors: tuple[LabelSelector, ...]) -> list[dict[str, Any]]:
    return selectors_data(selectors, field_name)


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


def _pool(config: Config, pool: AddressPool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": pool.name,
        "protocol": pool_protocol(config, pool.name),
        "addresses": [range_text(r) for r in pool.ranges],
        "auto-assign": pool.auto_assign,
        "avoid-buggy-ips": pool.avoid_buggy_ips,
    }
    ads = config.bgp_advertisements_for(pool.name)
    if ads and [ad.attributes for ad in ads] != [BgpAdvertisement().attributes]:
        out["bgp-advertisements"] = [_advertisement(a) for a in ads]
    return out


def config_to_wire(config: Config) -> dict[str, Any]:
    """The config as the plain dict a ConfigMap's ``config`` key holds (hyphenated keys).

    Raises :class:`NotExpressible` when the ConfigMap cannot say all of it.
    """
    legacy = legacy_config(config)
    if not legacy.exact:
        raise NotExpressible([loss for loss in legacy.losses if loss.severity != "note"])
    config = legacy.config
    out: dict[str, Any] = {}
    if config.peers:
        out["peers"] = [_peer(p) for p in config.peers]
    if config.bgp_communities:
        out["bgp-communities"] = {name: c.value for name, c in config.bgp_communities}
    if config.pools:
        out["address-pools"] = [_pool(config, pool) for pool in config.pools]
    if config.bfd_profiles:
        out["bfd-profiles"] = [_bfd(b) for b in config.bfd_profiles]
    if config.cluster_ip_advertisements:
        out["cluster-ip-advertisement"] = _cluster_ip(config.cluster_ip_advertisements[0])
    interfaces = config.l2_advertisements[0].interfaces if config.l2_advertisements else ()
    if interfaces:
        out["l2"] = {"interfaces": list(interfaces)}
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


def dump_yaml(data: Any) -> str:
    """YAML text of plain data, strings quoted where they would read back as something else."""
    return yaml.dump(data, Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True)


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
