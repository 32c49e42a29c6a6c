"""What ironlb's programs publish in the cluster about what they do, read once for ``ironlb status``.

- Events: the controller's (``IPAllocated``, ``AllocationFailed``, ``ClearAssignment``,
  ``ConfigInvalid``...) and the speakers' (``nodeAssigned``), listed by their source
  component, cluster-wide (a Service may live in any namespace);
- the speakers' Pods in ironlb's namespace: whether the kubelet finds each one ready (its
  ``/readyz``), on which node, at which address (``hostNetwork``: the node's);
- the status objects the speakers and the controller write (``ServiceL2Status`` and
  ``ServiceBGPStatus`` in the Services' namespaces, ``ConfigurationState`` in ironlb's), when
  their CRDs are installed (a 404 is none).

Reads through ``ironlb.kube.snapshot.Reader`` (failures are one sentence, exit status 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ironlb.kube.snapshot import Reader
from ironlb.statusobjects.kinds import API_VERSION, CONFIGURATION_STATE, SERVICE_BGP_STATUS, SERVICE_L2_STATUS

COMPONENTS = ("ironlb-controller", "ironlb-speaker")
STATUS_KINDS = (
    (SERVICE_L2_STATUS, "list_service_l2_status_for_all_namespaces", "servicel2statuses"),
    (SERVICE_BGP_STATUS, "list_service_bgp_status_for_all_namespaces", "servicebgpstatuses"),
)
SPEAKER_SELECTOR = "app.kubernetes.io/name=ironlb,app.kubernetes.io/component=speaker"


@dataclass(frozen=True)
class Published:
    events: tuple[dict[str, Any], ...] = ()
    """ironlb's Events (raw core/v1 Events), every namespace."""
    speaker_pods: tuple[dict[str, Any], ...] = ()
    """The speakers' Pods in ironlb's namespace (raw)."""
    service_statuses: tuple[dict[str, Any], ...] = ()
    """``ServiceL2Status`` and ``ServiceBGPStatus`` objects, every namespace (raw)."""
    configuration_states: tuple[dict[str, Any], ...] = ()
    """``ConfigurationState`` objects in ironlb's namespace (raw)."""


def read_published(api: Any, *, namespace: str, pod_selector: str = SPEAKER_SELECTOR) -> Published:
    """ironlb's Events and its speakers' Pods."""
    reader = Reader(api)
    events: list[dict[str, Any]] = []
    for component in COMPONENTS:
        events += reader.list(
            "list_event_for_all_namespaces",
            "/api/v1/events",
            kind="Event",
            api_version="v1",
            query={"fieldSelector": f"source={component}"},
        )
    pods = reader.list(
        "list_namespaced_pod",
        f"/api/v1/namespaces/{namespace}/pods",
        kind="Pod",
        api_version="v1",
        namespace=namespace,
        query={"labelSelector": pod_selector},
    )
    statuses: list[dict[str, Any]] = []
    for kind, endpoint, plural in STATUS_KINDS:
        statuses += reader.list(
            endpoint, f"/apis/{API_VERSION}/{plural}", kind=kind, api_version=API_VERSION, missing_ok=True
        )
    states = reader.list(
        "list_namespaced_configuration_state",
        f"/apis/{API_VERSION}/namespaces/{namespace}/configurationstates",
        kind=CONFIGURATION_STATE,
        api_version=API_VERSION,
        namespace=namespace,
        missing_ok=True,
    )
    return Published(
        events=tuple(events),
        speaker_pods=tuple(pods),
        service_statuses=tuple(statuses),
        configuration_states=tuple(states),
    )
