"""TypedDicts for the raw Kubernetes objects ironlb reads, exactly as JSON/YAML manifests spell them.

Objects cross the cluster-state seam as plain camelCase dicts (what the API
server sends, what a manifest file holds), so the manifest-directory source and
the Kubernetes source are interchangeable. Only the fields ironlb reads are
typed; everything else passes through untouched.
"""

from __future__ import annotations

from typing import Any, TypedDict


class ObjectMeta(TypedDict, total=False):
    name: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    labels: dict[str, str]
    annotations: dict[str, str]
    creationTimestamp: str
    deletionTimestamp: str


class ServicePort(TypedDict, total=False):
    name: str
    protocol: str
    port: int
    targetPort: int | str
    nodePort: int


class ServiceSpec(TypedDict, total=False):
    type: str
    clusterIP: str
    clusterIPs: list[str]
    externalIPs: list[str]
    loadBalancerIP: str
    loadBalancerClass: str
    ipFamilies: list[str]
    ipFamilyPolicy: str
    externalTrafficPolicy: str
    internalTrafficPolicy: str
    selector: dict[str, str]
    ports: list[ServicePort]


class LoadBalancerIngress(TypedDict, total=False):
    ip: str
    hostname: str
    ipMode: str


class LoadBalancerStatus(TypedDict, total=False):
    ingress: list[LoadBalancerIngress]


class ServiceStatus(TypedDict, total=False):
    loadBalancer: LoadBalancerStatus


class Service(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: ServiceSpec
    status: ServiceStatus


class EndpointConditions(TypedDict, total=False):
    ready: bool
    serving: bool
    terminating: bool


class Endpoint(TypedDict, total=False):
    addresses: list[str]
    conditions: EndpointConditions
    nodeName: str


class EndpointSlice(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    addressType: str
    endpoints: list[Endpoint]
    ports: list[dict[str, Any]]


class NodeCondition(TypedDict, total=False):
    type: str
    status: str


class NodeAddress(TypedDict, total=False):
    type: str
    address: str


class NodeStatus(TypedDict, total=False):
    conditions: list[NodeCondition]
    addresses: list[NodeAddress]


class Node(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: dict[str, Any]
    status: NodeStatus


class Namespace(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta


NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the API server on every Namespace to its name (selectors use it to pick namespaces by name)."""


class ConfigMap(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    data: dict[str, str]


class Secret(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    type: str
    data: dict[str, str]
    """Values base64-encoded, as the API sends them."""


SERVICE_NAME_LABEL = "kubernetes.io/service-name"
"""Label that ties an EndpointSlice to its Service."""


def object_key(obj: Service | EndpointSlice | Node | Namespace | ConfigMap) -> str:
    """``namespace/name`` (or ``name`` for cluster-scoped objects): the key used in queues and maps."""
    meta = obj.get("metadata", {})
    ns = meta.get("namespace", "")
    name = meta.get("name", "")
    return f"{ns}/{name}" if ns else name
