"""BGP passwords from basic-auth Secrets (MetalLB's passwordSecret), and why a Secret cannot give one."""

from __future__ import annotations

import base64
import ipaddress
from typing import Any, cast

from ironlb.config.model import Config, Peer, SecretRef
from ironlb.config.passwords import resolve_passwords
from ironlb.kube_types import Secret

NS = "ironlb-system"


def peer(name: str, secret: str | None = None, password: str | None = None) -> Peer:
    return Peer(
        my_asn=64513,
        peer_asn=64512,
        peer_address=ipaddress.ip_address("172.30.0.1"),
        name=name,
        password=password,
        password_secret=SecretRef(secret) if secret else None,
    )


def secret(
    name: str, password: str | None = "s3cret", type_: str = "kubernetes.io/basic-auth", **more: Any
) -> Secret:
    data = {"username": base64.b64encode(b"ignored").decode()}
    if password is not None:
        data["password"] = base64.b64encode(password.encode()).decode()
    return cast(Secret, {"metadata": {"name": name, "namespace": NS, **more}, "type": type_, "data": data})


def test_each_peer_gets_the_password_of_its_secret() -> None:
    config = Config(peers=(peer("a", "pw-a"), peer("b"), peer("c", password="inline")))
    resolved, problems = resolve_passwords(config, [secret("pw-a", "é-pass")], NS)
    assert problems == ()
    assert [p.password for p in resolved.peers] == ["é-pass", None, "inline"]


def test_a_config_without_secret_references_is_returned_as_is() -> None:
    config = Config(peers=(peer("a"),))
    assert resolve_passwords(config, [], NS) == (config, ())


def test_why_a_secret_cannot_give_a_password_named_by_peer_and_field() -> None:
    config = Config(peers=tuple(peer(n, f"pw-{n}") for n in "abcde"))
    secrets = [
        secret("pw-b", type_="Opaque"),
        secret("pw-c", password=None),
        cast(
            Secret,
            {
                "metadata": {"name": "pw-d", "namespace": NS},
                "type": "kubernetes.io/basic-auth",
                "data": {"password": "%%%"},
            },
        ),
        {**secret("pw-e"), "metadata": {"name": "pw-e", "namespace": "elsewhere"}},
    ]
    resolved, problems = resolve_passwords(config, cast(list[Secret], secrets), NS)
    assert [str(p) for p in problems] == [
        "BGPPeer ironlb-system/a: spec.passwordSecret: Secret ironlb-system/pw-a not found",
        "BGPPeer ironlb-system/b: spec.passwordSecret: "
        "Secret ironlb-system/pw-b is of type Opaque, not kubernetes.io/basic-auth",
        "BGPPeer ironlb-system/c: spec.passwordSecret: Secret ironlb-system/pw-c has no key 'password'",
        "BGPPeer ironlb-system/d: spec.passwordSecret: "
        "Secret ironlb-system/pw-d: key 'password' is not base64-encoded UTF-8 text",
        "BGPPeer ironlb-system/e: spec.passwordSecret: Secret ironlb-system/pw-e not found",
    ]
    assert all(p.password is None for p in resolved.peers)
    assert all("s3cret" not in str(p) for p in problems)
