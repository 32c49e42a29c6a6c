"""``ServiceL2Status`` and ``ServiceBGPStatus``: what one speaker says about the Services it announces.

One object per (Service, node, protocol), in the Service's namespace, owned by the Service (an
``ownerReference`` with its uid, so the garbage collector removes it with the Service) and
labelled with the node and the Service, so a speaker lists exactly its own.

Pure, in two steps:

- ``desired_objects(node, announcements, owners)``: from what the backends report this node
  announces (``Announcement``: Service, protocol, IP, and where: interfaces or peer names), the
  objects that should exist. A Service whose uid is unknown gets none (it cannot be owned).
- ``step(desired, existing)``: what one key needs: nothing, ``create`` (then its status, which a
  create through the main resource drops), ``update`` (the status only), ``delete``, or
  ``replace`` (delete and create: the Service was re-created under the same name, a new uid, or
  the labels were changed by someone else; both live in metadata, which the speaker does not
  patch). An object is compared by what it says, never by how it was written, so a steady state
  writes nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from ironlb.announce.inputs import Announcement
from ironlb.statusobjects.kinds import (
    API_VERSION,
    NODE_LABEL,
    SERVICE_BGP_STATUS,
    SERVICE_L2_STATUS,
    SERVICE_NAME_LABEL,
    SERVICE_NAMESPACE_LABEL,
    StatusKind,
    label_value,
    status_object_name,
)

KIND_OF_PROTOCOL: Mapping[str, StatusKind] = {"layer2": SERVICE_L2_STATUS, "bgp": SERVICE_BGP_STATUS}


def counts(kind: str, ips: tuple[str, ...], via: tuple[str, ...]) -> dict[str, int]:
    """The count fields of an object: ``kubectl get`` shows them (a printer column cannot count a
    list). Layer 2 has at most two IPs (the columns show both); BGP may have many."""
    if kind == SERVICE_L2_STATUS:
        return {"interfaceCount": len(via)}
    return {"ipCount": len(ips), "peerCount": len(via)}


StatusKey = tuple[StatusKind, str, str]
"""(kind, namespace, name)."""

Step = Literal["create", "update", "delete", "replace"]


@dataclass(frozen=True)
class ServiceOwner:
    """The Service a status object belongs to."""

    namespace: str
    name: str
    uid: str


@dataclass(frozen=True)
class StatusObject:
    """A status object as ironlb compares it: its identity, owner, labels and what it says."""

    kind: StatusKind
    namespace: str
    name: str
    node: str
    service: ServiceOwner
    ips: tuple[str, ...] = ()
    via: tuple[str, ...] = ()
    """Layer 2: interface names; BGP: peer names. Sorted."""
    labels_ok: bool = True
    """False when an existing object's labels are not the ones ironlb gives it."""
    count_ok: bool = True
    """False when an existing object's count fields (``counts``, printer columns) are not the
    lengths of its lists (an object written before they existed, or by someone else)."""

    @property
    def key(self) -> StatusKey:
        return (self.kind, self.namespace, self.name)

    def labels(self) -> dict[str, str]:
        return {
            NODE_LABEL: label_value(self.node),
            SERVICE_NAME_LABEL: label_value(self.service.name),
            SERVICE_NAMESPACE_LABEL: label_value(self.service.namespace),
        }

    def metadata(self) -> dict[str, Any]:
        """What a create sends: name, labels and the Service as owner (not blocking its deletion:
        that would need the finalizers permission on Services)."""
        owner = {"apiVersion": "v1", "kind": "Service", "name": self.service.name, "uid": self.service.uid}
        return {
            "name": self.name,
            "namespace": self.namespace,
            "labels": self.labels(),
            "ownerReferences": [owner],
        }

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "node": self.node,
            "serviceName": self.service.name,
            "serviceNamespace": self.service.namespace,
            "ips": list(self.ips),
        }
        if self.kind == SERVICE_L2_STATUS:
            out["interfaces"] = [{"name": name} for name in self.via]
        else:
            out["peers"] = list(self.via)
        out.update(counts(self.kind, self.ips, self.via))
        return out

    def manifest(self) -> dict[str, Any]:
        """The whole object, as ``kubectl get -o json`` would show it (without server fields)."""
        return {
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "metadata": self.metadata(),
            "spec": {},
            "status": self.status(),
        }

    def says(self) -> tuple[Any, ...]:
        """What is compared to decide whether the status needs a write."""
        return (self.node, self.service.name, self.service.namespace, self.ips, self.via)


