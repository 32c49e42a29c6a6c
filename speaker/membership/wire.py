"""Membership messages on the wire: compact JSON followed by an HMAC-SHA256 tag.

Every datagram is authenticated with a key shared by all speakers (a file
mounted from a Secret). A datagram whose tag does not verify is dropped before
its body is even parsed; one that verifies but does not decode into a valid
message is dropped as malformed. Hand-written because it is a dozen lines
around ``hmac`` and ``json``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal

MessageType = Literal["ping", "ack", "ping-req", "req-ack", "leave"]
MemberStatus = Literal["alive", "suspect", "dead", "left"]
MESSAGE_TYPES: frozenset[str] = frozenset({"ping", "ack", "ping-req", "req-ack", "leave"})
STATUSES: frozenset[str] = frozenset({"alive", "suspect", "dead", "left"})
TAG_LEN = 32
MAX_DATAGRAM = 8192
MAX_NAME = 253


@dataclass(frozen=True)
class Gossip:
    name: str
    status: MemberStatus
    incarnation: int


@dataclass(frozen=True)
class Message:
    kind: MessageType
    sender: str
    incarnation: int
    seq: int = 0
    target: str = ""
    gossip: tuple[Gossip, ...] = ()
    failed: bool = False
    """On a ``req-ack``: the helper's own ping of the target went unanswered (Lifeguard's nack).

    Sent as an extra key that older speakers ignore, so to them a nack is one more
    req-ack (harmless) rather than an unknown message type (dropped as malformed).
    """


class BadMac(Exception):
    """The datagram is not authenticated by our key."""


class Malformed(Exception):
    """Authenticated, but not a valid message."""


def load_key(path: str) -> bytes:
    with open(path, "rb") as f:
        key = f.read().strip()
    if len(key) < 16:
        raise ValueError(f"{path}: membership key must be at least 16 bytes")
    return key


def encode(msg: Message, key: bytes) -> bytes:
    raw: dict[str, object] = {
        "t": msg.kind,
        "f": msg.sender,
        "i": msg.incarnation,
        "s": msg.seq,
        "x": msg.target,
        "g": [[g.name, g.status, g.incarnation] for g in msg.gossip],
    }
    if msg.failed:
        raw["n"] = 1
    body = json.dumps(raw, separators=(",", ":")).encode()
    return body + hmac.new(key, body, hashlib.sha256).digest()


def _int(v: object) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v >= 2**63:
        raise Malformed("bad integer")
    return v


def _name(v: object, *, empty: bool = False) -> str:
    if not isinstance(v, str) or len(v) > MAX_NAME or (not v and not empty):
        raise Malformed("bad name")
    return v


def decode(data: bytes, key: bytes) -> Message:
    """Verify and decode one datagram; raises ``BadMac`` or ``Malformed``."""
    if len(data) < TAG_LEN or len(data) > MAX_DATAGRAM:
        raise BadMac("wrong size")
    body, tag = data[:-TAG_LEN], data[-TAG_LEN:]
    if not hmac.compare_digest(tag, hmac.new(key, body, hashlib.sha256).digest()):
        raise BadMac("tag does not verify")
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Malformed("not JSON") from exc
    if not isinstance(raw, dict) or raw.get("t") not in MESSAGE_TYPES:
        raise Malformed("bad type")
    gossip = raw.get("g", [])
    if not isinstance(gossip, list) or len(gossip) > 64:
        raise Malformed("bad gossip")
    items: list[Gossip] = []
    for g in gossip:
        if not isinstance(g, list) or len(g) != 3 or g[1] not in STATUSES:
            raise Malformed("bad gossip entry")
        items.append(Gossip(_name(g[0]), g[1], _int(g[2])))
    return Message(
        kind=raw["t"],
        sender=_name(raw.get("f")),
        incarnation=_int(raw.get("i")),
        seq=_int(raw.get("s", 0)),
        target=_name(raw.get("x", ""), empty=True),
        gossip=tuple(items),
        failed=raw.get("n", 0) == 1,
    )
