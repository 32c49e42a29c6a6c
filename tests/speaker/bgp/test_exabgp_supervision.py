"""The BGP backend supervises a real ExaBGP: a hung one (SIGSTOP) is detected and replaced, state replayed.

No namespace needed: the only peer is 127.0.0.2 on a closed port, so ExaBGP keeps
retrying the session on loopback while its API works normally.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from ironlb.announce.inputs import AnnounceInputs, Endpoints, NodeInfo, ServiceInfo
from ironlb.config import parse_config
from speaker.bgp.backend import BgpAnnouncer

PEER = "127.0.0.2"
POOLS = """
address-pools:
- {name: pub, protocol: bgp, addresses: [198.51.100.0/24]}
"""
CONFIG = """
peers:
- {peer-address: 127.0.0.2, peer-asn: 64512, my-asn: 64513, peer-port: 1, password: "never-logged-9f3"}
address-pools:
- {name: pub, protocol: bgp, addresses: [198.51.100.0/24]}
"""


def inputs(config_text: str, ips: list[str]) -> AnnounceInputs:
    me = NodeInfo(name="n1", addresses=(ipaddress.ip_address("127.0.0.1"),))
    services = tuple(
        ServiceInfo(key=f"default/s{i}", ips=(ipaddress.ip_address(ip),)) for i, ip in enumerate(ips)
    )
    eps = Endpoints(ready_by_node={"n1": 1}, ready_total=1)
    return AnnounceInputs(
        node="n1",
        config=parse_config(config_text),
        services=services,
        nodes={"n1": me},
        endpoints={s.key: eps for s in services},
    )


async def until(pred: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def updates() -> float:
    return REGISTRY.get_sample_value("ironlb_bgp_updates_total", {"peer": PEER}) or 0.0


def restarts() -> float:
    return REGISTRY.get_sample_value("ironlb_bgp_exabgp_restarts_total") or 0.0


def session_up(peer: str = PEER) -> float | None:
    """The exported ``ironlb_bgp_session_up{peer}``; None when the series does not exist."""
    return REGISTRY.get_sample_value("ironlb_bgp_session_up", {"peer": peer})


def test_hung_exabgp_is_replaced_and_routes_replayed(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = BgpAnnouncer(tmp_path / "bgp", probe_interval=0.3, ack_timeout=1.0)
        runner = asyncio.create_task(backend.run())
        restarts_before = restarts()
        try:
            await backend.apply(inputs(CONFIG, ["198.51.100.7", "198.51.100.8"]))
            # The session never opens (closed port: ExaBGP emits no state event at all), yet the
            # series exists from the moment the peer is configured, so `session_up == 0` alerts fire.
            assert session_up() == 0.0
            await until(lambda: len(backend.driver.acknowledged(PEER)) == 2)
            assert session_up() == 0.0
            assert backend.process is not None and backend.process.pid is not None
            first = backend.process.pid
            before = updates()

            os.kill(first, signal.SIGSTOP)  # hung, not dead: only the missing acks tell
            await until(lambda: backend.process is not None and backend.process.pid != first)
            assert restarts() == restarts_before + 1
            assert session_up() == 0.0  # still exported while ExaBGP is replaced
            await until(lambda: backend.driver.connected.is_set())
            await until(lambda: updates() >= before + 2)  # the whole state was sent again
            assert set(map(str, backend.driver.acknowledged(PEER))) == {"198.51.100.7/32", "198.51.100.8/32"}

            # A change after the restart is a difference of one withdrawal.
            await backend.apply(inputs(CONFIG, ["198.51.100.7"]))
            await until(lambda: set(map(str, backend.driver.acknowledged(PEER))) == {"198.51.100.7/32"})

            # No peer left for this node: ExaBGP is stopped, not restarted in a loop, and the
            # removed peer's session series is gone (not a stale 0 that alerts forever).
            await backend.apply(inputs(POOLS, []))
            assert session_up() is None
            await until(lambda: backend.process is not None and not backend.process.running)
            await asyncio.sleep(1.0)
            assert backend.process is not None and not backend.process.running
            assert session_up() is None
            assert restarts() == restarts_before + 1  # a stop for lack of peers is no restart
        finally:
            await backend.shutdown(graceful=False)
            await asyncio.wait_for(runner, 20)
        assert (tmp_path / "bgp" / "exabgp.conf").stat().st_mode & 0o077 == 0
        assert "never-logged-9f3" not in (tmp_path / "bgp" / "exabgp.conf").read_text()

    asyncio.run(scenario())


def test_problems_and_keepalive_warnings_are_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The speaker re-decides on every change: what it cannot do is logged once, not every time."""
    config = CONFIG.replace("peer-port: 1,", "peer-port: 1, hold-time: 90s, keepalive-time: 10s,").replace(
        "198.51.100.0/24]", '198.51.100.0/24, "2001:db8:7::/64"]'
    )

    async def scenario() -> None:
        backend = BgpAnnouncer(tmp_path / "bgp")  # not run: apply alone decides, renders and logs
        for _ in range(3):
            announced = await backend.apply(inputs(config, ["198.51.100.7", "2001:db8:7::7"]))
            assert [str(a.ip) for a in announced] == ["198.51.100.7"]
        await backend.apply(inputs(config, ["198.51.100.7"]))  # the problem goes away...
        await backend.apply(inputs(config, ["198.51.100.7", "2001:db8:7::7"]))  # ...and comes back
        await backend.apply(inputs(POOLS, []))  # leaves no session series behind for other tests
        assert session_up() is None

    with caplog.at_level(logging.WARNING, logger="speaker.bgp.backend"):
        asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records if r.name == "speaker.bgp.backend"]
    unsent = [m for m in messages if m.startswith("service default/s1: no IPv6 BGP peer for 2001:db8:7::7")]
    keepalive = [m for m in messages if m.startswith("peers[0].keepalive-time: 10s is ignored")]
    assert len(unsent) == 2  # once, and once more after it came back
    assert len(keepalive) == 1
