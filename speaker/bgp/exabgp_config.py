"""The ExaBGP configuration file, rendered from this node's BGP sessions (pure).

ExaBGP cannot add neighbors through its API, so the set of sessions lives in its
configuration file: the backend renders it from ironlb's config, writes it, and
asks ExaBGP to ``reload`` when it changes. ExaBGP compares old and new neighbor
definitions and only resets sessions whose definition changed, so rendering must
be deterministic (same input, byte-identical text).

Hand-written because ExaBGP offers no writer for its own format; the text is
checked by golden files and by ``exabgp validate`` in the tests.

Notes on the mapping (ExaBGP 5.0.x):

- ``keepalive-time`` has no ExaBGP setting: ExaBGP sends keepalives at a third of
  the negotiated hold time (``HoldTime.keepalive()``, verified in 5.0.15). Other
  values are reported by :func:`ironlb.announce.bgp_sessions.keepalive_warnings`
  (``ironlb validate``/``plan``, the speaker's log) rather than silently ignored.
- Which peers, the local address, the router id and whether the node can peer at
  all are decided once (:mod:`ironlb.announce.bgp_sessions`, carried by the BGP
  decision); rendering only writes them.
- The TCP MD5 password is written base64-encoded (``md5-base64 true``) so that no
  character of it can break the file's syntax; the file is mode 0600.
- ``ebgp-multihop`` becomes ``outgoing-ttl 255``.
- Only the family of the session is negotiated (see ``ironlb.announce.bgp``).
- ``manual-eor``: the driver sends End-of-RIB itself once it has replayed the
  routes, so a graceful-restart helper keeps its stale copies until then.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from ironlb.announce.bgp_sessions import PeerSession
from ironlb.config.model import IPAddress

PROCESS_NAME = "ironlb"
DEFAULT_GRACEFUL_RESTART = 120


class RenderError(ValueError):
    """A peer cannot be rendered for this node (e.g. no address of the session's family)."""


@dataclass(frozen=True)
class NeighborSettings:
    """One ExaBGP ``neighbor`` block, fully resolved for this node."""

    peer_address: IPAddress
    peer_as: int
    local_as: int
    router_id: ipaddress.IPv4Address
    local_address: IPAddress
    peer_port: int = 179
    hold_time: int = 90
    md5_password: str | None = field(default=None, repr=False)
    multihop: bool = False
    graceful_restart: int | None = DEFAULT_GRACEFUL_RESTART

    @property
    def family(self) -> str:
        return "ipv4 unicast" if self.peer_address.version == 4 else "ipv6 unicast"


def neighbor_settings(
    session: PeerSession,
    *,
    password: str | None = None,
    graceful_restart: int | None = DEFAULT_GRACEFUL_RESTART,
) -> NeighborSettings:
    """The ``neighbor`` block of a session the decision found usable.

    ``password`` (read by the caller from a mounted Secret file) is used when the
    config itself carries none.
    """
    peer = session.peer
    if session.refusal is not None or session.local_address is None or session.router_id is None:
        raise RenderError(f"peer {peer.peer_address}: {session.refusal}")
    hold = int(peer.hold_time)
    if hold != 0:
        hold = max(hold, 3)
    return NeighborSettings(
        peer_address=peer.peer_address,
        peer_as=peer.peer_asn,
        local_as=peer.my_asn,
        router_id=session.router_id,
        local_address=session.local_address,
        peer_port=peer.peer_port,
        hold_time=hold,
        md5_password=peer.password or password,
        multihop=peer.ebgp_multihop,
        graceful_restart=graceful_restart,
    )


def _neighbor_block(n: NeighborSettings) -> list[str]:
    lines = [
        f"neighbor {n.peer_address} {{",
        f"    router-id {n.router_id};",
        f"    local-address {n.local_address};",
        f"    local-as {n.local_as};",
        f"    peer-as {n.peer_as};",
        f"    hold-time {n.hold_time};",
        "    manual-eor true;",
    ]
    if n.peer_port != 179:
        lines.append(f"    connect {n.peer_port};")
    if n.md5_password:
        encoded = base64.b64encode(n.md5_password.encode()).decode()
        lines += ["    md5-base64 true;", f'    md5-password "{encoded}";']
    if n.multihop:
        lines.append("    outgoing-ttl 255;")
    lines += ["    capability {"]
    if n.graceful_restart:
        lines.append(f"        graceful-restart {n.graceful_restart};")
    lines += [
        "    }",
        "    family {",
        f"        {n.family};",
        "    }",
        "    api {",
        f"        processes [ {PROCESS_NAME} ];",
        "        neighbor-changes;",
        "    }",
        "}",
    ]
    return lines


def _quote_argument(arg: str) -> str:
    if any(c in arg for c in "\"';{}[]\n\r\t ") or not arg:
        raise RenderError(f"refusing process argument with special characters: {arg!r}")
    return arg


def render_config(neighbors: Sequence[NeighborSettings], relay_command: Sequence[str]) -> str:
    """The whole configuration file: the API process, then one neighbor block per session (sorted)."""
    run = " ".join(_quote_argument(a) for a in relay_command)
    lines = [
        "# Generated by ironlb-speaker; do not edit: rewritten on every peer change.",
        f"process {PROCESS_NAME} {{",
        f"    run {run};",
        "    encoder json;",
        "}",
        "",
    ]
    for n in sorted(neighbors, key=lambda n: (n.peer_address.version, n.peer_address)):
        lines += [*_neighbor_block(n), ""]
    return "\n".join(lines)
