"""Membership over real UDP on loopback: peers see each other, a stopped one dies, forgeries change nothing.

No timing assertions: only "eventually" with a generous bound.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from speaker.membership import wire
from speaker.membership.service import Membership
from speaker.membership.swim import Timing

KEY = b"a-test-key-of-32-bytes-exactly!!"
NAMES = ("m1", "m2", "m3")
SUSPICIONS = "ironlb_membership_suspicions_total"
DEATHS = "ironlb_membership_deaths_total"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def eventually(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if pred():
            return True
        await asyncio.sleep(0.02)
    return pred()


async def start_cluster(
    port: int, timing: Timing | None = None
) -> tuple[dict[str, Membership], list[asyncio.Task[None]]]:
    peers = {n: (f"127.0.0.{i}", port) for i, n in enumerate(NAMES, start=1)}
    members = {n: Membership(n, KEY, bind=peers[n][0], port=port, timing=timing) for n in NAMES}
    tasks = []
    for m in members.values():
        m.set_peers(peers)
        await m.start()
        tasks.append(asyncio.create_task(m.run()))
    return members, tasks


async def stop_all(members: dict[str, Membership], tasks: list[asyncio.Task[None]]) -> None:
    for m in members.values():
        m.stop()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_stopped_member_is_eventually_dead_and_leave_is_seen() -> None:
    async def scenario() -> None:
        members, tasks = await start_cluster(free_port())
        try:
            assert await eventually(
                lambda: all(
                    m.swim.members[o].incarnation > 0 for m in members.values() for o in m.swim.members
                )
            )
            members["m3"].stop()  # crash: no leave
            assert await eventually(
                lambda: (
                    members["m1"].swim.status("m3") == "dead" and members["m2"].swim.status("m3") == "dead"
                )
            )
            assert members["m1"].live == {"m1", "m2"}
            await members["m2"].leave()
            assert await eventually(lambda: members["m1"].swim.status("m2") == "left")
            assert members["m1"].live == {"m1"}
        finally:
            await stop_all(members, tasks)

    asyncio.run(scenario())


def test_forged_and_malformed_datagrams_are_counted_and_change_nothing() -> None:
    async def scenario() -> None:
        port = free_port()
        members, tasks = await start_cluster(port)
        try:
            assert await eventually(
                lambda: all(
                    m.swim.members[o].incarnation > 0 for m in members.values() for o in m.swim.members
                )
            )
            m1 = members["m1"]
            before = {n: (m.status, m.incarnation) for n, m in m1.swim.members.items()}
            bad_key = b"not-the-key-not-the-key-not-the!"
            forged = [
                wire.encode(wire.Message("leave", "m2", 2**62), bad_key),
                wire.encode(
                    wire.Message("ping", "m3", 2**62, 1, "m1", (wire.Gossip("m2", "dead", 2**62),)), bad_key
                ),
                wire.encode(wire.Message("leave", "m2", 2**62), KEY)[:-1] + b"\0",  # tampered tag
                b"short",
            ]
            malformed = [b"{not json" + b"", b'{"t":"nope"}', b'{"t":"ping","f":"m2","i":-1}']
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for data in forged:
                    s.sendto(data, ("127.0.0.1", port))
                for body in malformed:
                    s.sendto(body + hmac.new(KEY, body, hashlib.sha256).digest(), ("127.0.0.1", port))
            assert await eventually(lambda: m1.counters.bad_mac >= len(forged) and m1.counters.malformed >= 3)
            await asyncio.sleep(0.5)
            after = {n: m.status for n, m in m1.swim.members.items()}
            assert after == {n: s for n, (s, _) in before.items()} == {"m2": "alive", "m3": "alive"}
            assert all(m.incarnation < 2**62 for m in m1.swim.members.values())
            assert m1.live == {"m1", "m2", "m3"}
        finally:
            await stop_all(members, tasks)

    asyncio.run(scenario())


def served(name: str) -> float:
    """A metric of the speaker's registry, as /metrics serves it."""
    return REGISTRY.get_sample_value(name) or 0


def test_suspected_but_alive_member_refutes_and_the_suspicion_is_counted() -> None:
    """m2 (authenticated) tells m1 that m3 is suspect; m3 hears it, refutes, and stays alive everywhere."""

    async def scenario() -> None:
        port = free_port()
        # A long suspicion timeout: the refutation wins on any machine, so no death may be counted.
        members, tasks = await start_cluster(port, Timing(suspicion_timeout=10.0))
        try:
            assert await eventually(
                lambda: all(
                    m.swim.members[o].incarnation > 0 for m in members.values() for o in m.swim.members
                )
            )
            suspicions, deaths = served(SUSPICIONS), served(DEATHS)
            m1, m3 = members["m1"], members["m3"]
            incarnation = m1.swim.members["m3"].incarnation
            rumour = wire.Message("ack", "m2", members["m2"].swim.incarnation, 0, "m1", (
                wire.Gossip("m3", "suspect", incarnation),
            ))  # fmt: skip
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(wire.encode(rumour, KEY), ("127.0.0.1", port))
            assert await eventually(lambda: served(SUSPICIONS) > suspicions)
            assert await eventually(
                lambda: all(m.swim.members["m3"].incarnation > incarnation for m in (m1, members["m2"]))
            )
            assert m3.swim.stats.refutations >= 1
            assert all(m.live == {"m1", "m2", "m3"} for m in members.values())
            assert served(DEATHS) == deaths
        finally:
            await stop_all(members, tasks)

    asyncio.run(scenario())


def test_wire_roundtrip_and_wrong_key() -> None:
    msg = wire.Message("ping-req", "a", 7, 3, "b", (wire.Gossip("c", "suspect", 4),))
    data = wire.encode(msg, KEY)
    assert wire.decode(data, KEY) == msg
    with pytest.raises(wire.BadMac):
        wire.decode(data, b"x" * 32)
    with pytest.raises(wire.BadMac):
        wire.decode(data[:-1] + bytes([data[-1] ^ 1]), KEY)


@given(st.binary(max_size=300))
def test_fuzz_authenticated_garbage_is_malformed_never_a_crash(body: bytes) -> None:
    data = body + hmac.new(KEY, body, hashlib.sha256).digest()
    try:
        msg = wire.decode(data, KEY)
    except wire.Malformed:
        return
    assert isinstance(msg, wire.Message)


def test_dual_stack_socket_reaches_ipv4_peers_as_mapped_addresses() -> None:
    async def scenario() -> None:
        p1, p2 = free_port(), free_port()
        peers = {"d1": ("::ffff:127.0.0.1", p1), "d2": ("::ffff:127.0.0.1", p2)}
        members = [Membership("d1", KEY, bind="::", port=p1), Membership("d2", KEY, bind="::", port=p2)]
        tasks = []
        for m in members:
            m.set_peers(peers)
            await m.start()
            tasks.append(asyncio.create_task(m.run()))
        try:
            assert await eventually(
                lambda: all(m.swim.members[o].incarnation > 0 for m in members for o in m.swim.members)
            )
            assert all(m.live == {"d1", "d2"} for m in members)
        finally:
            for m in members:
                m.stop()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())
