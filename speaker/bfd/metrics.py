"""Prometheus metrics of the BFD backend (``ironlb_bfd_session_up``: MetalLB's ``metallb_bfd_session_up``).

Defined once at import, on the default registry that the speaker's metrics server exports.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SESSION_UP = Gauge("ironlb_bfd_session_up", "BFD session with the peer is up (1) or not (0)", ["peer"])
BFDD_UP = Gauge("ironlb_bfd_bfdd_up", "FRR bfdd child process is running and its vty answers")
BFDD_RESTARTS = Counter("ironlb_bfd_bfdd_restarts_total", "bfdd child process (re)starts after a failure")
