"""``ClusterSource`` over the Kubernetes API: informers for the kinds the seam carries.

Services, EndpointSlices and Nodes cluster-wide, and the one ConfigMap (by name, in
its namespace). Each change is reported as an ``ObjectRef`` so a controller can feed
its work queue (one key per object); ``snapshot()`` gives the decisions the same raw
dicts a manifest directory would.
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
from ironlb.kube.informer import Informer
from ironlb.kube.rest import Rest
from ironlb.kube_types import ConfigMap, EndpointSlice, Node, Service

log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class ObjectRef:
    kind: str  # Service, EndpointSlice, Node, ConfigMap
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
        watch_timeout: int = 300,
        service_transform: Callable[[Obj], Obj] | None = None,
    ) -> None:
        """``service_transform`` cuts each Service down before it is cached (see ``Informer``)."""
        rest = Rest(api_client)
        self._on_change = on_change

        def handler(kind: str) -> Callable[[Change], None]:
            def on(change: Change) -> None:
                if self._on_change is not None:
                    self._on_change(ref_of(kind, change))

            return on

        self.services = Informer(
            "services",
            rest.lister("list_service_for_all_namespaces"),
            kind="Service",
            api_version="v1",
            on_change=handler("Service"),
            watch_timeout=watch_timeout,
            transform=service_transform,
        )
        self.config_map = Informer(
            "configmap",
            rest.lister("list_namespaced_config_map"),
            kind="ConfigMap",
            api_version="v1",
            on_change=handler("ConfigMap"),
            watch_timeout=watch_timeout,
            list_kwargs={"namespace": config_namespace, "field_selector": f"metadata.name={config_name}"},
        )
        self.informers: list[Informer] = [self.services, self.config_map]
        self.endpoint_slices: Informer | None = None
        self.nodes: Informer | None = None
        if endpoint_slices:
            self.endpoint_slices = Informer(
                "endpointslices",
                rest.lister("list_endpoint_slice_for_all_namespaces"),
                kind="EndpointSlice",
                api_version="discovery.k8s.io/v1",
                on_change=handler("EndpointSlice"),
                watch_timeout=watch_timeout,
            )
            self.informers.append(self.endpoint_slices)
        if nodes:
            self.nodes = Informer(
                "nodes",
                rest.lister("list_node"),
                kind="Node",
                api_version="v1",
                on_change=handler("Node"),
                watch_timeout=watch_timeout,
            )
            self.informers.append(self.nodes)

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
            revision="/".join(inf.resource_version for inf in self.informers),
        )

    def service(self, key: str) -> Service | None:
        """The cached Service ``namespace/name``, or None."""
        obj = self.services.get(key)
        return cast(Service, obj) if obj is not None else None
