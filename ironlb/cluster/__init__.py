"""The cluster-state seam: one way to read Services, EndpointSlices, Nodes and the config."""

from ironlb.cluster.seam import ClusterSnapshot, ClusterSource, ClusterSourceUnavailable

__all__ = ["ClusterSnapshot", "ClusterSource", "ClusterSourceUnavailable"]
