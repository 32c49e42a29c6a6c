"""``ironlb.kube.servicepages``: a Service LIST page decoded straight into allocation views gives
exactly what decoding it whole and cutting each Service down gives, whatever the page holds."""

from __future__ import annotations

import json
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from ironlb.kube.servicepages import allocation_view_page
from ironlb.kube_types import Service
from ironlb.services import allocation_view

texts = st.text(max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
annotation_keys = st.sampled_from(
    ["ironlb.io/", "metallb.io/", "metallb.universe.tf/", "example.com/", ""]
).flatmap(
    lambda prefix: st.sampled_from(["address-pool", "allow-shared-ip", "loadBalancerIPs", "note"]).map(
        lambda name: prefix + name
    )
)


def optional_keys(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts holding any subset of ``fields``, each with a value from its strategy."""
    return st.fixed_dictionaries({}, optional=fields)


metadata = optional_keys(
    {
        "name": texts,
        "namespace": st.sampled_from(["default", "team-a", "b"]),
        "uid": texts,
        "resourceVersion": st.integers(1, 10**6).map(str),
        "labels": st.dictionaries(texts, texts, max_size=3),
        "annotations": st.dictionaries(annotation_keys, texts, max_size=4) | json_values,
        "managedFields": st.lists(st.dictionaries(texts, json_values, max_size=3), max_size=2),
        "creationTimestamp": texts,
    }
)
spec = optional_keys(
    {
        "type": st.sampled_from(["LoadBalancer", "ClusterIP", "NodePort"]) | json_values,
        "loadBalancerClass": texts | st.none(),
        "loadBalancerIP": st.sampled_from(["", "192.0.2.1", "2001:db8::1", "bad"]),
        "ipFamilies": st.lists(st.sampled_from(["IPv4", "IPv6"]), max_size=2) | json_values,
        "ipFamilyPolicy": st.sampled_from(["SingleStack", "PreferDualStack", "RequireDualStack"]),
        "externalTrafficPolicy": st.sampled_from(["Local", "Cluster"]),
        "selector": st.dictionaries(texts, texts, max_size=2),
        "ports": st.lists(
            optional_keys(
                {"protocol": st.sampled_from(["TCP", "UDP"]), "port": st.integers(1, 65535), "name": texts}
            )
            | json_values,
            max_size=3,
        ),
        "clusterIP": texts,
        "sessionAffinity": texts,
    }
)
status = optional_keys(
    {
        "loadBalancer": st.just({})
        | st.fixed_dictionaries({"ingress": st.lists(st.fixed_dictionaries({"ip": texts}), max_size=2)})
        | st.none(),
        "conditions": st.lists(json_values, max_size=2),
    }
)
items = optional_keys(
    {
        "kind": st.sampled_from(["Service", "Other"]),
        "apiVersion": st.sampled_from(["v1", "v2"]),
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }
)
odd_items = optional_keys({"metadata": json_values, "spec": json_values, "status": json_values})
"""Shapes the API server never sends (an array where an object belongs): the plain decoding's."""


def cut_down_whole(page: dict[str, Any]) -> tuple[list[Service], dict[str, Any]]:
    """What the informer caches without the page decoder: kind and apiVersion filled in as a list
    item lacks them, then the view."""
    views = []
    for obj in page.get("items") or []:
        if "kind" not in obj:
            obj = {"kind": "Service", "apiVersion": "v1", **obj}
        views.append(allocation_view(cast(Service, obj)))
    return views, page.get("metadata") or {}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(items, max_size=6),
    optional_keys({"resourceVersion": texts, "continue": texts, "remainingItemCount": st.integers(0, 9)}),
)
def test_a_page_decodes_to_the_views_of_its_whole_services(
    page_items: list[Any], meta: dict[str, Any]
) -> None:
    page = {"kind": "ServiceList", "apiVersion": "v1", "metadata": meta, "items": page_items}
    assert allocation_view_page(json.dumps(page).encode()) == cut_down_whole(page)


@settings(max_examples=200, deadline=None)
@given(st.lists(items | odd_items, min_size=1, max_size=4))
def test_a_page_of_an_unexpected_shape_is_decoded_the_plain_way(page_items: list[Any]) -> None:
    page = {"metadata": {"resourceVersion": "7"}, "items": page_items}
    assert allocation_view_page(json.dumps(page).encode()) == cut_down_whole(page)


def test_a_real_items_dropped_fields_do_not_reach_its_view() -> None:
    """A real ServiceList item as kube-apiserver 1.36 sends it: managedFields and the rest do not
    reach the view."""
    item = {
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "u-1",
            "resourceVersion": "213",
            "creationTimestamp": "2026-12-04T10:20:08Z",
            "annotations": {
                "ironlb.io/address-pool": "p",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
            },
            "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {
            "ports": [{"protocol": "TCP", "port": 80, "targetPort": 80}],
            "clusterIP": "10.96.0.10",
            "type": "LoadBalancer",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "externalTrafficPolicy": "Cluster",
            "selector": {"app": "web"},
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]}},
    }
    page = json.dumps({"metadata": {"continue": "tok", "resourceVersion": "9"}, "items": [item]}).encode()
    views, meta = allocation_view_page(page)
    assert meta == {"continue": "tok", "resourceVersion": "9"}
    assert views == [
        {
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {
                "name": "web",
                "namespace": "default",
                "uid": "u-1",
                "resourceVersion": "213",
                "annotations": {"ironlb.io/address-pool": "p"},
            },
            "spec": {
                "type": "LoadBalancer",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "externalTrafficPolicy": "Cluster",
                "ports": [{"protocol": "TCP", "port": 80}],
            },
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]}},
        }
    ]
