"""A BGPAdvertisement to one of two peers: one router has the route, the other not (real FRR).

``tests/speaker/bgp/two-peers``: node1 peers with r1 (AS 64512) and r2 (AS 64514). The speaker reads
``ironlb.io`` resources only (no ConfigMap) from the manifest directory: pool ``pub``'s
advertisement names peer ``r1``; pool ``both``'s names none, so its route reaches both routers
(the contrast: r2's session works and carries what it is sent).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ironlb.lab.fixture import require_netns, running_lab
from ironlb.lab.runner import Lab
from tests.support.bgp_lab import Cluster, Speakers, fib_nexthops
from tests.support.bgp_objects import dump, node, service
from tests.support.objects import endpoint_slice, ironlb_resource
from tests.support.waiting import wait_for

pytestmark = pytest.mark.netns

TOPOLOGY = Path(__file__).with_name("two-peers") / "two-peers.clab.yml"
NODE = {"node1": "172.30.0.11"}


RESOURCES = [
    ironlb_resource(
        "BGPPeer", "r1", {"myASN": 64513, "peerASN": 64512, "peerAddress": "172.30.0.1", "holdTime": "9s"}
    ),
    ironlb_resource(
        "BGPPeer", "r2", {"myASN": 64513, "peerASN": 64514, "peerAddress": "172.30.0.2", "holdTime": "9s"}
    ),
    ironlb_resource("IPAddressPool", "pub", {"addresses": ["198.51.100.0/28"]}),
    ironlb_resource("IPAddressPool", "both", {"addresses": ["198.51.100.16/28"]}),
    ironlb_resource("BGPAdvertisement", "to-r1", {"ipAddressPools": ["pub"], "peers": ["r1"]}),
    ironlb_resource("BGPAdvertisement", "to-all", {"ipAddressPools": ["both"]}),
]


def test_a_route_goes_only_to_the_peer_its_advertisement_names(tmp_path: Path) -> None:
    require_netns()
    cluster = Cluster(tmp_path / "cluster", "")
    objects = [
        *RESOURCES,
        node("node1", NODE["node1"]),
        service("web", lb_ips=["198.51.100.7"]),
        endpoint_slice("web", ["node1"]),
        service("api", lb_ips=["198.51.100.20"]),
        endpoint_slice("api", ["node1"]),
    ]
    (cluster.dir / "cluster.yaml").write_text(dump(objects))  # resources only: no ConfigMap
    with running_lab(TOPOLOGY) as lab:
        speakers = Speakers(lab, cluster, tmp_path)
        try:
            speakers.start("node1")
            check(lab)
        finally:
            speakers.stop_all()
            if "Traceback" in speakers.logs("node1"):
                print(speakers.logs("node1")[-3000:])


def check(lab: Lab) -> None:
    """r1 has both routes; r2 only the one of pool ``both``."""
    lab.wait_established(NODE.values(), router="r1", timeout=40)
    lab.wait_established(NODE.values(), router="r2", timeout=40)
    via_node = frozenset(NODE.values())
    # Pool ``both``: at both routers (r2's session carries routes).
    for router in ("r1", "r2"):
        wait_for(
            lambda r=router: fib_nexthops(lab, "198.51.100.20", r) == via_node,
            20,
            what=f"198.51.100.20 at {router}",
        )
    # Pool ``pub``: at r1 only.
    wait_for(lambda: fib_nexthops(lab, "198.51.100.7", "r1") == via_node, 20, what="198.51.100.7 at r1")
    assert fib_nexthops(lab, "198.51.100.7", "r2") == frozenset()
    bgp_r2 = lab.exec("r2", list(lab.routers["r2"].query_argv("show ip bgp json"))).stdout
    assert "198.51.100.20/32" in bgp_r2 and "198.51.100.7/32" not in bgp_r2
