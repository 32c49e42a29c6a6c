"""Readers of raw Service dicts (ironlb.services) and their translation into allocation requests."""

from __future__ import annotations

import pytest

from ironlb import services as svc
from ironlb.allocator import AllocationRequest, Refusal, namespace_labels, request_from_service
from tests.allocator.builders import ip, service


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({}, None),
        ({"metallb.universe.tf/address-pool": "c"}, "c"),
        ({"metallb.universe.tf/address-pool": "c", "metallb.io/address-pool": "b"}, "b"),
        (
            {
                "metallb.universe.tf/address-pool": "c",
                "metallb.io/address-pool": "b",
                "ironlb.io/address-pool": "a",
            },
            "a",
        ),
        ({"ironlb.io/address-pool": "  "}, None),
        ({"example.com/address-pool": "x"}, None),
    ],
)
def test_annotation_prefix_fallbacks(annotations: dict[str, str], expected: str | None) -> None:
    assert svc.address_pool(service(annotations=annotations)) == expected


def test_annotation_keys_are_ironlbs() -> None:
    assert svc.ANNOTATION_ALLOW_SHARED_IP == "ironlb.io/allow-shared-ip"
    assert svc.ANNOTATION_LOAD_BALANCER_IPS == "ironlb.io/loadBalancerIPs"
    assert svc.ANNOTATION_IP_ALLOCATED_FROM_POOL == "ironlb.io/ip-allocated-from-pool"


@pytest.mark.parametrize(
    ("type_", "cls", "configured", "managed"),
    [
        ("LoadBalancer", None, None, True),
        ("ClusterIP", None, None, False),
        ("NodePort", None, None, False),
        ("LoadBalancer", "ironlb.io/lb", None, False),
        ("LoadBalancer", "ironlb.io/lb", "ironlb.io/lb", True),
        ("LoadBalancer", None, "ironlb.io/lb", False),
        ("LoadBalancer", "other", "ironlb.io/lb", False),
    ],
)
def test_type_and_class_filter(type_: str, cls: str | None, configured: str | None, managed: bool) -> None:
    spec = {"loadBalancerClass": cls} if cls else {}
    assert svc.is_managed(service(type_=type_, spec=spec), configured) is managed


@pytest.mark.parametrize(
    ("annotations", "spec", "expected"),
    [
        ({}, {}, []),
        ({}, {"loadBalancerIP": "10.0.0.1"}, ["10.0.0.1"]),
        ({"ironlb.io/loadBalancerIPs": "10.0.0.1, fd00::1"}, {}, ["10.0.0.1", "fd00::1"]),
        ({"metallb.universe.tf/loadBalancerIPs": "fd00::1"}, {}, ["fd00::1"]),
        ({"ironlb.io/loadBalancerIPs": "10.0.0.1"}, {"loadBalancerIP": "10.0.0.1"}, ["10.0.0.1"]),
    ],
)
def test_requested_ips(annotations: dict[str, str], spec: dict[str, str], expected: list[str]) -> None:
    assert [str(i) for i in svc.requested_ips(service(annotations=annotations, spec=spec))] == expected


@pytest.mark.parametrize(
    ("annotations", "spec", "fragment"),
    [
        ({"ironlb.io/loadBalancerIPs": "10.0.0.1,10.0.0.2"}, {}, "at most one IPv4"),
        ({"ironlb.io/loadBalancerIPs": "10.0.0.300"}, {}, "'10.0.0.300' is not a valid IP"),
        ({}, {"loadBalancerIP": "banana"}, "spec.loadBalancerIP"),
        ({"ironlb.io/loadBalancerIPs": "10.0.0.1"}, {"loadBalancerIP": "10.0.0.2"}, "disagree"),
    ],
)
def test_requested_ips_errors(annotations: dict[str, str], spec: dict[str, str], fragment: str) -> None:
    with pytest.raises(svc.ServiceSpecError, match=fragment):
        svc.requested_ips(service(annotations=annotations, spec=spec))


def test_ports_backend_and_policies() -> None:
    s = service(
        spec={
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53}],
            "externalTrafficPolicy": "Local",
            "internalTrafficPolicy": "Local",
            "selector": {"b": "2", "a": "1"},
        }
    )
    assert svc.ports(s) == frozenset({("UDP", 53), ("TCP", 53)})
    assert svc.backend_key(s) == 'Local {"a":"1","b":"2"}'
    assert svc.external_traffic_policy(s) == "Local" and svc.internal_traffic_policy(s) == "Local"
    plain = service()
    assert svc.backend_key(plain) == "Cluster"
    assert svc.external_traffic_policy(plain) == "Cluster" and svc.internal_traffic_policy(plain) == "Cluster"
    # eTP Cluster ignores the selector: two Cluster services always have equal backend keys
    assert svc.backend_key(service(spec={"selector": {"x": "y"}})) == "Cluster"


