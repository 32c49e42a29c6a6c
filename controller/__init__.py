"""ironlb's controller: allocates LoadBalancer IPs and writes them to Kubernetes.

``reconciler`` decides (pure), ``configstate`` judges ConfigMaps (pure), ``runtime``
wires informers, the work queue, the writers and leader election together,
``metrics`` exposes what it does, ``options`` reads flags and ``__main__`` runs it.
"""
