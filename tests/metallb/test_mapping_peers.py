"""MetalLB → ironlb mapping of BGP peers, BFD profiles and communities: every field, lossy case and error."""

from __future__ import annotations

import pytest

from ironlb.config.model import BfdProfile, Community, LabelSelector, SelectorRequirement
from tests.metallb.helpers import lines, obj, only, peer, run

# --- peers ----------------------------------------------------------------------------------------


def test_peer_maps_every_field() -> None:
    sel = [
        {"matchLabels": {"rack": "1", "zone": "a"}, "matchExpressions": [{"key": "x", "operator": "Exists"}]}
    ]
    result = run(
        obj(
            "BFDProfile",
            "fast",
            {
                "receiveInterval": 100,
                "transmitInterval": 120,
                "detectMultiplier": 4,
                "echoInterval": 60,
                "echoMode": True,
                "passiveMode": True,
                "minimumTtl": 250,
            },
        ),
        peer(
            "p",
            peerPort=1179,
            holdTime="1m30s",
            keepaliveTime="10s",
            routerID="10.1.1.1",
            sourceAddress="192.0.2.10",
            password="s3cret",
            bfdProfile="fast",
            ebgpMultiHop=True,
            nodeSelectors=sel,
        ),
    )
    assert result.findings == ()
    assert result.config is not None
    (p,) = result.config.peers
    assert (p.my_asn, p.peer_asn, str(p.peer_address), p.peer_port) == (64513, 64512, "192.0.2.1", 1179)
    assert (p.hold_time, p.keepalive_time, str(p.router_id), str(p.source_address)) == (
        90.0,
        10.0,
        "10.1.1.1",
        "192.0.2.10",
    )
    assert (p.password, p.bfd_profile, p.ebgp_multihop) == ("s3cret", "fast", True)
    assert p.node_selectors == (
        LabelSelector((("rack", "1"), ("zone", "a")), (SelectorRequirement("x", "Exists"),)),
    )
    assert result.config.bfd_profiles == (BfdProfile("fast", 100, 120, 4, 60, True, True, 250),)


def test_peer_defaults_and_v1beta1() -> None:
    p1 = peer("old", peerPort=0)
    p1["apiVersion"] = "metallb.io/v1beta1"
    result = run(p1)
    assert result.config is not None
    (p,) = result.config.peers
    assert (p.peer_port, p.hold_time, p.keepalive_time, p.password, p.bfd_profile) == (
        179,
        90.0,
        30.0,
        None,
        None,
    )


def test_bfd_profile_defaults_and_ranges() -> None:
    result = run(obj("BFDProfile", "d", {}), obj("BFDProfile", "bad", {"detectMultiplier": 1}))
    assert result.config is None
    assert "BFDProfile/bad: spec.detectMultiplier: 1 is out of range (2..255)" in only(
        lines(result, "error"), "bad"
    )
    ok = run(obj("BFDProfile", "d"))
    assert ok.config is not None and ok.config.bfd_profiles == (BfdProfile("d"),)


def test_password_secret_is_lossy_and_says_where_passwords_go() -> None:
    result = run(
        peer(
            "p",
            peerAddress="2001:db8::1",
            passwordSecret={"name": "bgp-secret", "namespace": "metallb-system"},
        )
    )
    assert result.config is not None
    msg = only(lines(result, "lossy"), "BGPPeer/p: spec.passwordSecret")
    assert "ironlb-bgp-passwords" in msg and "--bgp-password-dir" in msg and "2001_db8__1=" in msg
    assert result.config.peers[0].password is None


