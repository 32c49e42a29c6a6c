"""The seam through which ironlb's programs read cluster state.

Two implementations stand behind it: the Kubernetes API (``ironlb.kube``, for
production) and a directory of manifests (``ironlb.cluster.manifests``, for
``ironlb plan``, the local lab and standalone use). Decisions take a
``ClusterSnapshot`` and never know which source produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ironlb.kube_types import ConfigMap, EndpointSlice, Namespace, Node, Secret, Service


@dataclass(frozen=True)
class ClusterSnapshot:
    """Everything the decisions need, as raw Kubernetes dicts, at one moment."""

    services: tuple[Service, ...] = ()
    endpoint_slices: tuple[EndpointSlice, ...] = ()
    nodes: tuple[Node, ...] = ()
    config_map: ConfigMap | None = None
    namespaces: tuple[Namespace, ...] = ()
    """For pools that admit Services by namespace labels (empty: only the namespaces' names are known)."""
    config_resources: tuple[Mapping[str, Any], ...] = ()
    """The ``ironlb.io`` config objects (IPAddressPool, BGPPeer, ...), as the API server or a manifest file
    gives them: with ``config_map``, the input of :func:`ironlb.config.load.load_config`."""
    secrets: tuple[Secret, ...] = ()
    """Secrets of ironlb's namespace a BGPPeer's ``passwordSecret`` may name (the speaker's source only;
    only their ``type`` and ``data.password`` are kept)."""
    revision: str = field(default="", compare=False)
    """Opaque marker that changes whenever the content may have changed."""


class ClusterSourceUnavailable(Exception):
    """The source cannot be read right now (temporary: keep what was last known, retry later)."""


class ClusterSource(Protocol):
    """A readable view of the cluster."""

    def snapshot(self) -> ClusterSnapshot:
        """The current state; raises ``ClusterSourceUnavailable`` when it cannot be read."""
        ...
