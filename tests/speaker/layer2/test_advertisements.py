"""Layer 2 per L2Advertisement (issue 15): which nodes may answer for an IP, and on which interfaces.

Domain configs are built in Python: the ConfigMap cannot express node selectors or
interfaces per advertisement. The responder side (``Owned.owns``) answers an IP
only on the interfaces its decision names.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from ironlb.announce.inputs import AnnounceInputs, build_inputs
from ironlb.announce.layer2 import REASON_NOT_SELECTED, IPDecision, layer2_decisions, owner
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config.model import AddressPool, AddressRange, Config, L2Advertisement, LabelSelector
from speaker.layer2.announcer import answering_globs
from speaker.layer2.responder import Owned
from tests.support.layer2_helpers import eps, node, svc

POOLS = (
    AddressPool("a", (AddressRange(ipaddress.ip_address("192.0.2.0"), ipaddress.ip_address("192.0.2.255")),)),
    AddressPool(
        "b", (AddressRange(ipaddress.ip_address("198.51.100.0"), ipaddress.ip_address("198.51.100.255")),)
    ),
)
ZONE = {z: (LabelSelector((("zone", z),)),) for z in ("x", "y")}
NODES = [node("n1", labels={"zone": "x"}), node("n2", labels={"zone": "x"}), node("n3", labels={"zone": "y"})]


def decide(
    ads: Sequence[L2Advertisement], ips: Sequence[str] = ("192.0.2.10",), live: Sequence[str] | None = None
) -> tuple[IPDecision, ...]:
    return layer2_decisions(inputs(ads, ips, live))


def inputs(
    ads: Sequence[L2Advertisement], ips: Sequence[str], live: Sequence[str] | None = None
) -> AnnounceInputs:
    config = Config(pools=POOLS, l2_advertisements=tuple(ads))
    services = [svc(f"s{i}", [ip]) for i, ip in enumerate(ips)]
    slices = [eps(f"s{i}", ["n1", "n2", "n3"]) for i in range(len(ips))]
    snap = ClusterSnapshot(services=tuple(services), endpoint_slices=tuple(slices), nodes=tuple(NODES))  # type: ignore[arg-type]
    return build_inputs("n1", config, snap, ["n1", "n2", "n3"] if live is None else live)


def test_a_pool_without_l2_advertisement_is_not_answered() -> None:
    assert decide([L2Advertisement("other", ("b",))]) == ()
    assert decide([]) == ()


def test_candidates_are_the_nodes_some_advertisement_of_the_pool_selects() -> None:
    (d,) = decide([L2Advertisement("x-only", ("a",), ZONE["x"])])
    assert d.candidates == frozenset({"n1", "n2"}) and d.owner in ("n1", "n2")
    assert d.owner == owner(d.ip, ["n1", "n2"])
    assert [(r.node, r.reason) for r in d.refusals] == [("n3", REASON_NOT_SELECTED)]
    (d,) = decide([L2Advertisement("x", ("a",), ZONE["x"]), L2Advertisement("y", ("a",), ZONE["y"])])
    assert d.candidates == frozenset({"n1", "n2", "n3"})  # OR over the pool's advertisements
    (d,) = decide([L2Advertisement("x", ("b",), ZONE["x"]), L2Advertisement("all", ("a",))])
    assert d.candidates == frozenset({"n1", "n2", "n3"})  # the other pool's selectors do not apply


def test_nobody_selected_says_why() -> None:
    (d,) = decide([L2Advertisement("z", ("a",), (LabelSelector((("zone", "z"),)),))])
    assert d.owner is None and d.candidates == frozenset()
    assert d.reason == f"no eligible node: {REASON_NOT_SELECTED}"
    (d,) = decide([L2Advertisement("y", ("a",), ZONE["y"])], live=["n1", "n2"])  # n3's speaker is down
    assert d.owner is None and "speaker on node not live" in d.reason


def test_the_owner_answers_on_the_interfaces_of_the_advertisements_that_select_it() -> None:
    ads = [
        L2Advertisement("x-eth1", ("a",), ZONE["x"], ("eth1",)),
        L2Advertisement("x-bond", ("a",), ZONE["x"], ("bond*", "eth1")),
        L2Advertisement("y-eth2", ("a",), ZONE["y"], ("eth2",)),
    ]
    for ip in (f"192.0.2.{i}" for i in range(20)):
        (d,) = decide(ads, [ip])
        if d.owner == "n3":
            assert (d.advertisements, d.interfaces) == (("y-eth2",), ("eth2",))
        else:
            assert (d.advertisements, d.interfaces) == (("x-eth1", "x-bond"), ("eth1", "bond*"))


def test_an_advertisement_without_interfaces_means_every_eligible_one() -> None:
    (d,) = decide([L2Advertisement("some", ("a",), (), ("eth1",)), L2Advertisement("every", ("a",))])
    assert d.interfaces == ()
    (d,) = decide([L2Advertisement("every", ("a",))])
    assert (d.advertisements, d.interfaces, d.pool) == (("every",), (), "a")


def test_advertisement_without_pools_selects_every_pool() -> None:
    decisions = decide([L2Advertisement("all")], ["192.0.2.1", "198.51.100.1"])
    assert [d.pool for d in decisions] == ["a", "b"]


@given(st.lists(st.sampled_from([None, "x", "y"]), min_size=1, max_size=3), st.integers(0, 255))
def test_the_owner_is_always_selected_by_an_advertisement_of_the_pool(
    zones: list[str | None], last: int
) -> None:
    ads = [L2Advertisement(f"ad{i}", ("a",), ZONE[z] if z else ()) for i, z in enumerate(zones)]
    (d,) = decide(ads, [f"192.0.2.{last}"])
    labels = {n["metadata"]["name"]: n["metadata"]["labels"] for n in NODES}
    assert d.owner is not None  # some advertisement selects some live node here
    assert any(ad.selects_node(labels[d.owner]) for ad in ads)
    # every node sees the same owner
    for me in ("n2", "n3"):
        view = inputs(ads, [f"192.0.2.{last}"])
        assert layer2_decisions(replace(view, node=me))[0].owner == d.owner


# --- the speaker side: where responders run, and what each one answers ---------------------------


def test_responders_run_on_the_union_of_the_interfaces_or_the_default_set() -> None:
    both = inputs(
        [L2Advertisement("p", ("a",), (), ("eth1",)), L2Advertisement("q", ("b",), (), ("eth2", "eth1"))], []
    )
    assert answering_globs(both) == ("eth1", "eth2")
    mixed = inputs([L2Advertisement("p", ("a",), (), ("eth1",)), L2Advertisement("q", ("b",))], [])
    assert answering_globs(mixed) == ()  # the default set (every eligible interface)


def test_owned_ips_are_answered_only_on_their_interfaces() -> None:
    owned = Owned()
    v4 = ipaddress.ip_address("192.0.2.10").packed
    v6 = ipaddress.ip_address("2001:db8::10").packed
    anywhere = ipaddress.ip_address("192.0.2.11").packed
    owned.v4 |= {v4, anywhere}
    owned.v6.add(v6)
    owned.interfaces = {v4: ("eth1", "bond*"), v6: ("eth2",)}
    assert owned.owns(v4, "eth1") and owned.owns(v4, "bond0") and not owned.owns(v4, "eth2")
    assert owned.owns(v6, "eth2") and not owned.owns(v6, "eth1")
    assert owned.owns(anywhere, "eth1") and owned.owns(anywhere, "eth7")
    assert not owned.owns(ipaddress.ip_address("192.0.2.12").packed, "eth1")  # not owned at all
