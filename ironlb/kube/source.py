"""``ClusterSource`` over the Kubernetes API: informers for the kinds the seam carries.

Services, EndpointSlices and Nodes cluster-wide, the one ConfigMap (by name, in its
namespace), the seven ``ironlb.io`` config kinds (in ironlb's namespace), and where a program
needs them, Namespaces (the controller: pools that admit Services by namespace labels) and the
Secrets of ironlb's namespace (the speaker: BGP passwords named by ``passwordSecret``). Each
change is reported as an ``ObjectRef`` so a controller can feed its work queue (one key per
object); ``snapshot()`` gives the decisions the same raw dicts a manifest directory would.

Caches keep what their readers use: config objects without ``managedFields`` and kubectl's
last-applied copy, Namespaces as name and labels, Secrets as their type and ``data.password``
(not the speakers' membership key, nor anything else a Secret there may hold).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from kubernetes import client

from ironlb.cluster.seam import ClusterSnapshot, ClusterSourceUnavailable
from ironlb.kube.cache import Change, Obj
from ironlb.kube.informer import Informer, PageDecoder
from ironlb.kube.rest import Rest
from ironlb.kube_types import ConfigMap, EndpointSlice, Namespace, Node, Secret, Service

log = logging.getLogger(__name__)

CONFIG_KINDS: dict[str, str] = {
    # kind -> the endpoint listing it in a namespace (ironlb.kube.rest.CUSTOM_ENDPOINTS).
    "IPAddressPool": "list_namespaced_ip_address_pool",
    "L2Advertisement": "list_namespaced_l2_advertisement",
    "BGPAdvertisement": "list_namespaced_bgp_advertisement",
    "BGPPeer": "list_namespaced_bgp_peer",
    "BFDProfile": "list_namespaced_bfd_profile",
    "Community": "list_namespaced_community",
    "ClusterIPAdvertisement": "list_namespaced_cluster_ip_advertisement",
}
IRONLB_API_VERSION = "ironlb.io/v1beta1"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
PASSWORD_KEY = "password"


def slim_config_object(obj: Obj) -> Obj:
    """A config object without what nobody reads (``managedFields``, kubectl's last-applied copy)."""
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED} or None
        if meta["annotations"] is None:
            del meta["annotations"]
    return {**obj, "metadata": meta}


