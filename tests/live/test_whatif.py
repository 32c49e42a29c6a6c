"""``what_if``: the difference a proposed config makes to what runs, as a table of rules."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from ironlb.config.model import LabelSelector
from ironlb.live.render import diff_to_json, render_diff
from ironlb.live.whatif import EXIT_CHANGES, EXIT_DISTURBS, EXIT_NO_CHANGE, exit_code, what_if
from tests.live.builders import cluster, config, lb, node

L2 = """
address-pools:
- name: main
  protocol: layer2
  addresses: [10.0.0.0/29]
"""
L2_SHRUNK = L2.replace("10.0.0.0/29", "10.0.0.0/30")
L2_TWO_LEFT = L2.replace("10.0.0.0/29", "10.0.0.0/31")
L2_PLUS_POOL = (
    L2
    + """- name: more
  protocol: layer2
  addresses: [10.0.1.0/30]
"""
)
BGP = """
peers:
- peer-address: 172.30.0.1
  peer-asn: 64512
  my-asn: 64513
bgp-communities:
  edge: "65000:7"
address-pools:
- name: pub
  protocol: bgp
  addresses: [198.51.100.0/28]
"""


def ip(text: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(text)


def _four() -> list[dict[str, object]]:
    return [
        lb("a", ["10.0.0.0"], pool="main"),
        lb("b", ["10.0.0.1"], pool="main"),
        lb("c", ["10.0.0.6"], pool="main"),
        lb("d", ["10.0.0.7"], pool="main"),
    ]


def test_a_shrunk_pool_moves_exactly_the_services_outside_it_to_free_ips_in_key_order() -> None:
    diff = what_if(config(L2), config(L2_SHRUNK), cluster(_four()))
    changes = {c.key: (c.change, [str(i) for i in c.after]) for c in diff.services}
    assert changes == {"apps/c": ("change", ["10.0.0.2"]), "apps/d": ("change", ["10.0.0.3"])}
    rule = next(c.rule for c in diff.services if c.key == "apps/c")
    assert rule is not None and "10.0.0.6" in rule and "not in any pool" in rule
    assert exit_code(diff) == EXIT_DISTURBS
    # The old IPs are no longer answered, the new ones are: four layer-2 rows, no owner "moves".
    assert sorted(str(c.ip) for c in diff.layer2) == ["10.0.0.2", "10.0.0.3", "10.0.0.6", "10.0.0.7"]
    assert not any(c.moves for c in diff.layer2)
    table = render_diff(diff)
    assert "changes IP" in table and "10.0.0.6" in table and "2 Services change IPs" in table


def test_a_pool_too_small_for_everyone_names_who_loses_the_ip_and_why() -> None:
    diff = what_if(config(L2), config(L2_TWO_LEFT), cluster(_four()))
    assert [(c.key, c.change) for c in diff.services] == [("apps/c", "lose"), ("apps/d", "lose")]
    assert all(c.rule and "no available IPs" in c.rule for c in diff.services)
    assert exit_code(diff) == EXIT_DISTURBS
    doc = diff_to_json(diff)
    assert doc["exit_code"] == 3 and doc["disturbing"] is True
    assert [s["ips_now"] for s in doc["services"]] == [["10.0.0.6"], ["10.0.0.7"]]


def test_a_new_pool_changes_nothing_when_every_service_has_an_ip() -> None:
    diff = what_if(config(L2), config(L2_PLUS_POOL), cluster(_four()))
    assert not diff.changed and exit_code(diff) == EXIT_NO_CHANGE
    assert render_diff(diff).startswith("no change")


def test_a_new_pool_gives_a_waiting_service_an_ip_without_disturbing_anyone() -> None:
    services = [lb(f"s{i}", [f"10.0.0.{i}"], pool="main") for i in range(8)] + [lb("waiting")]
    diff = what_if(config(L2), config(L2_PLUS_POOL), cluster(services))
    assert [(c.key, c.change, c.after) for c in diff.services] == [
        ("apps/waiting", "gain", (ip("10.0.1.0"),))
    ]
    assert exit_code(diff) == EXIT_CHANGES
    assert [(str(c.ip), c.before, c.after is not None) for c in diff.layer2] == [("10.0.1.0", None, True)]


def test_the_config_in_force_against_itself_shows_what_the_controller_still_has_to_do() -> None:
    services = [*_four(), lb("late")]
    diff = what_if(config(L2), config(L2), cluster(services))
    assert [(c.key, c.change, c.after) for c in diff.services] == [("apps/late", "gain", (ip("10.0.0.2"),))]
    settled = what_if(config(L2), config(L2), cluster(_four()))
    assert not settled.changed


def test_bgp_attributes_and_a_new_peer_change_routes_and_sessions_but_disturb_nobody() -> None:
    services = [lb("web", ["198.51.100.1"], pool="pub"), lb("api", ["198.51.100.2"], pool="pub")]
    before = config(BGP)
    communities = BGP + "  bgp-advertisements:\n  - communities: [edge]\n"
    diff = what_if(before, config(communities), cluster(services))
    assert {c.change for c in diff.routes} == {"attributes"}
    assert len(diff.routes) == 2 * 3  # two prefixes, to one peer, from three nodes
    change = diff.routes[0]
    assert change.before is not None and change.after is not None
    assert change.before.communities == () and change.after.communities == ("65000:7",)
    assert not diff.services and exit_code(diff) == EXIT_CHANGES

    second = BGP.replace(
        "bgp-communities:", "- peer-address: 172.30.0.2\n  peer-asn: 64514\n  my-asn: 64513\nbgp-communities:"
    )
    grown = what_if(before, config(second), cluster(services))
    assert {(s.node, s.peer, s.before, s.after) for s in grown.sessions} == {
        (f"node{i}", "172.30.0.2", None, f"next hop 172.30.0.1{i}") for i in (1, 2, 3)
    }
    assert {(c.peer, c.change, str(c.prefix)) for c in grown.routes} == {
        ("172.30.0.2", "add", "198.51.100.1/32"),
        ("172.30.0.2", "add", "198.51.100.2/32"),
    }
    assert exit_code(grown) == EXIT_CHANGES
    assert "announce" in render_diff(grown)


def test_a_shrunk_bgp_pool_withdraws_the_old_prefix_and_announces_the_new_one_from_every_node() -> None:
    services = [lb("web", ["198.51.100.9"], pool="pub")]
    diff = what_if(config(BGP), config(BGP.replace("198.51.100.0/28", "198.51.100.0/29")), cluster(services))
    assert [(c.key, c.change, c.after) for c in diff.services] == [
        ("apps/web", "change", (ip("198.51.100.0"),))
    ]
    per_node = {(c.node, c.change, str(c.prefix)) for c in diff.routes}
    assert per_node == {
        (f"node{i}", kind, prefix)
        for i in (1, 2, 3)
        for kind, prefix in (("withdraw", "198.51.100.9/32"), ("add", "198.51.100.0/32"))
    }


def test_an_ip_nobody_announces_any_more_disturbs_its_service() -> None:
    services = [lb("web", ["10.0.0.1"], pool="main")]
    before = config(L2)
    silent = replace(before, l2_advertisements=())
    diff = what_if(before, silent, cluster(services))
    assert [(c.key, c.change) for c in diff.services] == [("apps/web", "unannounced")]
    rule = diff.services[0].rule
    assert rule is not None and "no L2Advertisement or BGPAdvertisement selects pool main" in rule
    assert diff.unannounced_added == ("main",)
    assert exit_code(diff) == EXIT_DISTURBS


def test_a_layer2_owner_moves_when_its_node_is_no_longer_selected() -> None:
    nodes = [node("node1", "172.30.0.11", {"zone": "a"}), node("node2", "172.30.0.12", {"zone": "b"})]
    services = [lb(f"s{i}", [f"10.0.0.{i}"], pool="main") for i in range(6)]
    before = config(L2)
    zone_b = LabelSelector(match_labels=(("zone", "b"),))
    ad = before.l2_advertisements[0]
    after = replace(before, l2_advertisements=(replace(ad, node_selectors=(zone_b,)),))
    diff = what_if(before, after, cluster(services, nodes))
    moved = [c for c in diff.layer2 if c.moves]
    assert moved and all(c.before == "node1" and c.after == "node2" for c in moved)
    assert len(moved) == len(diff.layer2)  # the IPs node2 owned already stay where they are
    assert not diff.services and exit_code(diff) == EXIT_CHANGES
    assert "owner moves" in render_diff(diff)


def test_interfaces_of_an_advertisement_are_an_attribute_change() -> None:
    services = [lb("web", ["10.0.0.1"], pool="main")]
    before = config(L2)
    after = config(L2 + "l2:\n  interfaces: [eth1]\n")
    diff = what_if(before, after, cluster(services))
    assert [(c.interfaces_before, c.interfaces_after, c.moves) for c in diff.layer2] == [
        ((), ("eth1",), False)
    ]
    assert exit_code(diff) == EXIT_CHANGES
    assert "interfaces (every eligible) -> eth1" in render_diff(diff)
