"""Which interfaces answer: the default set and the config's globs."""

from __future__ import annotations

from speaker.layer2.interfaces import Link, select_interfaces

M = bytes.fromhex("020000000001")
LINKS = [
    Link(1, "lo", b"\0" * 6, loopback=True, broadcast=False),
    Link(2, "eth0", M),
    Link(3, "eth1", M, up=False),
    Link(4, "bond0", M),
    Link(5, "eth2", M, enslaved=True),
    Link(6, "veth12ab", M),
    Link(7, "cali123", M),
    Link(8, "docker0", M),
    Link(9, "cni0", M),
    Link(10, "flannel.1", M),
    Link(11, "kube-ipvs0", M),
    Link(12, "wg0", M, broadcast=False),
    Link(13, "tun0", b""),
]


def names(links: tuple[Link, ...]) -> list[str]:
    return [lk.name for lk in links]


def test_default_set() -> None:
    assert names(select_interfaces(LINKS)) == ["bond0", "eth0"]


def test_globs_replace_the_default_but_still_need_up_and_a_mac() -> None:
    assert names(select_interfaces(LINKS, ["eth*"])) == ["eth0", "eth2"]
    assert names(select_interfaces(LINKS, ["veth*", "tun0", "lo"])) == ["veth12ab"]
    assert names(select_interfaces(LINKS, ["nothing"])) == []