def test_families_and_policy() -> None:
    s = service(spec={"ipFamilies": ["IPv6", "IPv4"], "ipFamilyPolicy": "RequireDualStack"})
    assert svc.ip_families(s) == (6, 4) and svc.ip_family_policy(s) == "RequireDualStack"
    assert svc.ip_families(service()) == () and svc.ip_family_policy(service()) == "SingleStack"
    with pytest.raises(svc.ServiceSpecError, match="IPv5"):
        svc.ip_families(service(spec={"ipFamilies": ["IPv5"]}))
    with pytest.raises(svc.ServiceSpecError, match="Sometimes"):
        svc.ip_family_policy(service(spec={"ipFamilyPolicy": "SometimesDualStack"}))


def test_ingress_ips_skip_hostnames_and_garbage() -> None:
    s = service(ingress=("10.0.0.1", "nonsense", "10.0.0.1", "fd00::1"))
    s["status"]["loadBalancer"]["ingress"].append({"hostname": "lb.example.com"})
    assert [str(i) for i in svc.ingress_ips(s)] == ["10.0.0.1", "fd00::1"]
    assert svc.ingress_ips(service()) == ()


def test_sharing_key_and_bgp_attributes_raw() -> None:
    s = service(
        annotations={
            "metallb.universe.tf/allow-shared-ip": "web",
            "ironlb.io/bgp-communities": "no-export, 64500:1",
            "metallb.io/bgp-localpref": "200",
            "ironlb.io/ip-allocated-from-pool": "default",
        }
    )
    assert svc.sharing_key(s) == "web"
    assert svc.bgp_communities(s) == "no-export, 64500:1"
    assert svc.bgp_localpref(s) == "200"
    assert svc.allocated_from_pool(s) == "default"
    assert svc.sharing_key(service(annotations={"ironlb.io/allow-shared-ip": ""})) is None


def test_request_from_service() -> None:
    s = service(
        "web",
        "prod",
        annotations={"ironlb.io/address-pool": "p", "ironlb.io/allow-shared-ip": "k"},
        spec={"ipFamilies": ["IPv4"], "ipFamilyPolicy": "PreferDualStack", "loadBalancerIP": "10.0.0.9"},
        ingress=("10.0.0.9",),
    )
    assert request_from_service(s) == AllocationRequest(
        key="prod/web",
        families=(4,),
        family_policy="PreferDualStack",
        requested_ips=(ip("10.0.0.9"),),
        pool="p",
        sharing_key="k",
        ports=frozenset({("TCP", 80)}),
        backend_key="Cluster",
        current_ips=(ip("10.0.0.9"),),
        namespace="prod",
        namespace_labels=(("kubernetes.io/metadata.name", "prod"),),
    )


def test_request_carries_namespace_and_labels_for_service_allocation() -> None:
    s = service("web", "prod")
    s["metadata"]["labels"] = {"app": "web", "tier": "front"}
    namespaces = namespace_labels(
        [
            {"kind": "Namespace", "metadata": {"name": "prod", "labels": {"team": "a"}}},
            {"kind": "Namespace", "metadata": {"name": "dev"}},
        ]
    )
    assert namespaces == {
        "prod": {"team": "a", "kubernetes.io/metadata.name": "prod"},  # set by the API server; here too
        "dev": {"kubernetes.io/metadata.name": "dev"},
    }
    out = request_from_service(s, namespaces)
    assert isinstance(out, AllocationRequest)
    assert (out.namespace, out.namespace_labels, out.service_labels) == (
        "prod",
        (("kubernetes.io/metadata.name", "prod"), ("team", "a")),
        (("app", "web"), ("tier", "front")),
    )
    unknown = request_from_service(service("x", "elsewhere"), namespaces)
    assert isinstance(unknown, AllocationRequest)
    assert unknown.namespace_labels == (("kubernetes.io/metadata.name", "elsewhere"),)


def test_request_families_follow_requested_ips_when_unset() -> None:
    out = request_from_service(service(annotations={"ironlb.io/loadBalancerIPs": "fd00::5"}))
    assert isinstance(out, AllocationRequest) and out.families == (6,)


def test_malformed_service_is_refused() -> None:
    out = request_from_service(service(spec={"loadBalancerIP": "nope"}))
    assert isinstance(out, Refusal) and out.code == "invalid-request" and "spec.loadBalancerIP" in out.reason
