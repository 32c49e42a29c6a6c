"""Topology files against the containerlab fields they use, and the runner's pure parts.

No root needed: these run everywhere.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ironlb.lab.fixture import REPO_CONTAINERLAB, topology_path
from ironlb.lab.requirements import find_missing, format_missing, required_programs
from ironlb.lab.routers import parse_frr_daemons, plan_router
from ironlb.lab.sessions import parse_bird_protocols, parse_frr_summary
from ironlb.lab.topology import TopologyError, check_binds_exist, load_topology, parse_topology

TOPOLOGY_FILES = sorted(REPO_CONTAINERLAB.glob("*/*.clab.yml"))
EXPECTED = {"bgp-ecmp", "bgp-ecmp-bird", "layer2", "dual-stack"}


def test_every_expected_topology_exists() -> None:
    assert {p.parent.name for p in TOPOLOGY_FILES} >= EXPECTED


@pytest.mark.parametrize("path", TOPOLOGY_FILES, ids=lambda p: p.parent.name)
def test_topology_files_are_valid(path: Path) -> None:
    topology = load_topology(path)
    assert topology.name == path.parent.name  # `containerlab deploy` in the directory finds it
    assert check_binds_exist(topology) == []
    assert (path.parent / "README.md").exists()
    # every link end is a node; every non-bridge node has at least one interface
    for node in topology.nodes:
        assert topology.interfaces(node.name), node.name


@pytest.mark.parametrize("name", sorted(EXPECTED - {"layer2"}))
def test_router_topologies_have_exactly_one_router(name: str, tmp_path: Path) -> None:
    topology = load_topology(topology_path(name))
    plans = []
    for node in topology.nodes:
        daemons = node.bound("/etc/frr/daemons")
        plan = plan_router(node, tmp_path, daemons.read_text() if daemons else None)
        if plan is not None:
            plans.append(plan)
    assert [p.node for p in plans] == ["router"]
    assert plans[0].flavor == ("bird" if name.endswith("bird") else "frr")


def _valid() -> dict[str, Any]:
    data = yaml.safe_load(topology_path("bgp-ecmp").read_text())
    assert isinstance(data, dict)
    return data


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    target: Any = data
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


def _drop(data: dict[str, Any], dotted: str) -> None:
    keys = dotted.split(".")
    target: Any = data
    for key in keys[:-1]:
        target = target[key]
    del target[keys[-1]]


# each of these is refused by containerlab itself (schema or topology checks)
REJECTED = {
    "unknown top-level key": lambda d: _set(d, "nodes", {}),
    "no name": lambda d: _drop(d, "name"),
    "no topology": lambda d: _drop(d, "topology"),
    "unknown node key": lambda d: _set(d, "topology.nodes.node1.bind", ["x:/y"]),
    "unknown kind": lambda d: _set(d, "topology.nodes.node1.kind", "docker"),
    "binds not a list": lambda d: _set(d, "topology.nodes.router.binds", "frr.conf:/etc/frr/frr.conf"),
    "empty exec": lambda d: _set(d, "topology.nodes.node1.exec", []),
    "exec not strings": lambda d: _set(d, "topology.nodes.node1.exec", [{"ip": "addr"}]),
    "endpoint without interface": lambda d: _set(d, "topology.links.0.endpoints", ["router", "br-ecmp:x"]),
    "one endpoint": lambda d: _set(d, "topology.links.0.endpoints", ["router:eth1"]),
    "endpoint to unknown node": lambda d: _set(d, "topology.links.0.endpoints", ["rtr:eth1", "br-ecmp:x"]),
    "interface name too long": lambda d: _set(
        d, "topology.links.0.endpoints", ["router:eth1", "br-ecmp:interface-too-long"]
    ),
    "endpoint used twice": lambda d: _set(
        d, "topology.links.1.endpoints", ["node1:eth1", "br-ecmp:ecmp-router"]
    ),
    "link with unknown key": lambda d: _set(d, "topology.links.0.endpoint", ["a:b", "c:d"]),
}


@pytest.mark.parametrize("mutation", sorted(REJECTED))
def test_files_containerlab_rejects_are_rejected(mutation: str, tmp_path: Path) -> None:
    data = copy.deepcopy(_valid())
    parse_topology(data, tmp_path / "x.clab.yml")  # the unmutated file is fine
    REJECTED[mutation](data)
    with pytest.raises(TopologyError):
        parse_topology(data, tmp_path / "x.clab.yml")


def test_bad_file_on_disk_is_rejected_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.clab.yml"
    data = _valid()
    data["topology"]["nodes"]["node1"]["kind"] = "docker"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(TopologyError, match=r"bad\.clab\.yml.*kind"):
        load_topology(bad)


def test_missing_bind_source_is_reported(tmp_path: Path) -> None:
    topology = parse_topology(_valid(), tmp_path / "x.clab.yml")  # frr.conf is not in tmp_path
    missing = check_binds_exist(topology)
    assert any("frr.conf" in m for m in missing) and any("daemons" in m for m in missing)


def test_missing_programs_name_their_package(tmp_path: Path) -> None:
    topology = load_topology(topology_path("layer2"))
    needed = required_programs(topology, [])
    missing = find_missing(needed, exists=lambda program: program not in {"arping", "ndisc6"})
    assert {(m.program, m.package) for m in missing} == {("arping", "iputils-arping"), ("ndisc6", "ndisc6")}
    assert "iputils-arping" in format_missing(missing)


def test_up_refuses_when_programs_are_missing(tmp_path: Path) -> None:
    """End to end through the CLI: with an empty PATH, `up` names the packages and creates nothing."""
    env = {**os.environ, "PATH": str(tmp_path), "IRONLB_LAB_STATE": str(tmp_path / "state")}
    result = subprocess.run(
        [sys.executable, "-m", "ironlb", "lab", "up", str(topology_path("bgp-ecmp-bird"))],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "'bird2'" in result.stderr and "'iproute2'" in result.stderr and "'iputils-ping'" in result.stderr
    assert not (tmp_path / "state" / "bgp-ecmp-bird").exists()


def test_frr_daemons_file() -> None:
    text = "# c\nzebra=yes\nbgpd=yes\nospfd=no\nbfdd = yes # x\nvtysh_enable=yes\nbgpd_options='-A 1'\n"
    assert parse_frr_daemons(text) == ("bgpd", "bfdd")
    assert "bgpd" in parse_frr_daemons((REPO_CONTAINERLAB / "bgp-ecmp" / "daemons").read_text())


FRR_SUMMARY = {
    "ipv4Unicast": {
        "as": 64512,
        "peers": {"172.30.0.11": {"state": "Established"}, "172.30.0.12": {"state": "Active"}},
    },
    "ipv6Unicast": {"peers": {"fd00:30::11": {"state": "Connect"}}},
}

BIRD_PROTOCOLS = """BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     08:10:33.995
kernel1    Kernel     master4    up     08:10:33.995
node1      BGP        ---        up     08:10:34.139  Established
  BGP state:          Established
    Neighbor address: 172.30.0.11
    Neighbor AS:      64513
