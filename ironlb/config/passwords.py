"""BGP passwords from Secrets: a peer's ``passwordSecret`` turned into the password its session uses.

MetalLB's rule, kept: the Secret is in ironlb's namespace, of type ``kubernetes.io/basic-auth``,
and the password is its ``password`` key. Only the speaker reads Secrets (the controller needs no
access to them), so this runs there, after the config is loaded: ``resolve_passwords`` fills
each such peer's ``password`` from the Secrets it is given, or says, per peer, why it cannot
(no such Secret, another type, no ``password`` key). Those are errors of the config as this
speaker sees it: it keeps its last good config meanwhile, so a peer never opens its session
without the password it should have, and a deleted Secret does not tear an established session
down. Pure: Secrets in, config and problems out; the password never appears in a message.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import replace

from ironlb.config.model import Config, Peer
from ironlb.config.result import ConfigProblem, ObjectRef
from ironlb.kube_types import Secret

BASIC_AUTH = "kubernetes.io/basic-auth"
PASSWORD_KEY = "password"
FIELD = "spec.passwordSecret"


def secret_password(secret: Secret | None, name: str, namespace: str) -> tuple[str | None, str | None]:
    """(the password, None), or (None, why the Secret ``namespace/name`` cannot give one)."""
    what = f"Secret {namespace}/{name}"
    if secret is None:
        return None, f"{what} not found"
    kind = secret.get("type") or "Opaque"
    if kind != BASIC_AUTH:
        return None, f"{what} is of type {kind}, not {BASIC_AUTH}"
    value = (secret.get("data") or {}).get(PASSWORD_KEY)
    if value is None:
        return None, f"{what} has no key {PASSWORD_KEY!r}"
    try:
        return base64.b64decode(value, validate=True).decode(), None
    except (binascii.Error, UnicodeDecodeError):
        return None, f"{what}: key {PASSWORD_KEY!r} is not base64-encoded UTF-8 text"


def resolve_passwords(
    config: Config, secrets: Iterable[Secret], namespace: str
) -> tuple[Config, tuple[ConfigProblem, ...]]:
    """``config`` with every ``passwordSecret`` peer's password read from ``secrets`` (those of
    ``namespace``), and the problems of the peers whose Secret cannot give one."""
    if not any(p.password_secret is not None for p in config.peers):
        return config, ()
    by_name = {
        (s.get("metadata") or {}).get("name"): s
        for s in secrets
        if (s.get("metadata") or {}).get("namespace", namespace) == namespace
    }
    problems: list[ConfigProblem] = []
    peers: list[Peer] = []
    for peer in config.peers:
        ref = peer.password_secret
        if ref is None:
            peers.append(peer)
            continue
        password, problem = secret_password(by_name.get(ref.name), ref.name, namespace)
        if problem is not None:
            problems.append(ConfigProblem(ObjectRef("BGPPeer", namespace, peer.name), FIELD, problem))
        peers.append(peer if password is None else replace(peer, password=password))
    return replace(config, peers=tuple(peers)), tuple(problems)
