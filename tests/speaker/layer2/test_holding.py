"""Whose IPs a node may be holding while they are out (``speaker.layer2.holding``)."""

from __future__ import annotations

import asyncio
import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from ironlb.announce.layer2 import owner
from speaker.layer2.announcer import Layer2Announcer
from speaker.layer2.holding import held_for
from tests.support.layer2_helpers import eps, inputs, node, svc

NODES = [f"n{i}" for i in range(8)]
IPS = [ipaddress.ip_address(f"192.0.2.{i}") for i in range(1, 40)]


@given(
    live=st.sets(st.sampled_from(NODES), min_size=1),
    me=st.sampled_from(NODES),
)
def test_held_for_names_every_peer_out_that_would_take_back_an_ip_owned_here(live: set[str], me: str) -> None:
    live |= {me}
    out = set(NODES) - live
    owned = [ip for ip in IPS if owner(ip, live) == me]
    held = held_for(me, owned, out)
    assert held <= out
    for peer in out:  # it outranks this node for one of them: back alone, it owns that IP
        assert (peer in held) == any(owner(ip, live | {peer}) == peer for ip in owned)
    for ip in owned:  # the owner were all back is one of them
        assert owner(ip, set(NODES)) in held | {me}


def test_nobody_out_nothing_held() -> None:
    assert held_for("n0", IPS, ()) == frozenset()


def test_the_announcer_tells_whose_ips_it_holds_at_each_apply() -> None:
    """A peer counted out: the announcer says whose IPs it now answers for (the membership tells them when
    they are back); once the peer is live again, nobody; a node seen only out (no speaker) is never named."""
    told: list[frozenset[str]] = []
    nodes = [node(n) for n in ("n0", "n1", "n2", "x")]
    services = [svc(f"s{i}", [f"192.0.2.{i}"]) for i in range(1, 40)]
    slices = [eps(f"s{i}", ["n0", "n1", "n2"]) for i in range(1, 40)]

    async def scenario() -> None:
        a = Layer2Announcer(links=list, holding=told.append)
        for live in (["n0", "n1", "n2"], ["n0", "n1"], ["n0", "n1", "n2"]):
            await a.apply(inputs("n0", nodes, services, slices, live=live))
        await a.shutdown(graceful=True)

    asyncio.run(scenario())
    assert told == [frozenset(), frozenset({"n2"}), frozenset()]
