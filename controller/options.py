"""Command-line flags of ``ironlb-controller``, each with an environment equivalent.

Parsed at the edge into a frozen ``ControllerOptions``; nothing else in the controller
reads ``sys.argv`` or the environment. How a value is found (flag, then environment
variable, then default) and how a bad one is refused is ``ironlb.programs.flags``, shared
with the speaker, which also declares the settings both programs have.

The Lease holder's identity is unique per process, as client-go's callers make it:
the pod name (``POD_NAME``) or the host name, ``_`` and a random UUID; ``--identity``
(``IRONLB_IDENTITY``) sets it verbatim.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ironlb.cluster.manifests import DEFAULT_CONFIGMAP, DEFAULT_NAMESPACE
from ironlb.programs import flags
from ironlb.programs.flags import Flag, ProgramParser

PROGRAM = "ironlb-controller"
DEFAULT_METRICS_ADDRESS = ":7472"
DEFAULT_MEMBERSHIP_SECRET = "ironlb-memberlist"


@dataclass(frozen=True)
class ControllerOptions:
    kubeconfig: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    configmap: str = DEFAULT_CONFIGMAP
    lb_class: str | None = None
    metrics_address: str = DEFAULT_METRICS_ADDRESS
    leader_elect: bool = True
    lease_name: str = "ironlb-controller"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    identity: str = "ironlb-controller"
    instance: str = ""
    """This pod's (or host's) name, for Events' ``reportingInstance``; empty: ``identity``."""
    log_format: Literal["text", "json"] = "text"
    workers: int = 8
    membership_secret: str = DEFAULT_MEMBERSHIP_SECRET  # "" disables creating it
    manifests: str | None = None
    """A manifest directory instead of the Kubernetes API (``controller.standalone``)."""
    poll_interval: float = 0.2
    """Seconds between reads of ``manifests``."""

    @property
    def lease_namespace(self) -> str:
        return self.namespace


def seconds(name: str, env: str, what: str, default: float) -> Flag:
    return Flag(name, env, what, default=default, convert=flags.positive, metavar="SECONDS")


FLAGS: tuple[Flag, ...] = (
    flags.KUBECONFIG,
    replace(flags.NAMESPACE, help="namespace of the ConfigMap, the Lease and the membership Secret"),
    flags.CONFIGMAP,
    flags.LB_CLASS,
    flags.metrics_address_flag(DEFAULT_METRICS_ADDRESS),
    Flag(
        "--leader-elect",
        "IRONLB_LEADER_ELECT",
        "elect one active replica through a Lease",
        default=True,
        switch=True,
    ),
    Flag(
        "--lease-name", "IRONLB_LEASE_NAME", "name of the Lease", default="ironlb-controller", metavar="NAME"
    ),
    seconds(
        "--lease-duration",
        "IRONLB_LEASE_DURATION",
        "seconds a standby waits before taking an unrenewed Lease",
        15.0,
    ),
    seconds(
        "--renew-deadline",
        "IRONLB_RENEW_DEADLINE",
        "seconds the leader keeps writing without a successful renewal",
        10.0,
    ),
    seconds("--retry-period", "IRONLB_RETRY_PERIOD", "seconds between election attempts", 2.0),
    Flag(
        "--identity",
        "IRONLB_IDENTITY",
        "holder identity in the Lease, unique per process",
        shown_default="POD_NAME or the host name, '_' and a random UUID",
        metavar="ID",
    ),
    flags.LOG_FORMAT,
    Flag(
        "--workers",
        "IRONLB_WORKERS",
        "Services reconciled in parallel (decisions stay serial; writes overlap)",
        default=8,
        convert=flags.at_least_one,
        metavar="N",
    ),
    Flag(
        "--membership-secret",
        "IRONLB_MEMBERSHIP_SECRET",
        "Secret holding the speakers' membership key, created by the leader when missing; "
        "empty: never create it",
        default=DEFAULT_MEMBERSHIP_SECRET,
        off_when_empty=True,
        metavar="NAME",
    ),
    replace(
        flags.MANIFESTS,
        help="run without Kubernetes over this manifest directory: assign IPs to its Services and write "
        "their statuses to DIR/.ironlb-status/ (no leader election, no metrics server)",
    ),
    flags.poll_interval_flag(0.2),
)


def build_parser() -> ProgramParser:
    """The flags; every one's help says what it is, its default and its environment variable."""
    return ProgramParser(PROGRAM, "ironlb controller: assigns IPs to LoadBalancer Services.", FLAGS)


def default_identity(env: Mapping[str, str]) -> tuple[str, str]:
    """(identity, instance): ``POD_NAME`` or the host name, plus ``_<uuid>`` for the identity."""
    instance = env.get("POD_NAME") or socket.gethostname()
    return f"{instance}_{uuid.uuid4()}", instance


def parse_options(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> ControllerOptions:
    env = os.environ if env is None else env
    p = build_parser()
    v = p.parse(argv, env)
    if not v["lease_duration"] > v["renew_deadline"] > v["retry_period"]:
        p.error("need --lease-duration > --renew-deadline > --retry-period")
    identity, instance = (v["identity"], v["identity"]) if v["identity"] else default_identity(env)
    return v.into(
        ControllerOptions,
        **flags.cluster_source(p, v),
        identity=identity,
        instance=instance,
        membership_secret=v["membership_secret"].strip(),
    )
