"""A kubeconfig file pointing the real client (or kubectl) at the double."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_kubeconfig(path: str | Path, server_url: str, *, token: str | None = None) -> Path:
    user: dict[str, str] = {"token": token} if token else {}
    cluster: dict[str, str] = {"server": server_url}
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "double", "cluster": cluster}],
        "users": [{"name": "double-user", "user": user}],
        "contexts": [
            {
                "name": "double",
                "context": {"cluster": "double", "user": "double-user", "namespace": "default"},
            }
        ],
        "current-context": "double",
    }
    out = Path(path)
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out
