"""The BGP backend supervises a real ExaBGP: a hung one (SIGSTOP) is detected and replaced, state replayed.

No namespace needed: the only peer is 127.0.0.2 on a closed port, so ExaBGP keeps
retrying the session on loopback while its API works normally.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

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


def test_hung_exabgp_is_replaced_and_routes_replayed(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = BgpAnnouncer(tmp_path / "bgp", probe_interval=0.3, ack_timeout=1.0)
        runner = asyncio.create_task(backend.run())
        try:
            await backend.apply(inputs(CONFIG, ["198.51.100.7", "198.51.100.8"]))
            await until(lambda: len(backend.driver.acknowledged(PEER)) == 2)
            assert backend.process is not None and backend.process.pid is not None
            first = backend.process.pid
            before = updates()

            os.kill(first, signal.SIGSTOP)  # hung, not dead: only the missing acks tell
            await until(lambda: backend.process is not None and backend.process.pid != first)
            assert backend.restarts == 1
            await until(lambda: backend.driver.connected.is_set())
            await until(lambda: updates() >= before + 2)  # the whole state was sent again
            assert set(map(str, backend.driver.acknowledged(PEER))) == {"198.51.100.7/32", "198.51.100.8/32"}

            # A change after the restart is a difference of one withdrawal.
            await backend.apply(inputs(CONFIG, ["198.51.100.7"]))
            await until(lambda: set(map(str, backend.driver.acknowledged(PEER))) == {"198.51.100.7/32"})

            # No peer left for this node: ExaBGP is stopped, not restarted in a loop.
            await backend.apply(inputs(POOLS, []))
            await until(lambda: backend.process is not None and not backend.process.running)
            await asyncio.sleep(1.0)
            assert backend.process is not None and not backend.process.running
        finally:
            await backend.shutdown(graceful=False)
            await asyncio.wait_for(runner, 20)
        assert (tmp_path / "bgp" / "exabgp.conf").stat().st_mode & 0o077 == 0
        assert "never-logged-9f3" not in (tmp_path / "bgp" / "exabgp.conf").read_text()

    asyncio.run(scenario())
