"""bfdd configuration from the peers' ``bfd-profile``: session selection, golden file, runtime changes.

Refresh the golden file with ``IRONLB_UPDATE_GOLDEN=1 pytest tests/speaker/bfd/test_bfdd_config.py``
and review the diff. That bfdd itself accepts the rendering is checked by the
namespace test (``test_bfd_netns.py``), which runs it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ironlb.announce.bgp import decide
from ironlb.announce.inputs import AnnounceInputs, NodeInfo
from ironlb.config import parse_config
from ironlb.config.model import BfdProfile
from speaker.bfd.backend import bfdd_argv, choose_user, parse_peer_states
from speaker.bfd.config import (
    BfdDesired,
    BfdSession,
    bfd_sessions,
    render_bfdd_config,
    runtime_commands,
)
from tests.support.golden import check_golden

GOLDEN = Path(__file__).with_name("golden")

CONFIG = """
peers:
- {peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, bfd-profile: fast}
- {peer-address: 172.30.0.2, peer-asn: 64512, my-asn: 64513}
- {peer-address: 10.9.0.1, peer-asn: 64514, my-asn: 64513, ebgp-multihop: true, bfd-profile: full1,
   source-address: 172.30.0.111}
- {peer-address: "fd00:30::1", peer-asn: 64512, my-asn: 64513, bfd-profile: fast}
- peer-address: 172.30.0.9
  peer-asn: 64512
  my-asn: 64513
  bfd-profile: fast
  node-selectors: [{match-labels: {rack: b}}]
- {peer-address: 172.30.0.1, peer-asn: 64999, my-asn: 64513, bfd-profile: full1,
   node-selectors: [{match-labels: {rack: a}}]}
bfd-profiles:
- {name: fast, receive-interval: 100, transmit-interval: 100, detect-multiplier: 3}
- {name: full1, receive-interval: 179, transmit-interval: 180, echo-interval: 62, echo-mode: true,
   passive-mode: true, minimum-ttl: 250}
- {name: unused}
"""

NODE = NodeInfo(
    name="n1",
    labels={"rack": "a"},
    addresses=(ipaddress.ip_address("172.30.0.11"), ipaddress.ip_address("fd00:30::11")),
)


def inputs(config: str = CONFIG, node: NodeInfo = NODE) -> AnnounceInputs:
    return AnnounceInputs(node=node.name, config=parse_config(config), nodes={node.name: node})


def desired(config: str = CONFIG, node: NodeInfo = NODE) -> BfdDesired:
    out, problems = bfd_sessions(inputs(config, node))
    assert problems == ()
    return out


def test_sessions_follow_the_bgp_peer_selection() -> None:
    d = desired()
    assert [(str(s.peer_address), str(s.local_address), s.multihop, s.profile) for s in d.sessions] == [
        ("10.9.0.1", "172.30.0.111", True, "full1"),  # ebgp-multihop -> multihop BFD, source-address
        ("172.30.0.1", "172.30.0.11", False, "fast"),  # the first peer with this address wins
        ("fd00:30::1", "fd00:30::11", False, "fast"),  # IPv6 session from the node's IPv6 address
    ]
    # 172.30.0.2 names no profile; 172.30.0.9 selects rack b only; "unused" is not rendered.
    assert [p.name for p in d.profiles] == ["fast", "full1"]


def test_bfd_sessions_are_the_bgp_decisions_sessions() -> None:
    """Same peers, same local addresses as the BGP sessions: the BGP decision says, bfdd renders."""
    decision = decide(inputs())
    hops = {pr.peer.peer_address: pr.next_hop for pr in decision.peers if pr.peer.bfd_profile}
    assert {s.peer_address: s.local_address for s in desired().sessions} == hops


def test_node_in_the_selected_rack_gets_that_peer() -> None:
    node_b = dataclasses.replace(NODE, labels={"rack": "b"})
    assert "172.30.0.9" in {str(s.peer_address) for s in desired(node=node_b).sessions}


def test_no_bfd_without_profiles_or_without_the_node() -> None:
    plain = "peers:\n- {peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513}\n"
    assert not desired(plain)
    missing = AnnounceInputs(node="gone", config=parse_config(CONFIG), nodes={"n1": NODE})
    assert bfd_sessions(missing) == (BfdDesired(), ())


def test_a_peer_without_an_address_of_its_family_is_a_problem_not_a_crash() -> None:
    v4only = NodeInfo(name="n1", labels={"rack": "a"}, addresses=(ipaddress.ip_address("172.30.0.11"),))
    out, problems = bfd_sessions(inputs(node=v4only))
    assert "fd00:30::1" not in {str(s.peer_address) for s in out.sessions}
    assert any("fd00:30::1" in p for p in problems)


def test_rendered_config_matches_golden() -> None:
    check_golden(GOLDEN / "bfdd.conf", render_bfdd_config(desired()))


def test_rendering_is_deterministic_whatever_the_peer_order() -> None:
    cfg = parse_config(CONFIG)
    reordered = dataclasses.replace(cfg, peers=tuple(reversed(cfg.peers[:5])) + cfg.peers[5:])
    out, _ = bfd_sessions(AnnounceInputs(node="n1", config=reordered, nodes={"n1": NODE}))
    assert render_bfdd_config(out) == render_bfdd_config(desired())


def test_timer_change_touches_the_profile_only() -> None:
    before = desired()
    after = desired(
        CONFIG.replace(
            "receive-interval: 100, transmit-interval: 100", "receive-interval: 300, transmit-interval: 250"
        )
    )
    cmds = runtime_commands(before, after)
    assert cmds[0] == "bfd" and cmds[-1] == "exit"
    assert "profile fast" in cmds and "receive-interval 300" in cmds and "transmit-interval 250" in cmds
    assert not any(c.startswith(("peer ", "no peer")) for c in cmds), cmds  # sessions stay as they are
    assert "profile full1" not in cmds


def test_unchanged_state_sends_nothing() -> None:
    assert runtime_commands(desired(), desired()) == []


def test_removed_and_added_sessions_and_profiles() -> None:
    before = desired()
    only_fast = """
