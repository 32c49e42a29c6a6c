"""The ConfigMap's projection of a domain config (``ironlb.config.legacy``): what survives, what is named
as lost, and that the projection is exactly what the ConfigMap build reads back."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings

from ironlb.config import parse_config
from ironlb.config.legacy import NotExpressible, legacy_config, pool_protocol
from ironlb.config.model import (
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Config,
    L2Advertisement,
    LabelSelector,
    Peer,
    SecretRef,
    ServiceAllocation,
)
from ironlb.config.render import render_config
from tests.allocator.builders import pool
from tests.config.strategies import configs, domain_configs

PROPERTY = settings(
    max_examples=80,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


ZONE_A = (LabelSelector((("zone", "a"),)),)
PEER_1 = Peer(64513, 64512, ipaddress.ip_address("192.0.2.1"), name="r1")
PEER_2 = Peer(64513, 64512, ipaddress.ip_address("192.0.2.2"), name="r2")


def losses(config: Config, prefer: str | None = None) -> list[str]:
    return [str(loss) for loss in legacy_config(config, prefer).losses]  # type: ignore[arg-type]


# --- the ConfigMap build's shape ----------------------------------------------------------------------


def test_configmap_build_names_what_it_makes() -> None:
    config = parse_config(
        """
        peers:
        - {peer-address: 192.0.2.1, peer-asn: 1, my-asn: 2}
        - {peer-address: 192.0.2.1, peer-asn: 1, my-asn: 2, node-selectors: [{match-labels: {rack: b}}]}
        - {peer-address: 192.0.2.2, peer-asn: 1, my-asn: 2}
        address-pools:
        - {name: l2, protocol: layer2, addresses: [10.0.0.0/24]}
        - {name: b, protocol: bgp, addresses: [10.0.1.0/24], bgp-advertisements: [{}, {localpref: 5}]}
        cluster-ip-advertisement: {cidrs: [10.96.0.0/12]}
        l2: {interfaces: [eth1]}
        """
    )
    assert [p.name for p in config.peers] == ["peer-192.0.2.1", "peer-192.0.2.1-2", "peer-192.0.2.2"]
    assert config.l2_advertisements == (L2Advertisement("l2", ("l2",), (), ("eth1",)),)
    assert [(a.name, a.pools, a.localpref) for a in config.bgp_advertisements] == [
        ("b", ("b",), None),
        ("b-1", ("b",), 5),
    ]
    assert [c.name for c in config.cluster_ip_advertisements] == ["cluster-ip-advertisement"]
    assert legacy_config(config).config == config and legacy_config(config).exact


@PROPERTY
@given(configs())
def test_a_configmap_config_projects_onto_itself_without_loss(config: Config) -> None:
    legacy = legacy_config(config)
    assert legacy.losses == ()
    assert legacy.config == config


@PROPERTY
@given(domain_configs())
def test_the_projection_is_what_the_configmap_reads_back_and_a_fixed_point(config: Config) -> None:
    legacy = legacy_config(config, prefer="bgp")  # prefer: no pool is left without a protocol
    assert not any(loss.severity == "error" for loss in legacy.losses)
    assert parse_config(render_config(legacy.config)) == legacy.config
    again = legacy_config(legacy.config)
    assert again.losses == () and again.config == legacy.config
    if legacy.exact:  # nothing reported lost: the ConfigMap announces every pool as the domain does
        for p in config.pools:
            assert pool_protocol(legacy.config, p.name) == pool_protocol(config, p.name)
    else:
        with pytest.raises(NotExpressible):
            render_config(config)


# --- each loss, named by object and field ---------------------------------------------------------


def test_both_protocols_is_an_error_unless_prefer_picks_one() -> None:
    config = Config(
        pools=(pool("a", "10.0.0.0/24"),),
        l2_advertisements=(L2Advertisement("l", ("a",)),),
        bgp_advertisements=(BgpAdvertisement("b", ("a",), localpref=7),),
    )
    (line,) = losses(config)
    assert line.startswith("error: AddressPool/a: selected by both layer-2 and BGP advertisements")
    assert "L2Advertisement/l" in line and "BGPAdvertisement/b" in line
    legacy = legacy_config(config, "bgp")
    assert pool_protocol(legacy.config, "a") == "bgp"
    assert [a.localpref for a in legacy.config.bgp_advertisements] == [7]
    assert "not by L2Advertisement l" in str(legacy.losses[0]) and legacy.losses[0].severity == "warning"


def test_a_pool_nobody_announces_becomes_layer2_with_a_warning() -> None:
    config = Config(pools=(pool("lonely", "10.0.0.0/24"),))
    assert config.unannounced_pools() == config.pools
    (loss,) = legacy_config(config).losses
    assert (loss.severity, loss.kind, loss.name) == ("warning", "AddressPool", "lonely")
    assert pool_protocol(legacy_config(config).config, "lonely") == "layer2"


def test_advertisement_settings_the_configmap_lacks_are_lossy() -> None:
    config = Config(
        pools=(pool("a", "10.0.0.0/24"), pool("b", "10.0.1.0/24")),
        peers=(PEER_1, PEER_2),
        l2_advertisements=(L2Advertisement("l", ("a",), ZONE_A, ("eth1",)),),
        bgp_advertisements=(
            BgpAdvertisement("all-peers", ("b",), peers=("r1", "r2")),  # every peer: nothing lost
            BgpAdvertisement("one-peer", ("b",), localpref=5, node_selectors=ZONE_A, peers=("r1",)),
        ),
    )
    assert losses(config) == [
        "lossy: L2Advertisement/l: node_selectors: the ConfigMap elects the announcing node among all "
        "eligible nodes, per IP, and cannot limit a pool to some nodes; label nodes that must never answer "
        "with node.kubernetes.io/exclude-from-external-load-balancers=true (this applies to every pool)",
        "lossy: BGPAdvertisement/one-peer: node_selectors: the ConfigMap announces bgp pools from every node "
        "that has a session (the peers' node-selectors still apply) and cannot limit one advertisement to "
        "some nodes; if the limit holds for every pool, put it on the BGPPeers' nodeSelectors",
        "lossy: BGPAdvertisement/one-peer: peers: the ConfigMap announces every bgp pool to every peer of "
        "the node; a per-advertisement peer list cannot be expressed",
    ]
    projected = legacy_config(config).config
    assert [(a.name, a.pools, a.localpref, a.peers) for a in projected.bgp_advertisements] == [
        ("b", ("b",), None, ()),
        ("b-1", ("b",), 5, ()),
    ]
    assert [p.name for p in projected.peers] == ["peer-192.0.2.1", "peer-192.0.2.2"]


def test_an_empty_node_selector_selects_every_node_and_loses_nothing() -> None:
    config = Config(
        pools=(pool("a", "10.0.0.0/24"),),
        l2_advertisements=(L2Advertisement("l", ("a",), (LabelSelector(), *ZONE_A)),),
    )
    assert losses(config) == []


def test_differing_interfaces_become_one_list() -> None:
    config = Config(
        pools=(pool("a", "10.0.0.0/24"), pool("b", "10.0.1.0/24")),
        l2_advertisements=(
            L2Advertisement("x", ("a",), (), ("eth1",)),
            L2Advertisement("y", ("b",), (), ("eth2",)),
        ),
    )
    projected = legacy_config(config)
    assert {a.interfaces for a in projected.config.l2_advertisements} == {("eth1", "eth2")}
    assert [loss.name for loss in projected.losses] == ["x", "y"]


def test_service_allocation_and_peer_settings_are_named_field_by_field() -> None:
    config = Config(
        pools=(
            pool(
                "a",
                "10.0.0.0/24",
                allocation=ServiceAllocation(priority=0, namespaces=("x",), service_selectors=ZONE_A),
            ),
        ),
        peers=(
            Peer(1, 2, ipaddress.ip_address("2001:db8::1"), name="r", graceful_restart=False),
            Peer(1, 2, ipaddress.ip_address("192.0.2.9"), name="s", graceful_restart=True),
            Peer(1, 2, ipaddress.ip_address("192.0.2.8"), name="t", password_secret=SecretRef("pw")),
        ),
        l2_advertisements=(L2Advertisement("l"),),
    )
    got = [(loss.severity, loss.kind, loss.name, loss.field) for loss in legacy_config(config).losses]
    assert got == [
        ("lossy", "AddressPool", "a", "allocation.priority"),  # priority 0 is set
        ("lossy", "AddressPool", "a", "allocation.namespaces"),
        ("lossy", "AddressPool", "a", "allocation.service_selectors"),
        ("lossy", "Peer", "r", "graceful_restart"),
        ("note", "Peer", "s", "graceful_restart"),
        ("lossy", "Peer", "t", "password_secret"),
    ]
    projected = legacy_config(config).config
    assert projected.pools[0].allocation is None
    assert all(p.graceful_restart is None and p.password_secret is None for p in projected.peers)


def test_cluster_ip_advertisements_past_the_first_or_with_peers_are_lossy() -> None:
    cidr = (ipaddress.ip_network("10.96.0.0/12"),)
    config = Config(
        peers=(PEER_1, PEER_2),
        cluster_ip_advertisements=(
            ClusterIPAdvertisement(cidr, name="first", peers=("r1",)),
            ClusterIPAdvertisement((ipaddress.ip_network("10.112.0.0/12"),), name="second"),
        ),
    )
    assert [(loss.name, loss.field) for loss in legacy_config(config).losses] == [
        ("first", "peers"),
        ("second", ""),
    ]
    (kept,) = legacy_config(config).config.cluster_ip_advertisements
    assert (kept.name, kept.cidrs, kept.peers) == ("cluster-ip-advertisement", cidr, ())


def test_render_config_refuses_what_the_configmap_cannot_say() -> None:
    config = Config(pools=(pool("a", "10.0.0.0/24"),), l2_advertisements=(L2Advertisement("l", (), ZONE_A),))
    with pytest.raises(NotExpressible) as err:
        render_config(config)
    assert "L2Advertisement/l: node_selectors" in str(err.value)