@pytest.mark.parametrize(
    ("spec", "field", "dropped"),
    [
        ({"vrf": "red"}, "spec.vrf", False),
        ({"connectTime": "5s"}, "spec.connectTime", False),
        ({"dualStackAddressFamily": True}, "spec.dualStackAddressFamily", False),
        ({"peerASN": None, "dynamicASN": "external"}, "spec.dynamicASN", True),
        ({"peerAddress": None, "interface": "eth0"}, "spec.interface", True),
    ],
)
def test_peer_fields_ironlb_cannot_express_are_lossy(
    spec: dict[str, object], field: str, dropped: bool
) -> None:
    p = peer("p", **spec)
    p["spec"] = {k: val for k, val in p["spec"].items() if val is not None}
    result = run(p)
    assert result.config is not None
    assert only(lines(result, "lossy"), f"BGPPeer/p: {field}:")
    assert len(result.config.peers) == (0 if dropped else 1)


def test_graceful_restart_and_disable_mp_are_only_notes() -> None:
    result = run(peer("p", enableGracefulRestart=True, disableMP=True))
    assert result.config is not None and lines(result, "lossy") == []
    assert "--bgp-graceful-restart" in only(lines(result, "note"), "spec.enableGracefulRestart")
    assert "only over a session of that family" in only(lines(result, "note"), "spec.disableMP")


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"bfdProfile": "nosuch"}, "spec.bfdProfile: no BFDProfile 'nosuch' in the input"),
        ({"peerAddress": "192.0.2.300"}, "spec.peerAddress: '192.0.2.300' is not a valid IP address"),
        (
            {"holdTime": "9s", "keepaliveTime": "10s"},
            "spec.keepaliveTime: keepalive time 10s must not exceed",
        ),
        ({"holdTime": "2s"}, "spec.holdTime: invalid hold time"),
        ({"routerID": "2001:db8::1"}, "spec.routerID: router ID '2001:db8::1' must be an IPv4 address"),
        ({"myASN": 0}, "spec.myASN: local ASN must not be 0"),  # the message a ConfigMap gets
        ({"myASN": 2**32}, "spec.myASN: 4294967296 is out of range (1..4294967295)"),
        ({"peerASN": None}, "spec.peerASN: required field is missing"),
        ({"peerAddress": None}, "spec.peerAddress: required field is missing"),
        ({"peerPort": "179"}, "spec.peerPort: expected an integer, got string '179'"),
        ({"dynamicASN": "internal"}, "mutually exclusive"),
        ({"interface": "eth0"}, "mutually exclusive"),
        (
            {"peerASN": 64513, "ebgpMultiHop": True},
            "BGPPeer/p: spec.ebgpMultiHop: ebgpMultiHop is only for eBGP peers (myASN equals peerASN)",
        ),
    ],
)
def test_peer_errors(spec: dict[str, object], needle: str) -> None:
    p = peer("p", **spec)
    p["spec"] = {k: val for k, val in p["spec"].items() if val is not None}
    result = run(p)
    assert result.config is None
    assert needle in only(lines(result, "error"), "BGPPeer/p")


def test_duplicate_peers_are_reported_on_the_crd() -> None:
    result = run(peer("a"), peer("b"))
    assert result.config is None
    assert only(lines(result, "error"), "duplicate peer").startswith("in.yaml:doc#2 BGPPeer/b")


# --- communities ----------------------------------------------------------------------------------


def test_community_aliases_across_objects() -> None:
    result = run(
        obj(
            "Community",
            "one",
            {"communities": [{"name": "x", "value": "1:1"}, {"name": "y", "value": "large:1:2:3"}]},
        ),
        obj("Community", "two", {"communities": [{"name": "x", "value": "1:1"}]}),
    )
    assert result.config is not None
    assert result.config.bgp_communities == (("x", Community("1:1")), ("y", Community("1:2:3")))


@pytest.mark.parametrize(
    ("aliases", "needle"),
    [
        ([{"name": "x", "value": "1:1"}, {"name": "x", "value": "2:2"}], "also defined with another value"),
        ([{"name": "x", "value": "70000:1"}], "spec.communities[0].value: invalid community"),
        ([{"value": "1:1"}], "spec.communities[0].name: required field is missing"),
    ],
)
def test_community_errors(aliases: list[dict[str, str]], needle: str) -> None:
    result = run(obj("Community", "c", {"communities": aliases}))
    assert result.config is None
    assert needle in only(lines(result, "error"), "Community/c")
