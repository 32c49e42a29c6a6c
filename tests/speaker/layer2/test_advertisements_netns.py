"""An L2Advertisement limited to two nodes and one interface, seen by the client (real kernel, arping).

The speakers read ``ironlb.io`` resources only (no ConfigMap) from the manifest directory.
Pool ``two``'s advertisement selects the nodes labelled ``zone=a`` (node1, node2) and names
``eth1``; pool ``all``'s advertisement names neither, so node3 and ``eth2`` answer for it: the
contrast shows that node3's speaker runs and that ``eth2`` would be answered on if the
advertisement allowed it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from ironlb.announce.layer2 import owner
from tests.support.layer2_lab import L2Lab, endpoint_slice, service, wait_for
from tests.support.objects import ironlb_resource

pytestmark = pytest.mark.netns

NODES = ["node1", "node2", "node3"]
ZONE_A = ["node1", "node2"]


def _owner(ip: str, nodes: list[str]) -> str:
    o = owner(ipaddress.ip_address(ip), nodes)
    assert o is not None
    return o


# An IP of pool ``two`` that node3 would own if every node were a candidate: the selector decides.
LIMITED = next(f"172.30.0.{i}" for i in range(200, 210) if _owner(f"172.30.0.{i}", NODES) == "node3")
# An IP of pool ``all`` that node3 owns.
OPEN = next(f"172.30.0.{i}" for i in range(210, 220) if _owner(f"172.30.0.{i}", NODES) == "node3")


RESOURCES = [
    ironlb_resource("IPAddressPool", "two", {"addresses": ["172.30.0.200-172.30.0.209"]}),
    ironlb_resource("IPAddressPool", "all", {"addresses": ["172.30.0.210-172.30.0.219"]}),
    ironlb_resource(
        "L2Advertisement",
        "two-nodes-eth1",
        {
            "ipAddressPools": ["two"],
            "nodeSelectors": [{"matchLabels": {"zone": "a"}}],
            "interfaces": ["eth1"],
        },
    ),
    ironlb_resource("L2Advertisement", "everywhere", {"ipAddressPools": ["all"]}),
]


@pytest.fixture(scope="module")
def lab(l2lab: L2Lab) -> Iterator[L2Lab]:
    l2lab.write_manifests(
        [service("limited", [LIMITED]), service("open", [OPEN])],
        [endpoint_slice("limited", NODES), endpoint_slice("open", NODES)],
        resources=RESOURCES,
        node_labels={"node1": {"zone": "a"}, "node2": {"zone": "a"}, "node3": {"zone": "b"}},
    )
    for n in NODES:
        l2lab.start_speaker(n)
    ready = wait_for(
        lambda: l2lab.arping(LIMITED, count=1, timeout=1) and l2lab.arping(OPEN, count=1, timeout=1),
        timeout=20,
    )
    assert ready, "speakers never answered:\n" + "\n".join(l2lab.log(n) for n in NODES)
    yield l2lab


def test_the_ip_is_answered_only_from_the_selected_nodes_on_the_named_interface(lab: L2Lab) -> None:
    eth2 = {lab.mac(lab.ns(n), "eth2"): n for n in NODES}
    # node3 is up and answers where its advertisement allows: pool ``all``, on both segments.
    assert {lab.owner_by_mac(m) for m in lab.arping(OPEN, count=2)} == {"node3"}
    assert {eth2.get(m) for m in lab.arping(OPEN, dev="eth2", count=2)} == {"node3"}
    # Pool ``two``: the owner elected among node1 and node2 answers, on eth1; node3 never does.
    chosen = _owner(LIMITED, ZONE_A)
    replies = lab.arping(LIMITED, count=3)
    assert replies and {lab.owner_by_mac(m) for m in replies} == {chosen}, replies
    # Not on eth2 (the segment the advertisement does not name), from no node.
    assert lab.arping(LIMITED, dev="eth2", count=2, timeout=2) == []
