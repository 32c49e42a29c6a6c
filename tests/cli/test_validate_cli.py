"""``ironlb validate``: exit codes, output, and the bundled samples (which must stay valid)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from ironlb.cli.main import main
from ironlb.cli.validate import usable_addresses
from ironlb.config import parse_config
from ironlb.config.legacy import pool_protocol
from ironlb.config.model import AddressRange
from ironlb.config.render import render_config

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"
EXPECTED_SAMPLES = {
    "layer2.yaml",
    "bgp.yaml",
    "ecmp-clusterip.yaml",
    "dual-stack.yaml",
    "metallb-legacy.yaml",
}


def test_all_expected_samples_exist() -> None:
    assert {p.name for p in SAMPLES.glob("*.yaml")} >= EXPECTED_SAMPLES


@pytest.mark.parametrize("name", sorted(EXPECTED_SAMPLES))
def test_sample_is_valid_configmap_in_ironlb_system(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = (SAMPLES / name).read_text()
    assert "namespace: ironlb-system" in text and "name: ironlb" in text and "  config: |" in text
    config = parse_config(text)
    assert config.pools
    assert parse_config(render_config(config)) == config
    assert main(["validate", str(SAMPLES / name)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{SAMPLES / name}: valid\n") and err == ""


def test_bgp_samples_fit_the_lab() -> None:
    for name in ("bgp.yaml", "ecmp-clusterip.yaml", "dual-stack.yaml", "metallb-legacy.yaml"):
        config = parse_config((SAMPLES / name).read_text())
        # dual-stack.yaml also peers over IPv6 with the dual-stack lab's router (IPv6 routes need it).
        extra = [("fd00:30::1", 64512, 64513)] if name == "dual-stack.yaml" else []
        assert [(str(p.peer_address), p.peer_asn, p.my_asn) for p in config.peers] == [
            ("172.30.0.1", 64512, 64513),
            *extra,
        ]
    lab = (SAMPLES.parents[1] / "containerlab" / "dual-stack" / "dual-stack.clab.yml").read_text()
    assert "ip -6 addr add fd00:30::1/64 dev eth1" in lab


def test_samples_cover_their_topic() -> None:
    def load(name: str):  # type: ignore[no-untyped-def]
        return parse_config((SAMPLES / name).read_text())

    layer2 = load("layer2.yaml")
    assert all(pool_protocol(layer2, p.name) == "layer2" for p in layer2.pools)
    assert any(not p.auto_assign for p in layer2.pools)
    (cip,) = load("ecmp-clusterip.yaml").cluster_ip_advertisements
    assert cip.cidrs == (ipaddress.ip_network("10.96.0.0/12"),)
    assert all(p.families == frozenset({4, 6}) for p in load("dual-stack.yaml").pools)
    legacy = load("metallb-legacy.yaml")
    assert legacy.bfd_profiles and legacy.bgp_communities and legacy.peers[0].node_selectors
    assert any(p.avoid_buggy_ips for p in legacy.pools)


def test_summary_names_pools_peers_and_bfd_caveat(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SAMPLES / "metallb-legacy.yaml")]) == 0
    out = capsys.readouterr().out
    assert "address pools: 3 (2 bgp, 1 layer2)" in out
    assert "  default: bgp, IPv4 254; auto-assign, avoid-buggy-ips, 2 advertisements" in out
    assert "  expensive: bgp, IPv4 260; manual only, 1 advertisement" in out
    assert "addresses: IPv4 514, IPv6 16" in out
    assert "172.30.0.1 port 179: AS64512 (eBGP, my AS64513), hold 120s, keepalive 40s" in out
    assert "the speaker runs FRR's bfdd next to ExaBGP for peers that name one" in out
    assert "  full1: transmit 180 ms, receive 179 ms, multiplier 3: a dead node is detected after" in out


def test_summary_says_when_keepalive_time_cannot_be_honoured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "ka.yaml"
    peer = "{peer-address: 10.0.0.%d, peer-asn: 1, my-asn: 2, hold-time: 90s, keepalive-time: %s}"
    cfg.write_text(f"peers: [{peer % (1, '30s')}, {peer % (2, '10s')}]\n")
    assert main(["validate", str(cfg)]) == 0  # a warning does not make the config invalid
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if "keepalive" in line]
    assert "ignored" not in lines[0]
    assert lines[1].endswith("(keepalive ignored: every 30s, see the warning)")
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: peers[1].keepalive-time: 10s is ignored: the ExaBGP backend")


def test_layer2_sample_pools_avoid_the_layer2_labs_hosts() -> None:
    """Users try the samples on the lab: a pool holding a host's address would hijack it."""
    lab = (SAMPLES.parents[1] / "containerlab" / "layer2" / "layer2.clab.yml").read_text()
    hosts = [ipaddress.ip_interface(a).ip for a in re.findall(r"addr add (\S+) dev", lab)]
    assert len(hosts) >= 8  # the nodes and the client, IPv4 and IPv6
    for name in sorted(EXPECTED_SAMPLES):
        for pool in parse_config((SAMPLES / name).read_text()).pools:
            for host in hosts:
                assert not any(r.family == host.version and r.first <= host <= r.last for r in pool.ranges), (
                    f"{name}: pool {pool.name} holds the lab host {host}"
                )


