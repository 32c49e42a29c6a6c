"""``ironlb plan`` with advertisements the ConfigMap cannot express (issue 15): which advertisement makes
each answer and route, where (candidates, interfaces, peers), and the pools nobody announces."""

from __future__ import annotations

import ipaddress

from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config.model import (
    AddressPool,
    AddressRange,
    BgpAdvertisement,
    Config,
    L2Advertisement,
    LabelSelector,
    Peer,
)
from ironlb.planner import build_plan, plan_to_json, render_table
from tests.support.bgp_objects import node, service
from tests.support.objects import endpoint_slice

IP = ipaddress.ip_address


def pool(name: str, first: str, last: str) -> AddressPool:
    return AddressPool(name, (AddressRange(IP(first), IP(last)),))


CONFIG = Config(
    pools=(
        pool("l2", "192.0.2.0", "192.0.2.0"),
        pool("pub", "198.51.100.7", "198.51.100.7"),
        pool("nobody", "203.0.113.0", "203.0.113.255"),
    ),
    peers=(Peer(64513, 64512, IP("172.30.0.1"), name="r1"), Peer(64513, 64512, IP("172.30.0.2"), name="r2")),
    l2_advertisements=(L2Advertisement("l2-x", ("l2",), (LabelSelector((("zone", "x"),)),), ("eth1",)),),
    bgp_advertisements=(BgpAdvertisement("to-r1", ("pub",), peers=("r1",)),),
)
SNAPSHOT = ClusterSnapshot(
    services=(  # type: ignore[arg-type]
        service("a", lb_ips=["192.0.2.0"]),
        service("b", lb_ips=["198.51.100.7"]),
        service("c", lb_ips=["203.0.113.9"]),
    ),
    endpoint_slices=tuple(endpoint_slice(s, ["n1", "n2"]) for s in "abc"),  # type: ignore[arg-type]
    nodes=(  # type: ignore[arg-type]
        node("n1", "172.30.0.11", labels={"zone": "x"}),
        node("n2", "172.30.0.12", labels={"zone": "y"}),
    ),
)


def test_table_shows_advertisements_interfaces_candidates_and_unannounced_pools() -> None:
    plan = build_plan(CONFIG, SNAPSHOT)
    assert plan.detailed and plan.unannounced == ("nobody",)
    table = render_table(plan)
    assert "LAYER2-IP  SERVICES   ADVERTISEMENTS  INTERFACES  CANDIDATES  OWNER" in table
    assert "192.0.2.0  default/a  l2-x            eth1        n1          n1" in table
    assert "n1        172.30.0.1 (r1)  172.30.0.11  198.51.100.7/32  to-r1" in table
    assert (
        "n1        172.30.0.2 (r2)  172.30.0.11  -                -               (nothing announced)"
        in table
    )
    assert table.endswith(
        "Pools not announced:\n"
        "  nobody: no L2Advertisement or BGPAdvertisement selects it: its IPs are assigned but announced by "
        "nobody\n"
    )


def test_json_carries_the_same_facts() -> None:
    doc = plan_to_json(build_plan(CONFIG, SNAPSHOT))
    (l2,) = doc["layer2"]
    assert (l2["pool"], l2["advertisements"], l2["interfaces"], l2["owner"]) == (
        "l2",
        ["l2-x"],
        ["eth1"],
        "n1",
    )
    n1 = next(n for n in doc["bgp"] if n["node"] == "n1")
    r1 = next(p for p in n1["peers"] if p["name"] == "r1")
    assert [(r["prefix"], r["advertisements"]) for r in r1["routes"]] == [("198.51.100.7/32", ["to-r1"])]
    assert doc["unannounced_pools"] == [
        {
            "pool": "nobody",
            "reason": "no L2Advertisement or BGPAdvertisement selects it: its IPs are assigned but announced "
            "by nobody",
        }
    ]


def test_a_config_the_configmap_can_express_keeps_the_plain_columns() -> None:
    plain = Config(
        pools=(pool("l2", "192.0.2.0", "192.0.2.0"),),
        l2_advertisements=(L2Advertisement("l2", ("l2",), (), ("eth1",)),),
    )
    plan = build_plan(plain, SNAPSHOT)
    assert not plan.detailed and plan.unannounced == ()
    assert "LAYER2-IP  SERVICES   OWNER" in render_table(plan)
    assert "advertisements" not in plan_to_json(plan)["layer2"][0]
