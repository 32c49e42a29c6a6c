"""Reading a running cluster once, for ``ironlb plan --kubeconfig`` and ``ironlb status``.

The commands need what the programs read (Services with their status, EndpointSlices,
Nodes, Namespaces, the config in force) at one moment, not a watch: each kind is one paged
LIST (through ``ironlb.kube.rest``, raw JSON), the kinds in parallel, the ConfigMap one GET
by name (``get`` on ``configmaps/<name>`` is all ``ironlb-viewer`` grants there).
``read_live_inputs`` is the one function that gathers them, with the config resources
(``ironlb.io/v1beta1`` IPAddressPool, L2Advertisement...) in ironlb's namespace: the config
in force is ``load_config`` of the ConfigMap and those, as the programs read it. A cluster
without ironlb's CRDs (404) simply has none.

A command is run by a person: nothing is retried for minutes. A failure becomes
``LiveReadError`` with one sentence naming the server, what was refused or why it could not
be reached, and what to change (``ironlb.kube.access.describe``, the programs' wording).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from kubernetes import config
from kubernetes.client.exceptions import ApiException

from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config.resources.schema import API_VERSION, GROUP, VERSION, plural
from ironlb.kube.access import ClientIdentity, classify, describe, outage, request_info
from ironlb.kube.client import CredentialsError, ObservedApiClient, health_of, make_api_client
from ironlb.kube.errors import CALL_ERRORS
from ironlb.kube.rest import Rest
from ironlb.kube.source import CONFIG_KINDS
from ironlb.kube_types import ConfigMap, EndpointSlice, Namespace, Node, Service

PROGRAM = "ironlb"
VIEWER_HINT = "config/viewer (ClusterRole and Role ironlb-viewer)"
PAGE = 5000  # a few MB a page: fewer round trips for 10,000 objects
TIMEOUT = 30.0


class LiveReadError(Exception):
    """The cluster could not be read; the message says why and what to do (exit status 2)."""


def cli_client(kubeconfig: str | None = None, *, context: str | None = None) -> ObservedApiClient:
    """A client as kubectl picks its credentials: ``--kubeconfig``, else ``$KUBECONFIG``, else
    ``~/.kube/config`` when it exists, else the Pod's ServiceAccount (in-cluster)."""
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path is None:
        default = Path.home() / ".kube" / "config"
        if default.is_file():
            path = str(default)
        elif not os.environ.get("KUBERNETES_SERVICE_HOST"):
            raise LiveReadError(
                "no cluster to read: pass --kubeconfig FILE (or set KUBECONFIG), or run inside a Pod"
            )
    try:
        return make_api_client(path, context=context, rbac_hint=VIEWER_HINT, program=PROGRAM)
    except CredentialsError as exc:
        raise LiveReadError(str(exc)) from None
    except (config.ConfigException, OSError, ValueError, TypeError) as exc:
        where = path or "the in-cluster ServiceAccount"
        raise LiveReadError(f"cannot use {where}: {exc}") from None


def _failure(api: Any, method: str, path: str, exc: BaseException) -> LiveReadError:
    """One sentence for a request that failed."""
    health = health_of(api)
    identity = health.identity if health is not None else ClientIdentity(str(api.configuration.host))
    problem = classify(exc, request_info(method, f"{identity.server}{path}"))
    if problem is not None:
        text = describe(problem, identity)
        return LiveReadError(text.removesuffix("; retrying with backoff, changing nothing meanwhile"))
    down = outage(exc)
    if down is not None:
        return LiveReadError(f"cannot reach the Kubernetes API server {identity.server}: {down}")
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None) or type(exc).__name__
    return LiveReadError(f"the Kubernetes API server {identity.server} answered {path}: {status} {reason}")