def slim_namespace(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    kept = {k: meta[k] for k in ("name", "uid", "resourceVersion", "labels") if k in meta}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": kept}


def slim_secret(obj: Obj) -> Obj:
    """A Secret as its type and its ``password`` key (MetalLB's basic-auth BGP password), nothing else."""
    meta = obj.get("metadata") or {}
    kept = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion") if k in meta}
    data = obj.get("data") or {}
    out: Obj = {"apiVersion": "v1", "kind": "Secret", "metadata": kept, "type": obj.get("type") or "Opaque"}
    if isinstance(data, dict) and PASSWORD_KEY in data:
        out["data"] = {PASSWORD_KEY: data[PASSWORD_KEY]}
    return out


@dataclass(frozen=True, order=True)
class ObjectRef:
    kind: str  # Service, EndpointSlice, Node, ConfigMap, Namespace, Secret, or an ironlb.io config kind
    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def ref_of(kind: str, change: Change) -> ObjectRef:
    meta = change.obj.get("metadata") or {}
    return ObjectRef(kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class KubeClusterSource:
    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        config_namespace: str,
        config_name: str,
        on_change: Callable[[ObjectRef], None] | None = None,
        endpoint_slices: bool = True,
        nodes: bool = True,
        config_resources: bool = False,
        namespaces: bool = False,
        secrets: bool = False,
        watch_timeout: int = 300,
        service_transform: Callable[[Obj], Obj] | None = None,
        service_pages: PageDecoder | None = None,
        service_page_size: int = 500,
    ) -> None:
        """``service_transform`` cuts each Service down before it is cached (see ``Informer``);
        ``service_pages`` decodes the Services of a LIST page as that transform cuts them down,
        ``service_page_size`` of them per page."""
        rest = Rest(api_client)
        self._on_change = on_change

        def handler(kind: str) -> Callable[[Change], None]:
            def on(change: Change) -> None:
                if self._on_change is not None:
                    self._on_change(ref_of(kind, change))

            return on

        self.informers: list[Informer] = []
        in_namespace = {"namespace": config_namespace}

        def watch(
            endpoint: str,
            kind: str,
            api_version: str = "v1",
            *,
            name: str | None = None,
            list_kwargs: dict[str, str] | None = None,
            transform: Callable[[Obj], Obj] | None = None,
            page_decoder: PageDecoder | None = None,
            page_size: int = 500,
        ) -> Informer:
            """An informer for ``kind`` that reports its changes, listed in :attr:`informers`."""
            informer = Informer(
                name or f"{kind.lower()}s",
                rest.lister(endpoint),
                kind=kind,
                api_version=api_version,
                on_change=handler(kind),
                watch_timeout=watch_timeout,
                list_kwargs=list_kwargs,
                transform=transform,
                page_decoder=page_decoder,
                page_size=page_size,
            )
            self.informers.append(informer)
            return informer

        self.services = watch(
            "list_service_for_all_namespaces",
            "Service",
            transform=service_transform,
            page_decoder=service_pages,
            page_size=service_page_size,
        )
        self.config_map = watch(
            "list_namespaced_config_map",
            "ConfigMap",
            name="configmap",
            list_kwargs={**in_namespace, "field_selector": f"metadata.name={config_name}"},
        )
        self.config_resources: dict[str, Informer] = {}
        if config_resources:
            for kind, endpoint in CONFIG_KINDS.items():
                self.config_resources[kind] = watch(
                    endpoint, kind, IRONLB_API_VERSION, list_kwargs=in_namespace, transform=slim_config_object
                )
        self.namespaces: Informer | None = None
        if namespaces:
            self.namespaces = watch("list_namespace", "Namespace", transform=slim_namespace)
        self.secrets: Informer | None = None
        if secrets:
            self.secrets = watch(
                "list_namespaced_secret", "Secret", list_kwargs=in_namespace, transform=slim_secret
            )
        self.endpoint_slices: Informer | None = None
        if endpoint_slices:
            self.endpoint_slices = watch(
                "list_endpoint_slice_for_all_namespaces", "EndpointSlice", "discovery.k8s.io/v1"
            )
        self.nodes: Informer | None = None
        if nodes:
            self.nodes = watch("list_node", "Node")

    def start(self) -> KubeClusterSource:
        for inf in self.informers:
            inf.start()
        return self

    def stop(self) -> None:
        for inf in self.informers:
            inf.stop()

    def wait_synced(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for inf in self.informers:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not inf.wait_synced(left):
                return False
        return True

    @property
    def synced(self) -> bool:
        return all(inf.synced for inf in self.informers)

    def snapshot(self) -> ClusterSnapshot:
        if not self.synced:
            pending = [inf.name for inf in self.informers if not inf.synced]
            raise ClusterSourceUnavailable(f"not yet listed: {', '.join(pending)}")
        cms = self.config_map.items()
        return ClusterSnapshot(
            services=tuple(cast(Service, o) for o in self.services.items()),
            endpoint_slices=tuple(
                cast(EndpointSlice, o) for o in (self.endpoint_slices.items() if self.endpoint_slices else [])
            ),
            nodes=tuple(cast(Node, o) for o in (self.nodes.items() if self.nodes else [])),
            config_map=cast(ConfigMap, cms[0]) if cms else None,
            namespaces=tuple(
                cast(Namespace, o) for o in (self.namespaces.items() if self.namespaces else [])
            ),
            config_resources=self.config_objects(),
            secrets=tuple(cast(Secret, o) for o in (self.secrets.items() if self.secrets else [])),
            revision="/".join(inf.resource_version for inf in self.informers),
        )

    def config_objects(self) -> tuple[Obj, ...]:
        """Every cached ``ironlb.io`` config object, by kind (in ``CONFIG_KINDS`` order), then name."""
        out: list[Obj] = []
        for informer in self.config_resources.values():
            out.extend(sorted(informer.items(), key=lambda o: str((o.get("metadata") or {}).get("name"))))
        return tuple(out)

    def service(self, key: str) -> Service | None:
        """The cached Service ``namespace/name``, or None."""
        obj = self.services.get(key)
        return cast(Service, obj) if obj is not None else None
