"""Secrets in a manifest directory: a BGPPeer's ``passwordSecret`` works without an API server too.

The speaker's manifest mode judges its config with the Secrets the directory holds in ironlb's
namespace, ``stringData`` read as the API server would store it.
"""

from __future__ import annotations

from pathlib import Path

from ironlb.cluster.manifests import ManifestSource
from ironlb.programs.configstate import read_config

RESOURCES = """\
apiVersion: ironlb.io/v1beta1
kind: IPAddressPool
metadata: {name: main, namespace: ironlb-system}
spec: {addresses: [192.0.2.0/28]}
---
apiVersion: ironlb.io/v1beta1
kind: BGPPeer
metadata: {name: edge, namespace: ironlb-system}
spec: {myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.254, passwordSecret: {name: bgp-edge}}
"""


def secret(namespace: str) -> str:
    return f"""\
apiVersion: v1
kind: Secret
metadata: {{name: bgp-edge, namespace: {namespace}}}
type: kubernetes.io/basic-auth
stringData: {{password: s3cret}}
"""


def reading(tmp_path: Path) -> tuple[object, tuple[str, ...]]:
    snap = ManifestSource([tmp_path]).snapshot()
    got = read_config(
        snap.config_map, snap.config_resources, namespace="ironlb-system", name="ironlb", secrets=snap.secrets
    )
    password = got.config.peers[0].password if got.config is not None else None
    return password, tuple(p.in_object() for p in got.problems)


def test_a_password_secret_is_read_from_the_directory(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(RESOURCES)
    assert reading(tmp_path) == (None, ("spec.passwordSecret: Secret ironlb-system/bgp-edge not found",))
    (tmp_path / "other.yaml").write_text(secret("default"))  # another namespace's Secret: not this one
    assert reading(tmp_path)[0] is None
    (tmp_path / "secret.yaml").write_text(secret("ironlb-system"))
    assert reading(tmp_path) == ("s3cret", ())
