"""A fresh, paged LIST of every Service, straight from the API server (not a cache).

Added for the controller: when a replica becomes leader it adopts the assignments
from a list it has just made, not from an informer cache that may still lag behind
the writes of the previous leader, so the new leader never hands out an IP that
the old one already wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from kubernetes import client

from ironlb.kube.errors import call_with_retry
from ironlb.kube.informer import PageDecoder
from ironlb.kube.rest import Rest
from ironlb.kube_types import Service


def list_services(
    api_client: client.ApiClient,
    *,
    page_size: int = 500,
    transform: Callable[[Service], Service] | None = None,
    page_decoder: PageDecoder | None = None,
) -> list[Service]:
    """Every Service in every namespace, as raw dicts (``kind``/``apiVersion`` filled in), each
    passed through ``transform`` as its page is read (only one page is whole at a time), or
    decoded by ``page_decoder`` (which then does what ``transform`` would)."""
    list_all = Rest(api_client).lister("list_service_for_all_namespaces")
    items: list[Service] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"limit": page_size, "_request_timeout": 60}
        if token:
            kwargs["_continue"] = token

        def page(kw: dict[str, Any] = kwargs) -> Any:
            return list_all(**kw)

        resp = call_with_retry(page)
        if page_decoder is not None:
            decoded, meta = page_decoder(resp.data)
            items.extend(cast(list[Service], decoded))
            token = meta.get("continue")
        else:
            body = json.loads(resp.data)
            for obj in body.get("items") or []:
                obj.setdefault("kind", "Service")
                obj.setdefault("apiVersion", "v1")
                items.append(transform(cast(Service, obj)) if transform else cast(Service, obj))
            token = (body.get("metadata") or {}).get("continue")
        if not token:
            return items
