"""Command-line flags of ``ironlb-controller``, each with an environment equivalent.

Parsed with argparse at the edge into a frozen ``ControllerOptions``; nothing else
in the controller reads ``sys.argv`` or the environment. A flag wins over its
environment variable, which wins over the default.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ironlb.cluster.manifests import DEFAULT_CONFIGMAP, DEFAULT_NAMESPACE

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


def split_address(address: str) -> tuple[str, int]:
    """``":7472"`` -> ``("0.0.0.0", 7472)``; ``"[::1]:80"`` and ``"127.0.0.1:0"`` work too."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"metrics address {address!r}: expected HOST:PORT or :PORT")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def _bool_env(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    """The flags, with defaults from ``env``; every flag names its environment variable in its help."""

    def e(name: str, default: str | None = None) -> str | None:
        value = env.get(name)
        return value if value else default

    def positive(text: str) -> float:
        value = float(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text}: must be > 0")
        return value

    p = argparse.ArgumentParser(
        prog="ironlb-controller", description="ironlb controller: assigns IPs to LoadBalancer Services."
    )
    p.add_argument(
        "--kubeconfig",
        default=None,
        help="kubeconfig file (env KUBECONFIG); default: in-cluster credentials",
    )
    p.add_argument(
        "--namespace",
        default=e("IRONLB_NAMESPACE", DEFAULT_NAMESPACE),
        help="namespace of the ConfigMap and the Lease (env IRONLB_NAMESPACE)",
    )
    p.add_argument(
        "--configmap",
        default=e("IRONLB_CONFIGMAP", DEFAULT_CONFIGMAP),
        help="name of the ConfigMap (env IRONLB_CONFIGMAP)",
    )
    p.add_argument(
        "--lb-class",
        default=e("IRONLB_LB_CLASS"),
        help="only Services of this loadBalancerClass (env IRONLB_LB_CLASS); "
        "default: only Services without a class",
    )
    p.add_argument(
        "--metrics-address",
        default=e("IRONLB_METRICS_ADDRESS", DEFAULT_METRICS_ADDRESS),
        help="HOST:PORT for /metrics, /healthz, /readyz (env IRONLB_METRICS_ADDRESS)",
    )
    p.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=_bool_env(env.get("IRONLB_LEADER_ELECT"), True),
        help="elect one active replica through a Lease (env IRONLB_LEADER_ELECT)",
    )
    p.add_argument(
        "--lease-name",
        default=e("IRONLB_LEASE_NAME", "ironlb-controller"),
        help="name of the Lease (env IRONLB_LEASE_NAME)",
    )
    p.add_argument(
        "--lease-duration",
        type=positive,
        default=float(e("IRONLB_LEASE_DURATION", "15") or 15),
        help="seconds a standby waits before taking an unrenewed Lease (env IRONLB_LEASE_DURATION)",
    )
    p.add_argument(
        "--renew-deadline",
        type=positive,
        default=float(e("IRONLB_RENEW_DEADLINE", "10") or 10),
        help="seconds the leader keeps writing without a successful renewal (env IRONLB_RENEW_DEADLINE)",
    )
    p.add_argument(
        "--retry-period",
        type=positive,
        default=float(e("IRONLB_RETRY_PERIOD", "2") or 2),
        help="seconds between election attempts (env IRONLB_RETRY_PERIOD)",
    )
    p.add_argument(
        "--identity",
        default=e("POD_NAME") or e("IRONLB_IDENTITY") or socket.gethostname(),
        help="holder identity in the Lease (env POD_NAME; default: host name)",
    )
    p.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=e("IRONLB_LOG_FORMAT", "text"),
        help="log format (env IRONLB_LOG_FORMAT)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=int(e("IRONLB_WORKERS", "8") or 8),
        help="Services reconciled in parallel (decisions stay serial; writes overlap) (env IRONLB_WORKERS)",
    )
    p.add_argument(
        "--membership-secret",
        # Not e(): an empty IRONLB_MEMBERSHIP_SECRET means "disabled", not "default".
        default=env.get("IRONLB_MEMBERSHIP_SECRET", DEFAULT_MEMBERSHIP_SECRET),
        help="Secret holding the speakers' membership key, created by the leader when missing "
        "(env IRONLB_MEMBERSHIP_SECRET); empty: never create it",
    )
    p.add_argument(
        "--manifests",
        default=e("IRONLB_MANIFESTS"),
        help="run without Kubernetes over this manifest directory (env IRONLB_MANIFESTS): "
        "assign IPs to its Services and write their statuses to DIR/.ironlb-status/ "
        "(no leader election, no metrics server)",
    )
    p.add_argument(
        "--poll-interval",
        type=positive,
        default=float(e("IRONLB_POLL_INTERVAL", "0.2") or 0.2),
        help="with --manifests: seconds between reads of the directory (env IRONLB_POLL_INTERVAL)",
    )
    return p


def parse_options(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> ControllerOptions:
    env = os.environ if env is None else env
    p = build_parser(env)
    a = p.parse_args(argv)
    if a.manifests and a.kubeconfig:
        p.error("--manifests and --kubeconfig are two different cluster sources: give one")
    if not a.lease_duration > a.renew_deadline > a.retry_period:
        p.error("need --lease-duration > --renew-deadline > --retry-period")
    if a.workers < 1:
        p.error("--workers must be at least 1")
    try:
        split_address(a.metrics_address)
    except ValueError as exc:
        p.error(str(exc))
    return ControllerOptions(
        kubeconfig=None if a.manifests else (a.kubeconfig or env.get("KUBECONFIG") or None),
        namespace=a.namespace,
        configmap=a.configmap,
        lb_class=a.lb_class or None,
        metrics_address=a.metrics_address,
        leader_elect=a.leader_elect,
        lease_name=a.lease_name,
        lease_duration=a.lease_duration,
        renew_deadline=a.renew_deadline,
        retry_period=a.retry_period,
        identity=a.identity,
        log_format="json" if a.log_format == "json" else "text",
        workers=a.workers,
        membership_secret=a.membership_secret.strip(),
        manifests=a.manifests or None,
        poll_interval=a.poll_interval,
    )
