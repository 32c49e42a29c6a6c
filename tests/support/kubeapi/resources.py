"""The resource types the API-server double serves, and how a URL path names one.

Kept apart from the store so that adding a kind is one line here (plus, if it has
server-side behaviour, a hook in ``semantics``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    has_status: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "services", "Service", True, has_status=True),
    ResourceType("", "v1", "configmaps", "ConfigMap", True),
    ResourceType("", "v1", "secrets", "Secret", True),
    ResourceType("", "v1", "nodes", "Node", False, has_status=True),
    ResourceType("", "v1", "namespaces", "Namespace", False, has_status=True),
    ResourceType("", "v1", "pods", "Pod", True, has_status=True),
    ResourceType("", "v1", "endpoints", "Endpoints", True),
    ResourceType("", "v1", "events", "Event", True),
    ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True),
    ResourceType("events.k8s.io", "v1", "events", "Event", True),
    ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    # ironlb's config kinds (the programs list and watch them) and ConfigurationState (they write it).
    ResourceType("ironlb.io", "v1beta1", "ipaddresspools", "IPAddressPool", True),
    ResourceType("ironlb.io", "v1beta1", "l2advertisements", "L2Advertisement", True),
    ResourceType("ironlb.io", "v1beta1", "bgpadvertisements", "BGPAdvertisement", True),
    ResourceType("ironlb.io", "v1beta1", "bgppeers", "BGPPeer", True),
    ResourceType("ironlb.io", "v1beta1", "bfdprofiles", "BFDProfile", True),
    ResourceType("ironlb.io", "v1beta1", "communities", "Community", True),
    ResourceType("ironlb.io", "v1beta1", "clusteripadvertisements", "ClusterIPAdvertisement", True),
    ResourceType("ironlb.io", "v1beta1", "configurationstates", "ConfigurationState", True, has_status=True),
)

_BY_PATH: dict[tuple[str, str, str], ResourceType] = {(r.group, r.version, r.plural): r for r in RESOURCES}


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    return _BY_PATH.get((group, version, plural))


def by_plural(plural: str, group: str = "") -> ResourceType:
    for r in RESOURCES:
        if r.plural == plural and r.group == group:
            return r
    raise KeyError(f"{plural}.{group}")


@dataclass(frozen=True)
class ParsedPath:
    """A request path split into the parts RBAC and the store care about."""

    resource: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def parse_path(path: str) -> ParsedPath | None:
    """Parse ``/api/v1/...`` or ``/apis/G/V/...``; None when it names no known resource."""
    segs = [s for s in path.split("/") if s]
    if len(segs) >= 2 and segs[0] == "api":
        group, version, rest = "", segs[1], segs[2:]
    elif len(segs) >= 3 and segs[0] == "apis":
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        return None
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    rt = lookup(group, version, rest[0])
    if rt is None:
        return None
    if namespace is not None and not rt.namespaced:
        return None
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else None
    return ParsedPath(rt, namespace, name, sub)