def test_invalid_file_exits_1_with_every_error_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "peers: [{peer-address: 1.2.3.4, peer-asn: 0, my-asn: 1}]\n"
        "address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/33, 10.0.0.9-10.0.0.1]}]\n"
    )
    assert main(["validate", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "peers[0].peer-asn: peer ASN must not be 0",
        "address-pools[0].addresses[0]: '10.0.0.0/33' is not a valid CIDR or address range",
        "address-pools[0].addresses[1]: invalid range '10.0.0.9-10.0.0.1': "
        "start 10.0.0.9 is after end 10.0.0.1",
        f"{bad}: invalid (3 errors)",
    ]


def test_missing_file_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_no_argument_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2


def test_warnings_go_to_stderr_and_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.7/24]}]\n")
    assert main(["validate", "-q", str(f)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert (
        err == "warning: address-pools[0].addresses[0]: '10.0.0.7/24' has host bits set; "
        "using 10.0.0.0/24 (as MetalLB does)\n"
    )


def test_other_configmap_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "cm.yaml"
    f.write_text("kind: ConfigMap\ndata:\n  alt: |\n    peers: []\n")
    assert main(["validate", "--key", "alt", str(f)]) == 0
    assert main(["validate", str(f)]) == 1
    assert "data.config: missing" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("first", "last", "avoid", "expected"),
    [
        ("10.0.0.0", "10.0.0.255", False, 256),
        ("10.0.0.0", "10.0.0.255", True, 254),
        ("10.0.0.1", "10.0.0.254", True, 254),
        ("10.0.0.255", "10.0.1.0", True, 0),
        ("10.0.0.0", "10.0.3.255", True, 1024 - 8),
        ("fc00::", "fc00::ff", True, 256),
    ],
)
def test_usable_addresses(first: str, last: str, avoid: bool, expected: int) -> None:
    r = AddressRange(ipaddress.ip_address(first), ipaddress.ip_address(last))
    assert usable_addresses(r, avoid) == expected
    if r.family == 4:  # cross-check against counting one by one
        brute = sum(1 for n in range(int(r.first), int(r.last) + 1) if not (avoid and n % 256 in (0, 255)))
        assert brute == expected


RESOURCE_SAMPLES = SAMPLES / "resources"


def resource_sample_objects() -> list[dict[str, object]]:
    import yaml

    return [
        doc
        for path in sorted(RESOURCE_SAMPLES.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def test_resource_samples_are_valid_and_cover_their_topic(capsys: pytest.CaptureFixture[str]) -> None:
    """config/samples/resources/: every config kind a user starts from, valid as a directory and file by file
    together, and showing what the ConfigMap cannot say."""
    from ironlb.config.load import load_config

    assert main(["validate", str(RESOURCE_SAMPLES)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{RESOURCE_SAMPLES}: valid\n") and err == ""
    files = sorted(map(str, RESOURCE_SAMPLES.glob("*.yaml")))
    assert main(["validate", *files]) == 0
    capsys.readouterr()
    objects = resource_sample_objects()
    assert all(o["apiVersion"] == "ironlb.io/v1beta1" for o in objects)
    config = load_config(None, objects).config
    assert config is not None
    allocations = [p.allocation for p in config.pools if p.allocation is not None]
    assert any(a.namespaces for a in allocations) and any(a.namespace_selectors for a in allocations)
    assert any(a.service_selectors for a in allocations) and any(a.priority is not None for a in allocations)
    assert any(ad.node_selectors and ad.interfaces for ad in config.l2_advertisements)
    assert any(ad.peers for ad in config.bgp_advertisements)
    assert any(p.password_secret is not None for p in config.peers)
    assert config.cluster_ip_advertisements and config.cluster_ip_advertisements[0].peers
    assert not config.unannounced_pools()
    # fits the lab like the ConfigMap samples: the lab router, and no pool holding a layer-2 lab host
    assert [(str(p.peer_address), p.peer_asn, p.my_asn) for p in config.peers] == [
        ("172.30.0.1", 64512, 64513)
    ]
    lab = (SAMPLES.parents[1] / "containerlab" / "layer2" / "layer2.clab.yml").read_text()
    hosts = [ipaddress.ip_interface(a).ip for a in re.findall(r"addr add (\S+) dev", lab)]
    for pool in config.pools:
        assert not any(r.family == h.version and r.first <= h <= r.last for r in pool.ranges for h in hosts)


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_an_empty_file_is_valid_but_said_to_configure_nothing(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a failed ``ironlb convert > file`` leaves behind: valid (an empty config is), with a warning."""
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 0
    assert f"warning: {path}: no pools and no peers" in capsys.readouterr().err
