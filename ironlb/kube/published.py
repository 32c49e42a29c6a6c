"""What ironlb's programs publish in the cluster about what they do, read once for ``ironlb status``.

- Events: the controller's (``IPAllocated``, ``AllocationFailed``, ``ClearAssignment``,
  ``ConfigInvalid``...) and the speakers' (``nodeAssigned``), listed by their source
  component, cluster-wide (a Service may live in any namespace);
- the speakers' Pods in ironlb's namespace: whether the kubelet finds each one ready (its
  ``/readyz``), on which node, at which address (``hostNetwork``: the node's);
- the status objects of issue 15 (``ServiceL2Status``, ``ServiceBGPStatus``,
  ``ConfigurationState``) join ``read_published`` when those kinds exist.

Reads through ``ironlb.kube.snapshot.Reader`` (failures are one sentence, exit status 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ironlb.kube.snapshot import Reader

COMPONENTS = ("ironlb-controller", "ironlb-speaker")
SPEAKER_SELECTOR = "app.kubernetes.io/name=ironlb,app.kubernetes.io/component=speaker"


@dataclass(frozen=True)
class Published:
    events: tuple[dict[str, Any], ...] = ()
    """ironlb's Events (raw core/v1 Events), every namespace."""
    speaker_pods: tuple[dict[str, Any], ...] = ()
    """The speakers' Pods in ironlb's namespace (raw)."""


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
    return Published(events=tuple(events), speaker_pods=tuple(pods))
