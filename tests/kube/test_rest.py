"""``ironlb.kube.rest`` on the real API server; its endpoints are the generated client's."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from ironlb.kube.rest import CUSTOM_ENDPOINTS, ENDPOINTS, MERGE_PATCH, Rest
from tests.install.apicalls import client_paths
from tests.support.pytest_plugin import Kube


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_each_endpoint_is_the_generated_clients_method_and_path(endpoint: str) -> None:
    assert ENDPOINTS[endpoint] == client_paths()[endpoint]


@pytest.mark.parametrize("endpoint", sorted(CUSTOM_ENDPOINTS))
def test_each_custom_endpoint_is_a_generic_custom_object_path_filled_in(endpoint: str) -> None:
    method, path = CUSTOM_ENDPOINTS[endpoint]
    plural = path.removeprefix("/apis/ironlb.io/v1beta1/").split("/")
    plural_name = plural[2] if plural[0] == "namespaces" else plural[0]
    filled = {
        (m, p.replace("{group}", "ironlb.io").replace("{version}", "v1beta1"))
        for name, (m, p) in client_paths().items()
        if name.endswith(("_custom_object", "_custom_object_status", "_custom_object_for_all_namespaces"))
    }
    candidates = {
        (m, p.replace("{plural}", plural_name).replace("{resource_plural}", plural_name)) for m, p in filled
    }
    assert (method, path) in candidates
    # Named as a generated client would name it: the verb, and the scope, as in the path.
    verb = {"GET": "list", "POST": "create", "PATCH": "patch", "DELETE": "delete"}[method]
    assert endpoint.startswith(verb + "_")
    assert ("_namespaced_" in endpoint) == ("{namespace}" in path)
    assert endpoint not in client_paths()


def test_a_lister_refuses_an_argument_it_would_drop(kube: Kube) -> None:
    with pytest.raises(TypeError, match="pretty"):
        Rest(kube.api).lister("list_service_for_all_namespaces")(pretty="true")


def test_calls_answer_raw_json_and_raise_the_clients_errors(kube: Kube) -> None:
    rest = Rest(kube.api)
    spec = {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False, "ports": [{"port": 80}]}
    body = {"metadata": {"name": "a"}, "spec": spec}
    kube.core.create_namespaced_service(kube.ns, body)
    listed = json.loads(rest.lister("list_namespaced_config_map")(namespace=kube.ns, limit=5).data)
    assert listed["kind"] == "ConfigMapList"
    services = rest.lister("list_service_for_all_namespaces")(field_selector=f"metadata.namespace={kube.ns}")
    assert [o["metadata"]["name"] for o in json.loads(services.data)["items"]] == ["a"]
    patch = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}
    resp = rest.call(
        "patch_namespaced_service_status",
        namespace=kube.ns,
        name="a",
        body=patch,
        content_type=MERGE_PATCH,
    )
    assert json.loads(resp.data)["status"]["loadBalancer"]["ingress"] == [
        {"ip": "192.0.2.1", "ipMode": "VIP"}
    ]
    with pytest.raises(ApiException) as missing:
        rest.call("read_namespaced_secret", namespace=kube.ns, name="missing")
    assert missing.value.status == 404
