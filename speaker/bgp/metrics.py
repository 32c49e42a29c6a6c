"""Prometheus metrics of the BGP backend (names follow MetalLB's where the meaning is the same).

Defined once at import, on the default registry that the speaker's metrics
server exports; labels are the peer id (its address). ``SESSION_UP`` series are
managed by the driver's ``track_sessions`` (created at 0 when a peer selects this
node, removed when it no longer does), so ``ironlb_bgp_session_up == 0`` also
catches sessions that never open.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SESSION_UP = Gauge(
    "ironlb_bgp_session_up",
    "BGP session with the peer is established (1) or not (0); one series per peer selected for this "
    "node, 0 from the moment it is configured until Established",
    ["peer"],
)
UPDATES = Counter(
    "ironlb_bgp_updates_total", "Route announcements and withdrawals acknowledged by ExaBGP", ["peer"]
)
ANNOUNCED = Gauge(
    "ironlb_bgp_announced_prefixes_total", "Prefixes currently announced to the peer (acknowledged)", ["peer"]
)
EXABGP_RESTARTS = Counter(
    "ironlb_bgp_exabgp_restarts_total", "ExaBGP child process (re)starts after a failure"
)
EXABGP_UP = Gauge("ironlb_bgp_exabgp_up", "ExaBGP child process is running and its API connected")
