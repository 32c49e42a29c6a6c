"""This node's BGP sessions: which peers, from which address, with which router id and BFD profile.

The ExaBGP configuration, the routes' next hop and FRR's bfdd need the same facts
about each session, so they are decided here once, as a pure function of the
config and this node, and the backends only render them:

- the peers whose node selectors pick this node, in config order, one session per
  neighbor address (when two peers select the node, the first wins and the second
  is a problem);
- the local address the session is opened from: the peer's ``source-address``, or
  the node's first address of the peer's family; it is also the routes' next hop;
- the router id: the peer's ``router-id``, or the node's first IPv4 address;
- why the node cannot open the session (no address of the family, no router id):
  such a session carries nothing and is reported;
- the peer's BFD profile, resolved by name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from ironlb.announce.inputs import NodeInfo
from ironlb.config.fields import keepalive_ignored, keepalive_message
from ironlb.config.model import BfdProfile, Config, IPAddress, Peer


@dataclass(frozen=True)
class PeerSession:
    """How this node peers with one selected peer."""

    peer: Peer
    local_address: IPAddress | None = None
    """The address the session is opened from, i.e. the next hop of its routes; None when unusable."""
    router_id: ipaddress.IPv4Address | None = None
    """None when unusable."""
    refusal: str | None = None
    """Why this node cannot open the session; None when it can."""
    bfd_profile: BfdProfile | None = None
    """The profile the peer names (bfdd runs a BFD session next to this one), if any."""

    @property
    def peer_id(self) -> str:
        return peer_id(self.peer)


def peer_id(peer: Peer) -> str:
    """The label a peer goes by in metrics, logs and ExaBGP neighbor selectors: its address."""
    return str(peer.peer_address)


def selected_peers(config: Config, node: NodeInfo, problems: list[str]) -> list[Peer]:
    """The peers that select ``node``, in config order, one per neighbor address (the first)."""
    seen: set[IPAddress] = set()
    out: list[Peer] = []
    for peer in config.peers:
        if not peer.selects(node.labels):
            continue
        if peer.peer_address in seen:
            problems.append(f"peer {peer.peer_address}: selected twice for node {node.name}; first one used")
            continue
        seen.add(peer.peer_address)
        out.append(peer)
    return out


def peer_sessions(config: Config, node: NodeInfo, problems: list[str]) -> tuple[PeerSession, ...]:
    """This node's sessions, in config order; what the user should fix goes to ``problems``."""
    profiles = {p.name: p for p in config.bfd_profiles}
    sessions: list[PeerSession] = []
    for peer in selected_peers(config, node, problems):
        session = _session(peer, node, profiles)
        if session.refusal is not None:
            problems.append(f"peer {peer.peer_address}: cannot peer from node {node.name}: {session.refusal}")
        if peer.bfd_profile is not None and session.bfd_profile is None:  # the config parser refuses this
            problems.append(f"peer {peer.peer_address}: bfd profile {peer.bfd_profile!r} does not exist")
        sessions.append(session)
    return tuple(sessions)


def _session(peer: Peer, node: NodeInfo, profiles: Mapping[str, BfdProfile]) -> PeerSession:
    version = peer.peer_address.version
    local = peer.source_address
    if local is None:
        local = next((a for a in node.addresses if a.version == version), None)
    router_id = peer.router_id
    if router_id is None:
        router_id = next((a for a in node.addresses if isinstance(a, ipaddress.IPv4Address)), None)
    bfd = profiles.get(peer.bfd_profile) if peer.bfd_profile else None
    if local is None:
        refusal = (
            f"node {node.name} has no IPv{version} address to peer from "
            f"(give the Node an IPv{version} InternalIP or set the peer's source-address)"
        )
    elif local.version != version:
        refusal = f"source-address {local} is not an IPv{version} address like the peer's"
    elif router_id is None:
        refusal = f"no router-id configured and node {node.name} has no IPv4 address to use as one"
    else:
        return PeerSession(peer, local, router_id, None, bfd)
    return PeerSession(peer, refusal=refusal, bfd_profile=bfd)


def keepalive_warnings(config: Config) -> tuple[str, ...]:
    """Peers whose ``keepalive-time`` the ExaBGP backend cannot honour.

    ExaBGP 5.0 has no keepalive setting: it sends keepalives every third of the
    *negotiated* hold time (``HoldTime.keepalive()`` in exabgp/bgp/message/open/
    holdtime.py). A keepalive-time other than hold-time/3 is accepted (MetalLB
    accepts it) but has no effect; ``ironlb validate``/``plan`` and the speaker say so.
    """
    return tuple(
        f"peers[{i}].keepalive-time: {keepalive_message(peer, 'hold-time')}"
        for i, peer in enumerate(config.peers)
        if keepalive_ignored(peer)
    )