def _ip_order(text: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(text)
    return (ip.version, int(ip))


def desired_objects(
    node: str, announcements: Iterable[Announcement], owners: Mapping[str, ServiceOwner]
) -> dict[StatusKey, StatusObject]:
    """The status objects ``node`` should have, by key, for what it announces now.

    ``owners`` maps a Service key (``namespace/name``) to the Service (with its uid).
    """
    grouped: dict[tuple[StatusKind, str], tuple[set[str], set[str]]] = {}
    for a in announcements:
        kind = KIND_OF_PROTOCOL[a.protocol]
        ips, via = grouped.setdefault((kind, a.service), (set(), set()))
        ips.add(str(a.ip))
        via.update(a.via)
    out: dict[StatusKey, StatusObject] = {}
    for (kind, key), (ips, via) in grouped.items():
        owner = owners.get(key)
        if owner is None or not owner.uid:
            continue
        obj = StatusObject(
            kind=kind,
            namespace=owner.namespace,
            name=status_object_name(owner.name, node),
            node=node,
            service=owner,
            ips=tuple(sorted(ips, key=_ip_order)),
            via=tuple(sorted(via)),
        )
        out[obj.key] = obj
    return out


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values) if isinstance(values, list) else ()


def _owner(meta: Mapping[str, Any], status: Mapping[str, Any]) -> ServiceOwner:
    """The Service a status object speaks for: its status fields, else its namespace, label, owner."""
    labels = meta.get("labels") or {}
    owner_uid = next(
        (str(r.get("uid") or "") for r in meta.get("ownerReferences") or [] if r.get("kind") == "Service"),
        "",
    )
    return ServiceOwner(
        str(status.get("serviceNamespace") or meta.get("namespace") or ""),
        str(status.get("serviceName") or labels.get(SERVICE_NAME_LABEL) or ""),
        owner_uid,
    )


def _via(kind: str, status: Mapping[str, Any]) -> tuple[str, ...]:
    """Interfaces (layer 2) or peers (BGP) the IPs are announced through."""
    if kind == SERVICE_L2_STATUS:
        return tuple(
            str(i.get("name"))
            for i in status.get("interfaces") or []
            if isinstance(i, dict) and i.get("name")
        )
    return _strings(status.get("peers"))


def existing_object(obj: Mapping[str, Any]) -> StatusObject | None:
    """An object read from the API (or a cache) as ``StatusObject``; None when it is not one."""
    kind = obj.get("kind")
    if kind not in (SERVICE_L2_STATUS, SERVICE_BGP_STATUS):
        return None
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    labels = meta.get("labels") or {}
    found = StatusObject(
        kind=kind,
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        node=str(status.get("node") or ""),
        service=_owner(meta, status),
        ips=_strings(status.get("ips")),
        via=_via(kind, status),
    )
    node_label = labels.get(NODE_LABEL, "")
    expected = {k: v for k, v in found.labels().items() if k != NODE_LABEL}
    labels_ok = all(labels.get(k) == v for k, v in expected.items()) and bool(node_label)
    count_ok = all(status.get(k) == v for k, v in counts(kind, found.ips, found.via).items())
    return replace(found, labels_ok=labels_ok, count_ok=count_ok)


def step(desired: StatusObject | None, existing: StatusObject | None) -> Step | None:
    """What brings ``existing`` (None: absent) to ``desired`` (None: should not exist); None: nothing."""
    if desired is None:
        return None if existing is None else "delete"
    if existing is None:
        return "create"
    if existing.service.uid != desired.service.uid or not existing.labels_ok:
        return "replace"
    return None if existing.says() == desired.says() and existing.count_ok else "update"
