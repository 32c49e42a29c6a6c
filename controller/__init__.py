"""ironlb's controller: allocates LoadBalancer IPs and writes them to Kubernetes.

Decisions (pure): ``reconciler`` (one Service), ``session`` (what a term of leadership
adopts and keeps), ``ironlb.programs.configstate`` (the last good config). The shell:
``runtime`` wires informers, the work queue, workers and leader election and runs the
lifecycle; ``servicesync`` is one Service's path (decide, write, Events); ``configfollow``
publishes config verdicts (log, metrics, Events); ``membershipsecret`` creates the
speakers' Secret; ``standalone`` is the manifest-directory mode; ``metrics`` declares what
is exported, ``options`` reads flags and ``__main__`` runs it.
"""
