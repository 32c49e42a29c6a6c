"""ironlb's CRDs on the test control plane: installed once, as ``kubectl apply -k config/crd`` would.

The session's API server is shared by every test, so the CRDs are created the first time
a test asks and replaced when the files changed (same name, new schema); a test that wants
them calls :func:`install_crds` and gets back once each is ``Established``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "config" / "crd"

CONFIG_RESOURCES = (
    "ipaddresspools",
    "l2advertisements",
    "bgpadvertisements",
    "bgppeers",
    "bfdprofiles",
    "communities",
    "clusteripadvertisements",
)
"""The resources (plural names) of ironlb's config kinds, which both programs list and watch."""


def crd_documents(directory: Path = CRD_DIR) -> list[dict[str, Any]]:
    """The CRDs ``directory``'s kustomization lists, in its order."""
    listed = yaml.safe_load((directory / "kustomization.yaml").read_text())["resources"]
    return [yaml.safe_load((directory / name).read_text()) for name in listed]


def install_crds(api: Any, documents: list[dict[str, Any]] | None = None, timeout: float = 60.0) -> list[str]:
    """Create (or replace) the CRDs and wait until the API server serves each of them (``Established``,
    names accepted, and a list of the kind answers); returns their names."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    ext = client.ApiextensionsV1Api(api)
    docs = crd_documents() if documents is None else documents
    for doc in docs:
        name = doc["metadata"]["name"]
        try:
            ext.create_custom_resource_definition(doc)
        except ApiException as exc:
            if exc.status != 409:
                raise
            current = ext.read_custom_resource_definition(name)
            body = dict(
                doc, metadata=dict(doc["metadata"], resourceVersion=current.metadata.resource_version)
            )
            ext.replace_custom_resource_definition(name, body)
    deadline = time.monotonic() + timeout
    names = [doc["metadata"]["name"] for doc in docs]
    for name in names:
        _wait_served(api, ext, name, deadline, timeout)
    return names


def _wait_served(api: Any, ext: Any, name: str, deadline: float, timeout: float) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    while True:
        crd = ext.read_custom_resource_definition(name)
        conditions = {c.type: c.status for c in (crd.status.conditions or [])}
        if conditions.get("Established") == "True" and conditions.get("NamesAccepted") == "True":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"CRD {name} not established after {timeout}s: {conditions}")
        time.sleep(0.1)
    custom = client.CustomObjectsApi(api)
    while True:
        try:
            custom.list_cluster_custom_object(
                crd.spec.group, crd.spec.versions[0].name, crd.spec.names.plural, limit=1
            )
            return
        except ApiException as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