node3      BGP        ---        start  08:10:33.995  Active        Socket: Connection refused
  BGP state:          Active
    Neighbor address: fd00:30::13
    Neighbor AS:      64513
"""


def test_session_parsers() -> None:
    assert parse_frr_summary(json.dumps(FRR_SUMMARY)) == {
        "172.30.0.11": "Established",
        "172.30.0.12": "Active",
        "fd00:30::11": "Connect",
    }
    assert parse_bird_protocols(BIRD_PROTOCOLS) == {"172.30.0.11": "Established", "fd00:30::13": "Active"}


@given(st.text())
def test_session_parsers_are_total(text: str) -> None:
    assert isinstance(parse_frr_summary(text), dict)
    assert isinstance(parse_bird_protocols(text), dict)


@given(
    st.recursive(st.none() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c))
)
def test_frr_parser_survives_any_json(value: object) -> None:
    assert isinstance(parse_frr_summary(json.dumps(value)), dict)


@given(st.text(alphabet=st.sampled_from("ab:/ \n-eth1"), max_size=60))
def test_topology_parser_only_raises_topology_error(endpoint: str) -> None:
    data = _valid()
    data["topology"]["links"][0]["endpoints"] = ["router:eth1", endpoint]
    try:
        topology = parse_topology(data, Path("/nonexistent/x.clab.yml"))
    except TopologyError:
        return
    accepted = topology.links[0].b  # accepted only when containerlab would accept it too
    assert accepted.node in {n.name for n in topology.nodes}
    assert 1 <= len(accepted.interface) <= 15 and " " not in accepted.interface
    assert str(accepted) == endpoint
