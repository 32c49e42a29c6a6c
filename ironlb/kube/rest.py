"""Raw JSON requests through the official client's generic request path.

Why not the generated API classes (``CoreV1Api``...): in client 37, importing
``core_v1_api`` builds a few hundred pydantic models and validators, which costs the
controller about 0.8 s of start-up and 20 MiB of memory (``CoordinationV1Api`` and
``DiscoveryV1Api`` 0.2 s each), while ironlb never uses their models: every call
reads and writes raw camelCase JSON (``_preload_content=False``). So ironlb sends its
requests the way the client's own ``DynamicClient`` does: ``ApiClient.param_serialize``
then ``ApiClient.call_api``, with the same authentication, TLS, retries, timeouts and
errors (``ApiException`` for a non-2xx answer). Hand-written is only the mapping from
the generated methods' names to their paths (``ENDPOINTS``, checked against the client's
source by a test) and of their keyword arguments to query parameters (``Rest.lister``),
so an ``Informer`` takes a lister exactly as it took ``CoreV1Api.list_...``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ironlb.kube.client import field_manager

# The generated methods' keyword arguments and the query parameters they stand for.
QUERY_NAMES = {
    "limit": "limit",
    "_continue": "continue",
    "watch": "watch",
    "resource_version": "resourceVersion",
    "allow_watch_bookmarks": "allowWatchBookmarks",
    "timeout_seconds": "timeoutSeconds",
    "field_selector": "fieldSelector",
    "label_selector": "labelSelector",
    "field_manager": "fieldManager",
}

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"

ENDPOINTS: dict[str, tuple[str, str]] = {
    # The generated client's method name -> (HTTP method, path), exactly as in its source
    # (tests/kube/test_rest.py checks), so call sites name what they call as the client's
    # documentation does, and the RBAC check (tests/install/apicalls.py) finds them.
    "list_service_for_all_namespaces": ("GET", "/api/v1/services"),
    "patch_namespaced_service_status": ("PATCH", "/api/v1/namespaces/{namespace}/services/{name}/status"),
    "list_namespaced_config_map": ("GET", "/api/v1/namespaces/{namespace}/configmaps"),
    "list_endpoint_slice_for_all_namespaces": ("GET", "/apis/discovery.k8s.io/v1/endpointslices"),
    "list_node": ("GET", "/api/v1/nodes"),
    "read_namespaced_config_map": ("GET", "/api/v1/namespaces/{namespace}/configmaps/{name}"),
    "list_event_for_all_namespaces": ("GET", "/api/v1/events"),
    "list_namespaced_event": ("GET", "/api/v1/namespaces/{namespace}/events"),
    "list_namespaced_pod": ("GET", "/api/v1/namespaces/{namespace}/pods"),
    "read_namespaced_service": ("GET", "/api/v1/namespaces/{namespace}/services/{name}"),
    "create_namespaced_event": ("POST", "/api/v1/namespaces/{namespace}/events"),
    "patch_namespaced_event": ("PATCH", "/api/v1/namespaces/{namespace}/events/{name}"),
    "read_namespaced_secret": ("GET", "/api/v1/namespaces/{namespace}/secrets/{name}"),
    "create_namespaced_secret": ("POST", "/api/v1/namespaces/{namespace}/secrets"),
    "list_namespaced_lease": ("GET", "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"),
    "read_namespaced_lease": ("GET", "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"),
    "create_namespaced_lease": ("POST", "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"),
    "replace_namespaced_lease": ("PUT", "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"),
    "list_namespace": ("GET", "/api/v1/namespaces"),
    "list_namespaced_secret": ("GET", "/api/v1/namespaces/{namespace}/secrets"),
}

_IRONLB = "/apis/ironlb.io/v1beta1"
CUSTOM_ENDPOINTS: dict[str, tuple[str, str]] = {
    # ironlb's own kinds (config/crd), named as a generated client would name them: each is the
    # client's generic ``..._custom_object`` method and path with group, version and plural filled
    # in (tests/kube/test_rest.py checks), so the RBAC check finds the resource of each call.
    # The configuration (both programs list and watch it in ironlb's namespace).
    "list_namespaced_ip_address_pool": ("GET", _IRONLB + "/namespaces/{namespace}/ipaddresspools"),
    "list_namespaced_l2_advertisement": ("GET", _IRONLB + "/namespaces/{namespace}/l2advertisements"),
    "list_namespaced_bgp_advertisement": ("GET", _IRONLB + "/namespaces/{namespace}/bgpadvertisements"),
    "list_namespaced_bgp_peer": ("GET", _IRONLB + "/namespaces/{namespace}/bgppeers"),
    "list_namespaced_bfd_profile": ("GET", _IRONLB + "/namespaces/{namespace}/bfdprofiles"),
    "list_namespaced_community": ("GET", _IRONLB + "/namespaces/{namespace}/communities"),
    "list_namespaced_cluster_ip_advertisement": (
        "GET",
        _IRONLB + "/namespaces/{namespace}/clusteripadvertisements",
    ),
    # What the programs publish: each program's ConfigurationState (created, then its status;
    # listed by ironlb status).
    "list_namespaced_configuration_state": ("GET", _IRONLB + "/namespaces/{namespace}/configurationstates"),
    "create_namespaced_configuration_state": (
        "POST",
        _IRONLB + "/namespaces/{namespace}/configurationstates",
    ),
    "patch_namespaced_configuration_state_status": (
        "PATCH",
        _IRONLB + "/namespaces/{namespace}/configurationstates/{name}/status",
    ),
    # ... and each speaker's status objects, in the Services' namespaces.
    "list_service_l2_status_for_all_namespaces": ("GET", _IRONLB + "/servicel2statuses"),
    "create_namespaced_service_l2_status": ("POST", _IRONLB + "/namespaces/{namespace}/servicel2statuses"),
    "patch_namespaced_service_l2_status_status": (
        "PATCH",
        _IRONLB + "/namespaces/{namespace}/servicel2statuses/{name}/status",
    ),
    "delete_namespaced_service_l2_status": (
        "DELETE",
        _IRONLB + "/namespaces/{namespace}/servicel2statuses/{name}",
    ),
    "list_service_bgp_status_for_all_namespaces": ("GET", _IRONLB + "/servicebgpstatuses"),
    "create_namespaced_service_bgp_status": ("POST", _IRONLB + "/namespaces/{namespace}/servicebgpstatuses"),
    "patch_namespaced_service_bgp_status_status": (
        "PATCH",
        _IRONLB + "/namespaces/{namespace}/servicebgpstatuses/{name}/status",
    ),
    "delete_namespaced_service_bgp_status": (
        "DELETE",
        _IRONLB + "/namespaces/{namespace}/servicebgpstatuses/{name}",
    ),
}


class Rest:
    """Requests to one API server through ``api_client``; answers are urllib3 responses, unread.

    Every write (POST, PUT, PATCH) carries the program's ``fieldManager`` (``ironlb-controller``,
    ``ironlb-speaker``), so ``managedFields`` and the audit log say who wrote what.
    """

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client
        self.field_manager = field_manager(api_client)

    def call(
        self,
        endpoint: str,
        *,
        namespace: str | None = None,
        name: str | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = JSON,
        timeout: Any = None,
    ) -> Any:
        """Call ``endpoint`` (a key of ``ENDPOINTS`` or ``CUSTOM_ENDPOINTS``); raises ``ApiException``
        for an answer other than 2xx. Read the answer to its end (``.data`` or ``.read()``): only then does
        its connection go back to the pool."""
        method, path = ENDPOINTS[endpoint] if endpoint in ENDPOINTS else CUSTOM_ENDPOINTS[endpoint]
        if method != "GET":
            query = {"fieldManager": self.field_manager, **(query or {})}
        params = {"namespace": namespace, "name": name}
        headers = {"Accept": JSON}
        if body is not None:
            headers["Content-Type"] = content_type
        serialized = self.api_client.param_serialize(
            method,
            path,
            path_params={k: v for k, v in params.items() if "{" + k + "}" in path},
            query_params=[(k, v) for k, v in (query or {}).items() if v is not None] or None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        resp = self.api_client.call_api(*serialized, _request_timeout=timeout)
        if not 200 <= resp.status <= 299:
            resp.read()  # type: ignore[no-untyped-call]
            raise ApiException.from_response(http_resp=resp, body=None, data=None)
        return resp.response

    def lister(self, endpoint: str) -> Callable[..., Any]:
        """A list-or-watch function for ``endpoint`` that takes the keyword arguments of the
        generated ``list_...`` method (those ``Informer`` passes), answering raw."""

        def list_or_watch(namespace: str | None = None, **kwargs: Any) -> Any:
            timeout = kwargs.pop("_request_timeout", None)
            kwargs.pop("_preload_content", None)  # answers are always raw here
            unknown = set(kwargs) - set(QUERY_NAMES)
            if unknown:
                raise TypeError(f"{endpoint}: unexpected arguments {sorted(unknown)}")
            query = {QUERY_NAMES[k]: v for k, v in kwargs.items()}
            return self.call(endpoint, namespace=namespace, query=query, timeout=timeout)

        return list_or_watch
