"""The Kubernetes implementation of ironlb's cluster-state seam and its writes.

The only package allowed to import the official ``kubernetes`` client. It turns the
blocking client into: informers (list, then watch, with resume and relist) feeding a
de-duplicating work queue; a status/annotation writer; an Event recorder; and
Lease-based leader election. Decisions live in pure functions beside each adapter.
"""

from ironlb.kube.client import client_with_token, make_api_client
from ironlb.kube.workqueue import WorkQueue

__all__ = ["WorkQueue", "client_with_token", "make_api_client"]
