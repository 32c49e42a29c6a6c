"""Network lab: containerlab topologies run on Linux network namespaces (``ironlb lab``).

``Lab`` (runner) brings a ``*.clab.yml`` up with real routers, ``running_lab``
(fixture) does it for tests, ``start_exabgp`` puts a BGP speaker on a node.
"""

from ironlb.lab.runner import Lab, LabError, namespace_name
from ironlb.lab.topology import Topology, TopologyError, load_topology

__all__ = ["Lab", "LabError", "Topology", "TopologyError", "load_topology", "namespace_name"]
