"""An informer with a ``transform`` caches (and reports) only what the transform keeps, on the real server."""

from __future__ import annotations

import time
from typing import Any

from ironlb.kube.cache import Change
from ironlb.kube.informer import Informer
from ironlb.kube.rest import Rest
from ironlb.kube.servicepages import allocation_view_page
from ironlb.services import allocation_view
from tests.support.pytest_plugin import Kube


def _lb(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "annotations": {"ironlb.io/address-pool": "p", "note": "x" * 1000}},
        "spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False, "ports": [{"port": 80}]},
    }


def test_listed_and_watched_objects_are_cached_as_transformed(kube: Kube) -> None:
    kube.core.create_namespaced_service(kube.ns, _lb("listed"))
    changes: list[Change] = []
    informer = Informer(
        "services",
        Rest(kube.api).lister("list_service_for_all_namespaces"),
        kind="Service",
        api_version="v1",
        on_change=changes.append,
        list_kwargs={"field_selector": f"metadata.namespace={kube.ns}"},
        transform=lambda o: allocation_view(o),  # type: ignore[arg-type,return-value]
    ).start()
    try:
        assert informer.wait_synced(30)
        kube.core.create_namespaced_service(kube.ns, _lb("watched"))
        deadline = time.monotonic() + 30
        while informer.get(f"{kube.ns}/watched") is None and time.monotonic() < deadline:
            time.sleep(0.02)
        for name in ("listed", "watched"):
            cached = informer.get(f"{kube.ns}/{name}")
            assert cached is not None
            assert cached["kind"] == "Service" and cached["metadata"]["uid"]
            assert cached["metadata"]["annotations"] == {"ironlb.io/address-pool": "p"}  # "note" dropped
            assert "managedFields" not in cached["metadata"] and "clusterIP" not in cached["spec"]
        assert all("managedFields" not in c.obj["metadata"] for c in changes)
    finally:
        informer.stop()


def test_a_page_decoder_caches_what_the_transform_caches(kube: Kube) -> None:
    """``ironlb.kube.servicepages`` on the real server's pages (several: page size 2) gives the
    same cache as decoding each Service whole and cutting it down. Every namespace is listed: a
    paged cluster-wide LIST with a ``metadata.namespace`` field selector is answered wrongly by
    kube-apiserver 1.36 (its first continue token drops the namespace; pages repeat items)."""
    for i in range(5):
        kube.core.create_namespaced_service(kube.ns, _lb(f"s{i}"))

    def informer(**kwargs: Any) -> Informer:
        return Informer(
            "services",
            Rest(kube.api).lister("list_service_for_all_namespaces"),
            kind="Service",
            api_version="v1",
            page_size=2,
            **kwargs,
        ).start()

    whole = informer(transform=lambda o: allocation_view(o))
    paged = informer(transform=lambda o: allocation_view(o), page_decoder=allocation_view_page)
    try:
        assert whole.wait_synced(30) and paged.wait_synced(30)
        ours = [o for o in whole.items() if o["metadata"]["namespace"] == kube.ns]
        assert len(ours) == 5 and all(o in paged.items() for o in ours)
        assert len(paged.items()) == len(whole.items())
    finally:
        whole.stop()
        paged.stop()
