"""ironlb against a running cluster: what a config change would do, and what runs now.

Pure modules over what the cluster shows (``ironlb.cluster.seam.ClusterSnapshot``, events and
speaker metrics as plain data); reading the cluster is ``ironlb.kube.snapshot`` and
``ironlb.kube.published``, the commands are ``ironlb.cli.live`` (``ironlb plan --kubeconfig``) and
``ironlb.cli.status``.

- ``whatif``: the running state (from the Services' status) and the state a proposed config
  would lead to (the controller's own allocator, adopting the current IPs), and the difference;
- ``routes``: the BGP side of that difference, computed only where it can differ;
- ``render``: the difference as tables and as JSON;
- ``status``: per Service and per node, what the programs publish (``ironlb status``);
- ``metrics``: the speakers' ``/metrics`` read into that view.
"""