peers:
- {peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, bfd-profile: fast}
- {peer-address: 172.30.0.3, peer-asn: 64512, my-asn: 64513, bfd-profile: fast}
bfd-profiles:
- {name: fast, receive-interval: 100, transmit-interval: 100, detect-multiplier: 3}
"""
    cmds = runtime_commands(before, desired(only_fast))
    assert cmds == [
        "bfd",
        "no peer 10.9.0.1 multihop local-address 172.30.0.111",
        "no peer fd00:30::1 local-address fd00:30::11",
        "peer 172.30.0.3 local-address 172.30.0.11",
        "profile fast",
        "exit",
        "no profile full1",
        "exit",
    ]


def test_switching_a_session_to_another_profile_keeps_the_session() -> None:
    before = desired()
    swapped = CONFIG.replace(
        "{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, bfd-profile: fast}",
        "{peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, bfd-profile: full1}",
    )
    cmds = runtime_commands(before, desired(swapped))
    assert cmds == ["bfd", "peer 172.30.0.1 local-address 172.30.0.11", "profile full1", "exit", "exit"]


PROFILE = st.builds(
    BfdProfile,
    name=st.sampled_from(["a", "b", "c"]),
    receive_interval=st.integers(10, 60000),
    transmit_interval=st.integers(10, 60000),
    detect_multiplier=st.integers(2, 255),
)
SESSION = st.builds(
    BfdSession,
    peer_address=st.sampled_from([ipaddress.ip_address(a) for a in ("172.30.0.1", "172.30.0.2", "fd00::1")]),
    local_address=st.sampled_from([ipaddress.ip_address(a) for a in ("172.30.0.11", "172.30.0.12")]),
    multihop=st.booleans(),
    profile=st.sampled_from(["a", "b", "c"]),
)
STATE = st.builds(
    lambda ps, ss: BfdDesired(
        tuple({p.name: p for p in ps}.values()), tuple({s.key: s for s in ss}.values())
    ),
    st.lists(PROFILE, max_size=3),
    st.lists(SESSION, max_size=4),
)


@given(STATE, STATE)
def test_runtime_commands_name_exactly_the_changed_sessions(old: BfdDesired, new: BfdDesired) -> None:
    cmds = runtime_commands(old, new)
    old_s = {s.key: s for s in old.sessions}
    new_s = {s.key: s for s in new.sessions}
    for key, s in new_s.items():
        assert (s.peer_line() in cmds) == (old_s.get(key) != s)
    for key, s in old_s.items():
        assert (f"no {s.peer_line()}" in cmds) == (key not in new_s)
    assert (cmds == []) == (
        old_s == new_s and {p.name: p for p in old.profiles} == {p.name: p for p in new.profiles}
    )


def test_bfdd_runs_with_every_path_in_its_workdir(tmp_path: Path) -> None:
    argv = bfdd_argv("/usr/lib/frr/bfdd", tmp_path)
    paths = [a for a in argv[1:] if a.startswith("/")]
    assert paths and all(a.startswith(str(tmp_path)) for a in paths)
    assert argv[argv.index("-P") + 1] == "0"  # no TCP vty
    assert "-u" not in argv  # as root: FRR switches to its frr user itself
    root = bfdd_argv("/usr/lib/frr/bfdd", tmp_path, "root")
    assert root[-4:] == ["-u", "root", "-g", "root"]


def test_bfdd_stays_root_in_the_image_and_switches_to_frr_elsewhere() -> None:
    # image: root is in frrvty (the container cannot setuid or chown)
    assert choose_user(0, root_in_vty_group=True, frr_user_exists=True) == "root"
    # a machine with the frr package: FRR's usual switch to the frr user
    assert choose_user(0, root_in_vty_group=False, frr_user_exists=True) == "frr"
    assert choose_user(0, root_in_vty_group=False, frr_user_exists=False) == "root"
    assert choose_user(1000, root_in_vty_group=True, frr_user_exists=True) == "caller"


def test_peer_states_from_bfdd_json() -> None:
    text = '[{"peer": "172.30.0.1", "status": "up"}, {"peer": "fd00::1", "status": "down"}, {"x": 1}]'
    assert parse_peer_states(text) == {"172.30.0.1": "up", "fd00::1": "down"}
    assert parse_peer_states("% no such daemon") == {}
    assert parse_peer_states('{"peer": "x"}') == {}
