"""Fuzz the Service readers: any JSON a manifest can hold gives a request or a refusal, never a crash.

``ironlb plan`` reads manifests no API server validated, so fields may have any
JSON type. Whatever they hold, translation must answer with an
``AllocationRequest`` or a ``Refusal`` (and ``allocate_all`` with a result).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ironlb import services as svc
from ironlb.allocator import AllocationRequest, Refusal, allocate_all, request_from_service
from ironlb.kube_types import Service
from tests.allocator.builders import config, pool

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=12)
    | st.sampled_from(["10.0.0.1", "fd00::1"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def field(known: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(known, json_values)


annotation_values = field(
    st.sampled_from(["", "p", "10.0.0.1", "10.0.0.1,fd00::1", "10.0.0.1,10.0.0.2", "x"])
)
annotation_maps = field(
    st.dictionaries(
        st.sampled_from(
            [p + k for p in svc.ANNOTATION_PREFIXES for k in ("address-pool", "loadBalancerIPs")]
            + ["ironlb.io/allow-shared-ip"]
        ),
        annotation_values,
        max_size=4,
    )
)
ports = field(
    st.lists(
        field(
            st.fixed_dictionaries(
                {"port": field(st.integers(1, 3)), "protocol": field(st.sampled_from(["TCP", "UDP"]))}
            )
        ),
        max_size=3,
    )
)
SPEC_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "type": field(st.just("LoadBalancer")),
    "loadBalancerIP": field(st.sampled_from(["10.0.0.1", "fd00::1", "bad"])),
    "loadBalancerClass": json_values,
    "ipFamilies": field(st.lists(field(st.sampled_from(["IPv4", "IPv6"])), max_size=3)),
    "ipFamilyPolicy": field(st.sampled_from(["SingleStack", "PreferDualStack", "RequireDualStack"])),
    "externalTrafficPolicy": field(st.sampled_from(["Local", "Cluster"])),
    "selector": json_values,
    "ports": ports,
}
spec = field(st.fixed_dictionaries({}, optional=SPEC_FIELDS))
services = st.fixed_dictionaries(
    {
        "metadata": field(
            st.fixed_dictionaries(
                {"name": field(st.sampled_from(["a", "b"])), "namespace": field(st.just("ns"))},
                optional={
                    "annotations": annotation_maps,
                    "labels": field(
                        st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["web", "db"]))
                    ),
                },
            )
        ),
        "spec": spec,
    },
    optional={
        "status": field(
            st.fixed_dictionaries(
                {
                    "loadBalancer": field(
                        st.fixed_dictionaries(
                            {
                                "ingress": field(
                                    st.lists(
                                        field(
                                            st.fixed_dictionaries(
                                                {"ip": field(st.sampled_from(["10.0.0.1", "fd00::1", "x"]))}
                                            )
                                        ),
                                        max_size=2,
                                    )
                                )
                            }
                        )
                    )
                }
            )
        )
    },
)


@settings(max_examples=400, deadline=None)
@given(service=services)
def test_translation_never_crashes(service: dict[str, Any]) -> None:
    s: Service = service  # type: ignore[assignment]
    out = request_from_service(s)
    assert isinstance(out, AllocationRequest | Refusal)
    if isinstance(out, Refusal):
        assert out.code == "invalid-request" and out.reason
    svc.is_managed(s, None)
    svc.bgp_communities(s)
    svc.internal_traffic_policy(s)


@settings(max_examples=100, deadline=None)
@given(batch=st.lists(services, max_size=5))
def test_allocate_all_never_crashes(batch: list[dict[str, Any]]) -> None:
    results = allocate_all(config(pool("p", "10.0.0.0/30", "fd00::/126")), batch)  # type: ignore[arg-type]
    assert all((r.error is None) == bool(r.ips) for r in results)


READERS = (
    svc.service_key,
    svc.is_load_balancer,
    svc.load_balancer_class,
    svc.address_pool,
    svc.sharing_key,
    svc.ports,
    svc.backend_key,
    svc.ingress_ips,
    svc.allocated_from_pool,
    request_from_service,
)


def _read(reader: Any, s: Service) -> Any:
    try:
        return reader(s)
    except svc.ServiceSpecError as exc:
        return ("error", str(exc))


@settings(max_examples=400, deadline=None)
@given(service=services)
def test_the_controllers_view_reads_as_the_whole_service(service: dict[str, Any]) -> None:
    """The informer cache keeps ``allocation_view``: every reader the controller uses must agree."""
    s: Service = service  # type: ignore[assignment]
    view = svc.allocation_view(s)
    for reader in (*READERS, svc.requested_ips, svc.ip_families, svc.ip_family_policy, svc.labels):
        assert _read(reader, view) == _read(reader, s), reader.__name__
    assert request_from_service(view) == request_from_service(s)  # everything the allocator is told
    for lb_class in (None, "ironlb"):
        assert svc.is_managed(view, lb_class) == svc.is_managed(s, lb_class)


def test_the_view_drops_what_allocation_never_reads() -> None:
    full: dict[str, Any] = {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {
            "name": "web",
            "namespace": "ns",
            "uid": "u1",
            "resourceVersion": "7",
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{...}" * 100,
                "ironlb.io/address-pool": "p",
            },
            "labels": {"app": "web"},
        },
        "spec": {
            "type": "LoadBalancer",
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1", "ipMode": "VIP"}]}},
    }
    # The expected view is written out, not derived from ``full``: which fields stay is the point.
    assert svc.allocation_view(full) == {  # type: ignore[arg-type]
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {
            "name": "web",
            "namespace": "ns",
            "uid": "u1",
            "resourceVersion": "7",
            "annotations": {"ironlb.io/address-pool": "p"},
            "labels": {"app": "web"},
        },
        "spec": {"type": "LoadBalancer", "ports": [{"protocol": "TCP", "port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1", "ipMode": "VIP"}]}},
    }
