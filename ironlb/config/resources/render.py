"""A domain config → ``ironlb.io/v1beta1`` objects (what ``ironlb convert`` writes).

The inverse of decoding: ``load_config(None, render(config).objects)`` gives ``config``
back, each kind ordered by name (a test checks it over generated configs). Every item
becomes the object of its kind with the item's name; pool selection is written out by
name (the domain holds resolved names), communities as their values (the aliases go to
one Community object, ``bgp-communities``), defaults are left out.

A name that is not a valid Kubernetes object name (ConfigMap pools may be called
``Pool_A``; a ConfigMap peer of an IPv6 router is ``peer-fc00::1``) is changed into
one (lower case, other characters as ``-``, a number added if that name is taken), the
references to it with it, and the change is listed in :attr:`Rendered.renames`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ironlb.config.model import (
    AddressPool,
    BfdProfile,
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Config,
    L2Advertisement,
    LabelSelector,
    Peer,
)
from ironlb.config.render import dump_yaml, range_text, selectors_data
from ironlb.config.resources.schema import API_VERSION
from ironlb.config.resources.wire import field_name
from ironlb.config.values import format_seconds, is_dns_subdomain

COMMUNITIES_OBJECT = "bgp-communities"
"""The name of the one Community object that holds every alias."""


@dataclass(frozen=True)
class Rename:
    kind: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.kind} {self.old!r} is named {self.new!r} (not a valid Kubernetes object name)"


@dataclass
class Rendered:
    objects: list[dict[str, Any]] = field(default_factory=list)
    renames: list[Rename] = field(default_factory=list)


class _Names:
    """Valid object names per kind, the same for every reference to one item."""

    def __init__(self, out: Rendered) -> None:
        self.out = out
        self.given: dict[tuple[str, str], str] = {}
        self.taken: dict[str, set[str]] = {}

    def __call__(self, kind: str, name: str) -> str:
        key = (kind, name)
        if key not in self.given:
            taken = self.taken.setdefault(kind, set())
            new = name if is_dns_subdomain(name) else _valid(name)
            base, n = new, 2
            while new in taken:
                new, n = f"{base[:240]}-{n}", n + 1
            taken.add(new)
            self.given[key] = new
            if new != name:
                self.out.renames.append(Rename(kind, name, new))
        return self.given[key]


def _valid(name: str) -> str:
    text = re.sub(r"[^a-z0-9.-]+", "-", name.lower())
    text = re.sub(r"\.{2,}", ".", text).strip("-.")[:253].strip("-.")
    text = re.sub(r"(^|\.)-+|-+(\.|$)", r"\1\2", text)
    return text or "unnamed"


def render(config: Config, *, namespace: str = "ironlb-system") -> Rendered:
    """Every item of ``config`` as an ``ironlb.io`` object in ``namespace`` (see the module docstring)."""
    out = Rendered()
    names = _Names(out)
    # Names first, in a fixed order, so that references and objects agree.
    for pool in config.pools:
        names("IPAddressPool", pool.name)
    for peer in config.peers:
        names("BGPPeer", peer.name)
    for prof in config.bfd_profiles:
        names("BFDProfile", prof.name)

    def obj(kind: str, name: str, spec: dict[str, Any]) -> None:
        out.objects.append(
            {
                "apiVersion": API_VERSION,
                "kind": kind,
                "metadata": {"name": names(kind, name), "namespace": namespace},
                "spec": spec,
            }
        )

    for pool in config.pools:
        obj("IPAddressPool", pool.name, _pool(pool))
    for l2 in config.l2_advertisements:
        obj("L2Advertisement", l2.name or "l2", _l2(l2, names))
    for bgp in config.bgp_advertisements:
        obj("BGPAdvertisement", bgp.name or "bgp", _bgp(bgp, names))
    for peer in config.peers:
        obj("BGPPeer", peer.name, _peer(peer, names))
    for prof in config.bfd_profiles:
        obj("BFDProfile", prof.name, _bfd(prof))
    if config.bgp_communities:
        aliases = [{"name": name, "value": c.value} for name, c in config.bgp_communities]
        obj("Community", COMMUNITIES_OBJECT, {"communities": aliases})
    for cip in config.cluster_ip_advertisements:
        obj("ClusterIPAdvertisement", cip.name or "cluster-ip-advertisement", _cluster_ip(cip, names))
    return out


def _selectors(selectors: tuple[LabelSelector, ...]) -> list[dict[str, Any]]:
    return selectors_data(selectors, field_name)


def _set(spec: dict[str, Any], key: str, value: Any) -> None:
    """``spec[key] = value`` unless ``value`` is empty or ``None`` (the default then); lists without repeats
    (the CRDs' lists of names are sets)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = list(dict.fromkeys(value))
    if value not in (None, (), [], {}):
        spec[key] = value


def _pool(pool: AddressPool) -> dict[str, Any]:
    spec: dict[str, Any] = {"addresses": [range_text(r) for r in pool.ranges]}
    if not pool.auto_assign:
        spec["autoAssign"] = False
    if pool.avoid_buggy_ips:
        spec["avoidBuggyIPs"] = True
    a = pool.allocation
    if a is not None:
        allocation: dict[str, Any] = {}
        _set(allocation, "priority", a.priority)
        _set(allocation, "namespaces", list(a.namespaces))
        _set(allocation, "namespaceSelectors", _selectors(a.namespace_selectors))
        _set(allocation, "serviceSelectors", _selectors(a.service_selectors))
        spec["serviceAllocation"] = allocation
    return spec


def _l2(ad: L2Advertisement, names: _Names) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    _set(spec, "ipAddressPools", [names("IPAddressPool", p) for p in ad.pools])
    _set(spec, "nodeSelectors", _selectors(ad.node_selectors))
    _set(spec, "interfaces", list(ad.interfaces))
    return spec


def _bgp(ad: BgpAdvertisement, names: _Names) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if ad.aggregation_length != 32:
        spec["aggregationLength"] = ad.aggregation_length
    if ad.aggregation_length_v6 != 128:
        spec["aggregationLengthV6"] = ad.aggregation_length_v6
    _set(spec, "localPref", ad.localpref)
    _set(spec, "communities", [c.value for c in ad.communities])
    _set(spec, "ipAddressPools", [names("IPAddressPool", p) for p in ad.pools])
    _set(spec, "nodeSelectors", _selectors(ad.node_selectors))
    _set(spec, "peers", [names("BGPPeer", p) for p in ad.peers])
    return spec


def _peer(peer: Peer, names: _Names) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "myASN": peer.my_asn,
        "peerASN": peer.peer_asn,
        "peerAddress": str(peer.peer_address),
    }
    if peer.peer_port != 179:
        spec["peerPort"] = peer.peer_port
    _set(spec, "sourceAddress", None if peer.source_address is None else str(peer.source_address))
    _set(spec, "routerID", None if peer.router_id is None else str(peer.router_id))
    if int(peer.hold_time) != 90:
        spec["holdTime"] = format_seconds(peer.hold_time)
    if int(peer.keepalive_time) != int(peer.hold_time) // 3:
        spec["keepaliveTime"] = format_seconds(peer.keepalive_time)
    _set(spec, "nodeSelectors", _selectors(peer.node_selectors))
    _set(spec, "password", peer.password)
    if peer.password_secret is not None:
        spec["passwordSecret"] = {"name": peer.password_secret.name}
    _set(spec, "bfdProfile", None if peer.bfd_profile is None else names("BFDProfile", peer.bfd_profile))
    if peer.ebgp_multihop:
        spec["ebgpMultiHop"] = True
    _set(spec, "enableGracefulRestart", peer.graceful_restart)
    return spec


