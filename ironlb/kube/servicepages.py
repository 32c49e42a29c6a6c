"""A page of a Service LIST, decoded straight into ``ironlb.services.allocation_view``s.

Why: at start-up the controller lists every Service of the cluster, and most of each one is what
the view drops (``managedFields``, cluster IPs, ``last-applied-configuration``...). Decoding it
all with ``json.loads`` built every one of those objects only to throw them away: 10,000 Services
(10 MB of JSON) took 0.11 s to decode plus 0.08 s to cut down, with the interpreter to itself.
msgspec decodes into typed structs that name only the kept fields and skips the rest without
building anything; the view is then made by ``allocation_view`` itself from those fields, so it
is the same view, by construction, as from the whole object.

A page whose shape is not the API's (an object where a struct is expected is not one) is decoded
again the plain way: nothing here decides anything, it only saves work.
"""

from __future__ import annotations

import json
from typing import Any, cast

import msgspec

from ironlb import services as svc
from ironlb.kube_types import Service

_UNSET: Any = msgspec.UNSET


class _Meta(msgspec.Struct):
    name: Any = _UNSET
    namespace: Any = _UNSET
    uid: Any = _UNSET
    resourceVersion: Any = _UNSET  # the API's spelling (camelCase)
    labels: Any = _UNSET
    annotations: Any = _UNSET


class _Spec(msgspec.Struct):
    type: Any = _UNSET
    loadBalancerClass: Any = _UNSET
    loadBalancerIP: Any = _UNSET
    ipFamilies: Any = _UNSET
    ipFamilyPolicy: Any = _UNSET
    externalTrafficPolicy: Any = _UNSET
    selector: Any = _UNSET
    ports: Any = _UNSET


class _Status(msgspec.Struct):
    loadBalancer: Any = _UNSET


class _Item(msgspec.Struct):
    kind: Any = _UNSET
    apiVersion: Any = _UNSET
    metadata: _Meta | None = None
    spec: _Spec | None = None
    status: _Status | None = None


class _Page(msgspec.Struct):
    metadata: dict[str, Any] | None = None
    items: list[_Item] | None = None


_DECODER = msgspec.json.Decoder(_Page)


def _fields(struct: msgspec.Struct) -> dict[str, Any]:
    return {k: v for k in struct.__struct_fields__ if (v := getattr(struct, k)) is not _UNSET}


def _partial(item: _Item, kind: str, api_version: str) -> dict[str, Any]:
    """The item as a dict holding only what ``allocation_view`` reads (with kind and apiVersion
    filled in as a list item lacks them, as the informer fills them in)."""
    obj: dict[str, Any] = {"kind": kind, "apiVersion": api_version}
    if item.kind is not _UNSET:
        obj = {"kind": item.kind}
        if item.apiVersion is not _UNSET:
            obj["apiVersion"] = item.apiVersion
    elif item.apiVersion is not _UNSET:
        obj["apiVersion"] = item.apiVersion
    if item.metadata is not None:
        obj["metadata"] = _fields(item.metadata)
    if item.spec is not None:
        obj["spec"] = _fields(item.spec)
    if item.status is not None:
        obj["status"] = _fields(item.status)
    return obj


def allocation_view_page(
    data: bytes, *, kind: str = "Service", api_version: str = "v1"
) -> tuple[list[Service], dict[str, Any]]:
    """The page's items as allocation views, and the list's metadata (``continue``,
    ``resourceVersion``)."""
    try:
        page = _DECODER.decode(data)
    except msgspec.ValidationError:
        return _plain_page(data, kind, api_version)
    views = [
        svc.allocation_view(cast(Service, _partial(item, kind, api_version))) for item in page.items or ()
    ]
    return views, page.metadata or {}


def _plain_page(data: bytes, kind: str, api_version: str) -> tuple[list[Service], dict[str, Any]]:
    body = json.loads(data)
    meta = body.get("metadata") if isinstance(body, dict) else None
    items = body.get("items") if isinstance(body, dict) else None
    views = []
    for obj in items if isinstance(items, list) else ():
        if not isinstance(obj, dict):
            continue
        if "kind" not in obj:
            obj = {"kind": kind, "apiVersion": api_version, **obj}
        views.append(svc.allocation_view(cast(Service, obj)))
    return views, meta if isinstance(meta, dict) else {}