class Reader:
    """GETs and paged LISTs of raw objects, failures turned into ``LiveReadError``."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.rest = Rest(api)

    def _call(self, endpoint: str, path: str, *, missing_ok: bool = False, **kw: Any) -> Any:
        try:
            return self.rest.call(endpoint, timeout=TIMEOUT, **kw)
        except ApiException as exc:
            if missing_ok and exc.status == 404:
                return None
            raise _failure(self.api, "GET", path, exc) from None
        except CALL_ERRORS as exc:
            raise _failure(self.api, "GET", path, exc) from None

    def get(self, endpoint: str, path: str, *, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or ``None`` when it does not exist (404)."""
        try:
            resp = self.rest.call(endpoint, namespace=namespace, name=name, timeout=TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise _failure(self.api, "GET", path, exc) from None
        except CALL_ERRORS as exc:
            raise _failure(self.api, "GET", path, exc) from None
        out: dict[str, Any] = json.loads(resp.data)
        return out

    def list(
        self,
        endpoint: str,
        path: str,
        *,
        kind: str,
        api_version: str,
        namespace: str | None = None,
        query: Mapping[str, str] | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        missing_ok: bool = False,
    ) -> list[dict[str, Any]]:
        """Every object, page by page (``kind``/``apiVersion`` filled in, as a single GET has them).

        ``missing_ok``: a 404 (the kind's CRD is not installed) is no objects, not an error."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            q = {"limit": str(PAGE), **(query or {}), **({"continue": token} if token else {})}
            resp = self._call(endpoint, path, namespace=namespace, query=q, missing_ok=missing_ok)
            if resp is None:
                return items
            body = json.loads(resp.data)
            for obj in body.get("items") or []:
                obj.setdefault("kind", kind)
                obj.setdefault("apiVersion", api_version)
                items.append(transform(obj) if transform else obj)
            token = (body.get("metadata") or {}).get("continue") or ""
            if not token:
                return items


@dataclass(frozen=True)
class LiveInputs:
    """What the cluster shows: the decisions' inputs, and where the config came from."""

    snapshot: ClusterSnapshot
    server: str
    config_namespace: str
    config_name: str


def _slim_slice(obj: dict[str, Any]) -> dict[str, Any]:
    """What the decisions read of an EndpointSlice (ready endpoints per node); the rest is dropped."""
    endpoints = [
        {k: e[k] for k in ("nodeName", "conditions") if k in e}
        for e in obj.get("endpoints") or []
        if isinstance(e, dict)
    ]
    meta = obj.get("metadata") or {}
    return {
        "kind": "EndpointSlice",
        "apiVersion": "discovery.k8s.io/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "labels") if k in meta},
        "endpoints": endpoints,
    }


def read_config_resources(reader: Reader, namespace: str) -> list[dict[str, Any]]:
    """Every ``ironlb.io`` config object in ironlb's namespace (none when the CRDs are not installed)."""
    out: list[dict[str, Any]] = []
    for kind, endpoint in CONFIG_KINDS.items():
        out += reader.list(
            endpoint,
            f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural(kind)}",
            kind=kind,
            api_version=API_VERSION,
            namespace=namespace,
            missing_ok=True,
        )
    return out


def read_live_inputs(api: Any, *, namespace: str, configmap: str) -> LiveInputs:
    """Services, EndpointSlices, Nodes, Namespaces, the ConfigMap ``namespace/configmap`` and the
    ``ironlb.io`` config resources in ``namespace``."""
    reader = Reader(api)
    with ThreadPoolExecutor(5) as pool:
        resources = pool.submit(read_config_resources, reader, namespace)
        services = pool.submit(
            reader.list,
            "list_service_for_all_namespaces",
            "/api/v1/services",
            kind="Service",
            api_version="v1",
        )
        slices = pool.submit(
            reader.list,
            "list_endpoint_slice_for_all_namespaces",
            "/apis/discovery.k8s.io/v1/endpointslices",
            kind="EndpointSlice",
            api_version="discovery.k8s.io/v1",
            transform=_slim_slice,
        )
        nodes = pool.submit(reader.list, "list_node", "/api/v1/nodes", kind="Node", api_version="v1")
        namespaces = pool.submit(
            reader.list, "list_namespace", "/api/v1/namespaces", kind="Namespace", api_version="v1"
        )
        cm = reader.get(
            "read_namespaced_config_map",
            f"/api/v1/namespaces/{namespace}/configmaps/{configmap}",
            namespace=namespace,
            name=configmap,
        )
        snapshot = ClusterSnapshot(
            services=tuple(cast(list[Service], services.result())),
            endpoint_slices=tuple(cast(list[EndpointSlice], slices.result())),
            nodes=tuple(cast(list[Node], nodes.result())),
            config_map=cast(ConfigMap, cm) if cm is not None else None,
            namespaces=tuple(cast(list[Namespace], namespaces.result())),
            config_resources=tuple(resources.result()),
        )
    return LiveInputs(snapshot, str(api.configuration.host), namespace, configmap)
