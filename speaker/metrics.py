"""The speaker's Prometheus metrics, in one place so names stay consistent with MetalLB's.

Module-level objects in the process's default registry (one speaker per process), which
the speaker serves with ``ironlb.probes.serve``, with ``ironlb_build_info``. The convention
of both programs is in ``controller.metrics``.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Gauge

from ironlb.build_info import register_build_info
from ironlb.programs.configmetrics import ConfigGauges

BUILD_INFO = register_build_info(REGISTRY, "ironlb-speaker")

LAYER2_REQUESTS = Counter(
    "ironlb_layer2_requests_received", "ARP/NDP requests received for an IP we own", ["ip"]
)
LAYER2_RESPONSES = Counter("ironlb_layer2_responses_sent", "ARP/NDP answers sent", ["ip"])
LAYER2_GRATUITOUS = Counter(
    "ironlb_layer2_gratuitous_sent", "Gratuitous ARP / unsolicited NA frames sent", ["ip"]
)
LAYER2_DROPPED = Counter(
    "ironlb_layer2_frames_dropped",
    "Frames the responder did not answer, by reason (ignored traffic and malformed frames)",
    ["interface", "reason"],
)
LAYER2_MALFORMED = Counter(
    "ironlb_layer2_malformed_frames",
    "Truncated or invalid frames (subset of dropped); not ARP replies, DAD probes or other normal traffic",
    ["interface"],
)
LAYER2_KERNEL_DROPS = Counter(
    "ironlb_layer2_kernel_drops",
    "Frames the kernel dropped before the responder read them (socket buffer full)",
    ["interface"],
)
LAYER2_CONFLICTS = Counter(
    "ironlb_layer2_conflicts",
    "Announcements of an IP this node owns by another MAC; each is answered by this node's own announcement",
    ["ip"],
)
LAYER2_SEND_ERRORS = Counter("ironlb_layer2_send_errors", "Frames that could not be sent", ["interface"])
SPEAKER_ANNOUNCED = Gauge(
    "ironlb_speaker_announced",
    "1 for each IP this node announces, by service and protocol",
    ["service", "protocol", "node", "ip"],
)
MEMBERSHIP_SIZE = Gauge("ironlb_membership_members", "Speakers this node considers live (incl. itself)")
MEMBERSHIP_SUSPICIONS = Counter("ironlb_membership_suspicions", "Peers this node started to suspect")
MEMBERSHIP_DEATHS = Counter("ironlb_membership_deaths", "Peers this node declared dead")
MEMBERSHIP_CONFIRMED = Counter(
    "ironlb_membership_confirmed_suspicions",
    "Suspicions confirmed by a helper's nack or learnt from a peer: the suspect's layer-2 IPs move at once",
)
MEMBERSHIP_WITHDRAWN = Counter(
    "ironlb_membership_withdrawn_verdicts",
    "Suspicions or deaths this node reached alone and undid: the peer spoke, or contact resumed after a cut",
)
MEMBERSHIP_HEALTH = Gauge(
    "ironlb_membership_local_health",
    "Local health score (Lifeguard): this speaker's membership timeouts are multiplied by 1 + score",
)
MEMBERSHIP_BAD_MAC = Counter(
    "ironlb_membership_bad_mac_drops", "Membership datagrams dropped because their HMAC did not verify"
)
MEMBERSHIP_MALFORMED = Counter(
    "ironlb_membership_malformed_drops", "Authenticated membership datagrams that did not decode"
)
CONFIG = ConfigGauges.register(REGISTRY)
SOURCE_UNAVAILABLE = Gauge(
    "ironlb_cluster_source_unavailable_bool", "1 while the cluster-state source cannot be read"
)
STATUS_OBJECT_WRITES = Counter(
    "ironlb_status_object_writes",
    "Writes of this node's ServiceL2Status/ServiceBGPStatus objects (create, status patch, delete) "
    "by result: ok, gone (the object or its namespace was gone), error (will be retried)",
    ["kind", "result"],
)
STATUS_OBJECT_CLEANUPS = Counter(
    "ironlb_status_object_cleanups",
    "Deletes of other nodes' stale ServiceL2Status/ServiceBGPStatus objects (a dead node's, or a "
    "layer-2 owner's this node took over) by result: ok, gone (already deleted), kept (written again "
    "since it was listed: its node is back), error (will be retried)",
    ["kind", "result"],
)
K8S_CLIENT_ERRORS = Counter(
    "ironlb_k8s_client_errors",
    "Requests to the API server that failed for a reason retrying alone will not fix: "
    "tls (certificate did not verify), unauthorized (401), forbidden (403)",
    ["reason"],
)