def _bfd(prof: BfdProfile) -> dict[str, Any]:
    default = BfdProfile(prof.name)
    spec: dict[str, Any] = {}
    for attr, key in (
        ("receive_interval", "receiveInterval"),
        ("transmit_interval", "transmitInterval"),
        ("detect_multiplier", "detectMultiplier"),
        ("echo_interval", "echoInterval"),
        ("echo_mode", "echoMode"),
        ("passive_mode", "passiveMode"),
        ("minimum_ttl", "minimumTtl"),
    ):
        if getattr(prof, attr) != getattr(default, attr):
            spec[key] = getattr(prof, attr)
    return spec


def _cluster_ip(cip: ClusterIPAdvertisement, names: _Names) -> dict[str, Any]:
    spec: dict[str, Any] = {"cidrs": [str(c) for c in cip.cidrs]}
    if not cip.local_routes:
        spec["localRoutes"] = False
    if cip.external_ips:
        spec["externalIPs"] = True
    _set(spec, "communities", [c.value for c in cip.communities])
    _set(spec, "localPref", cip.localpref)
    _set(spec, "nodeSelectors", _selectors(cip.node_selectors))
    _set(spec, "peers", [names("BGPPeer", p) for p in cip.peers])
    return spec


def render_text(rendered: Rendered) -> str:
    """The objects as one multi-document YAML text, fit for ``kubectl apply -f``."""
    return "".join("---\n" + dump_yaml(obj) for obj in rendered.objects)
