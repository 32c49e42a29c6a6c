"""Golden files: the rendered ExaBGP configuration and the command stream for a desired-state change.

Refresh with ``IRONLB_UPDATE_GOLDEN=1 pytest tests/speaker/bgp/test_exabgp_golden.py`` and review the diff.
The rendered configuration is also checked by ExaBGP's own parser (``exabgp validate``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
from pathlib import Path

import pytest

from ironlb.announce.bgp import BgpRoute
from ironlb.announce.bgp_sessions import PeerSession, peer_sessions
from ironlb.announce.inputs import NodeInfo
from ironlb.config import parse_config
from speaker.bgp.commands import UnsafeCommand, announce_line, difference
from speaker.bgp.driver import ExabgpDriver, parse_ack, parse_event
from speaker.bgp.exabgp_config import RenderError, neighbor_settings, render_config
from speaker.bgp.exabgp_process import exabgp_command, exabgp_environment
from tests.support.golden import check_golden

GOLDEN = Path(__file__).with_name("golden")

CONFIG = """
peers:
- {peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, hold-time: 9s, password: "s3cr\\"et;{}"}
- {peer-address: 172.30.0.2, peer-asn: 64514, my-asn: 64513, peer-port: 1790, ebgp-multihop: true,
   router-id: 10.0.0.1, source-address: 172.30.0.111}
- {peer-address: "fd00:30::1", peer-asn: 64512, my-asn: 64513}
"""

NODE = NodeInfo(
    name="n1",
    addresses=(ipaddress.ip_address("172.30.0.11"), ipaddress.ip_address("fd00:30::11")),
)
RELAY = ["/usr/bin/python3", "/opt/ironlb/relay.py", "/run/ironlb/api.sock"]


def sessions(node: NodeInfo = NODE) -> tuple[PeerSession, ...]:
    """The decision's sessions for ``node``: what the backend renders."""
    return peer_sessions(parse_config(CONFIG), node, [])


def rendered() -> str:
    return render_config([neighbor_settings(s) for s in sessions()], RELAY)


def test_rendered_config_matches_golden() -> None:
    check_golden(GOLDEN / "exabgp.conf", rendered())


def test_rendered_config_is_valid_for_exabgp(tmp_path: Path) -> None:
    conf = tmp_path / "exabgp.conf"
    conf.write_text(rendered())
    proc = subprocess.run(
        [*exabgp_command(), "validate", str(conf)],
        env=exabgp_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 's3cr"et' not in proc.stdout + proc.stderr


def test_rendering_is_deterministic_and_order_independent() -> None:
    a = render_config([neighbor_settings(s) for s in sessions()], RELAY)
    b = render_config([neighbor_settings(s) for s in reversed(sessions())], RELAY)
    assert a == b


def test_no_address_of_the_family_is_refused() -> None:
    v4only = NodeInfo(name="n1", addresses=(ipaddress.ip_address("172.30.0.11"),))
    v6 = sessions(v4only)[2]
    assert v6.refusal is not None and "no IPv6 address" in v6.refusal
    with pytest.raises(RenderError):
        neighbor_settings(v6)


def route(
    prefix: str,
    *,
    communities: tuple[str, ...] = (),
    large: tuple[str, ...] = (),
    localpref: int | None = None,
) -> BgpRoute:
    return BgpRoute(ipaddress.ip_network(prefix), communities, large, localpref)


BEFORE = {
    "172.30.0.1": [
        route("198.51.100.7/32", communities=("65535:65281",)),
        route("198.51.100.8/32"),
        route("10.96.0.0/16"),
    ],
    "172.30.0.2": [route("198.51.100.7/32", localpref=150)],
}
AFTER = {
    "172.30.0.1": [
        route("198.51.100.7/32", communities=("64512:100", "65535:65281"), large=("1:2:3",)),
        route("198.51.100.9/32"),
        route("10.96.0.0/16"),
    ],
    "172.30.0.2": [route("198.51.100.7/32", localpref=200)],
    "fd00:30::1": [route("2001:db8:5::7/128")],
}


def test_command_stream_for_a_change_matches_golden() -> None:
    lines: list[str] = []
    for peer in sorted(AFTER):
        acked = {r.prefix: r for r in BEFORE.get(peer, [])}
        lines += [c.line for c in difference(peer, acked, AFTER[peer])]
    check_golden(GOLDEN / "commands.txt", "\n".join(lines) + "\n")


def test_nothing_to_send_when_acknowledged_equals_desired() -> None:
    for peer, routes in AFTER.items():
        assert difference(peer, {r.prefix: r for r in routes}, routes) == []


def test_forced_resend_announces_everything_and_still_withdraws() -> None:
    acked = {r.prefix: r for r in BEFORE["172.30.0.1"]}
    cmds = difference("172.30.0.1", acked, BEFORE["172.30.0.1"][:2], force=True)
    assert [c.action for c in cmds] == ["announce", "announce", "withdraw"]
    assert cmds[-1].route.prefix == ipaddress.ip_network("10.96.0.0/16")


def test_control_characters_are_refused() -> None:
    with pytest.raises(UnsafeCommand):
        announce_line("172.30.0.1\nneighbor 1.2.3.4 teardown 2", route("198.51.100.7/32"))
    with pytest.raises(UnsafeCommand):
        announce_line("172.30.0.1", route("198.51.100.7/32", communities=("1:2 ]",)))


def test_driver_refuses_control_characters_in_control_commands() -> None:
    async def go() -> None:
        driver = ExabgpDriver()
        with pytest.raises(UnsafeCommand):
            await driver.control("reload\nshutdown")

    asyncio.run(go())


def test_ack_and_event_parsing() -> None:
    assert parse_ack("done") is True
    assert parse_ack("error") is False
    assert parse_ack('{ "answer": "done", "message": "command completed" }') is True
    assert parse_ack('{ "answer": "error", "message": "x" }') is False
    assert parse_ack("reload in progress") is None
    ev = parse_event(
        '{ "exabgp": "5.0.0", "time": 1.0, "type": "state", "neighbor": { "address": '
        '{ "local": "172.30.0.11", "peer": "172.30.0.1" }, "asn": { "local": 64513, "peer": 64512 }, '
        '"state": "up" } }'
    )
    assert ev is not None and (ev.peer, ev.state) == ("172.30.0.1", "up")
    assert parse_event('{"type": "update"}') is None
    assert parse_event("not json") is None
