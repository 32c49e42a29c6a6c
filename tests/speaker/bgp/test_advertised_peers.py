"""``ServiceBGPStatus.peers`` names the peers a Service is advertised to: those whose session is up (pure)."""

from __future__ import annotations

import ipaddress

from ironlb.announce.inputs import Announcement
from speaker.bgp.backend import advertised

IDS = {"edge": "10.0.0.1", "edge-b": "10.0.0.1", "core": "10.0.0.2", "peer-10.0.0.3": "10.0.0.3"}


def ann(*via: str) -> Announcement:
    return Announcement("apps/web", "bgp", "n1", ipaddress.ip_address("192.0.2.1"), via)


def test_only_peers_with_a_session_up_are_named() -> None:
    a = ann("core", "edge", "edge-b", "peer-10.0.0.3")
    assert advertised([a], IDS, frozenset({"10.0.0.1"})) == [ann("edge", "edge-b")]
    assert advertised([a], IDS, frozenset({"10.0.0.2", "10.0.0.3"})) == [ann("core", "peer-10.0.0.3")]
    (none,) = advertised([a], IDS, frozenset())
    assert none == a and none.via == ()  # still announced (the metric counts it), to nobody yet
    assert advertised([a], IDS, frozenset(IDS.values()))[0].via == a.via


def test_a_name_the_config_no_longer_has_is_not_named() -> None:
    assert advertised([ann("gone")], IDS, frozenset(IDS.values()))[0].via == ()
