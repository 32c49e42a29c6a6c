"""FRR bfdd configuration for this node's BGP peers that name a ``bfd-profile`` (pure).

Why: ExaBGP runs no BFD, so a node that dies without closing its TCP sessions
stays in the router's FIB until the BGP hold time expires (3 s at the least).
The speaker runs FRR's ``bfdd`` next to ExaBGP for peers with a ``bfd-profile``
(MetalLB's field; MetalLB's FRR mode does the same with the same FRR daemon),
and the router's BFD session takes the BGP session -- and the node's routes --
down after detect-multiplier x interval.

This module renders, without I/O: which BFD sessions this node wants
(:func:`bfd_sessions`, from the BGP decision's sessions), the bfdd
configuration file (:func:`render_bfdd_config`; deterministic, checked by a
golden file) and the vtysh commands that move a running bfdd from one desired
state to the next without touching unchanged sessions
(:func:`runtime_commands`). Hand-written because FRR ships no writer for its
configuration language; ``frr-reload.py`` needs a full FRR install layout
(``/etc/frr``, vtysh.conf, every daemon) that the speaker image does not have.

Mapping of MetalLB's profile fields (FRR 8.4 ``bfd`` ``profile`` node):
``receive-interval``, ``transmit-interval``, ``detect-multiplier``,
``echo-interval``, ``echo-mode``, ``passive-mode``, ``minimum-ttl`` (FRR uses
it for multihop sessions only). A peer with ``ebgp-multihop`` gets a multihop
BFD session (RFC 5883); others single-hop (RFC 5881).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ironlb.announce.bgp_sessions import peer_sessions
from ironlb.announce.inputs import AnnounceInputs
from ironlb.config.model import BfdProfile, IPAddress

_NAME = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class BfdConfigError(ValueError):
    """A profile name FRR's command language cannot carry safely."""


@dataclass(frozen=True, order=True)
class BfdSession:
    """One BFD session towards a BGP peer, keyed like bfdd keys it."""

    peer_address: IPAddress
    local_address: IPAddress
    multihop: bool
    profile: str

    @property
    def key(self) -> tuple[IPAddress, IPAddress, bool]:
        return (self.peer_address, self.local_address, self.multihop)

    def peer_line(self) -> str:
        hop = " multihop" if self.multihop else ""
        return f"peer {self.peer_address}{hop} local-address {self.local_address}"


@dataclass(frozen=True)
class BfdDesired:
    """Everything bfdd should run: the profiles in use and the sessions."""

    profiles: tuple[BfdProfile, ...] = ()
    sessions: tuple[BfdSession, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sessions)


def bfd_sessions(inputs: AnnounceInputs) -> tuple[BfdDesired, tuple[str, ...]]:
    """The BFD sessions of this node (its BGP sessions with a ``bfd-profile``) and problems found.

    The sessions, their local addresses and profiles are the BGP decision's
    (:func:`~ironlb.announce.bgp_sessions.peer_sessions`), which reports what is wrong
    with them; here only what bfdd adds.
    """
    node = inputs.nodes.get(inputs.node)
    if node is None:
        return BfdDesired(), ()
    sessions: list[BfdSession] = []
    used: dict[str, BfdProfile] = {}
    problems: list[str] = []
    for session in peer_sessions(inputs.config, node, []):  # the BGP decision reports its problems
        profile, peer = session.bfd_profile, session.peer
        if profile is None:
            continue
        if not _NAME.match(profile.name):
            problems.append(f"peer {peer.peer_address}: bfd profile name {profile.name!r} not usable by bfdd")
            continue
        if session.local_address is None:
            problems.append(f"no BFD: peer {peer.peer_address}: {session.refusal}")
            continue
        used[profile.name] = profile
        sessions.append(
            BfdSession(peer.peer_address, session.local_address, peer.ebgp_multihop, profile.name)
        )
    ordered = tuple(sorted(used.values(), key=lambda p: p.name))
    return BfdDesired(ordered, tuple(sorted(sessions, key=_session_order))), tuple(problems)


def _session_order(s: BfdSession) -> tuple[int, int, int, int]:
    return (s.peer_address.version, int(s.peer_address), s.local_address.version, int(s.local_address))


def profile_lines(p: BfdProfile) -> list[str]:
    """The settings of a profile, every one explicit (so re-applying resets any drift)."""
    if not _NAME.match(p.name):
        raise BfdConfigError(f"bfd profile name {p.name!r} not usable by bfdd")
    return [
        f"receive-interval {p.receive_interval}",
        f"transmit-interval {p.transmit_interval}",
        f"detect-multiplier {p.detect_multiplier}",
        f"echo-interval {p.echo_interval}",
        "echo-mode" if p.echo_mode else "no echo-mode",
        "passive-mode" if p.passive_mode else "no passive-mode",
        f"minimum-ttl {p.minimum_ttl}",
    ]


def render_bfdd_config(desired: BfdDesired) -> str:
    """bfdd's whole configuration file (read at every start; deterministic)."""
    lines = ["! Generated by ironlb-speaker; do not edit: rewritten on every peer change.", "bfd"]
    for p in desired.profiles:
        lines += [f" profile {p.name}", *(f"  {line}" for line in profile_lines(p)), " exit", " !"]
    for s in desired.sessions:
        lines += [f" {s.peer_line()}", f"  profile {s.profile}", " exit", " !"]
    lines += ["exit", ""]
    return "\n".join(lines)


def runtime_commands(old: BfdDesired, new: BfdDesired) -> list[str]:
    """vtysh commands (after ``configure terminal``) that turn a bfdd running ``old`` into ``new``.

    Unchanged sessions are not mentioned, so they stay up. A changed profile is
    re-applied in place (bfdd renegotiates timers with a Poll sequence, RFC 5880
    6.8.3, without taking the session down); a session whose key (addresses,
    hop mode) changed is removed and added, which bfdd cannot do otherwise.
    Empty when nothing changed.
    """
    old_profiles = {p.name: p for p in old.profiles}
    new_profiles = {p.name: p for p in new.profiles}
    old_sessions = {s.key: s for s in old.sessions}
    new_sessions = {s.key: s for s in new.sessions}
    body: list[str] = []
    for name, p in new_profiles.items():
        if old_profiles.get(name) != p:
            body += [f"profile {name}", *profile_lines(p), "exit"]
    for key, s in old_sessions.items():
        if key not in new_sessions:
            body.append(f"no {s.peer_line()}")
    for key, s in new_sessions.items():
        if old_sessions.get(key) != s:
            body += [s.peer_line(), f"profile {s.profile}", "exit"]
    for name in old_profiles:
        if name not in new_profiles:
            body.append(f"no profile {name}")
    return ["bfd", *body, "exit"] if body else []
