"""Command-line flags of ``ironlb-controller``, each with an environment equivalent.

Parsed with argparse at the edge into a frozen ``ControllerOptions``; nothing else
in the controller reads ``sys.argv`` or the environment. A flag wins over its
environment variable, which wins over the default; a bad value in either is a usage
error naming the flag or the variable (``ironlb.envflags``).

The Lease holder's identity is unique per process, as client-go's callers make it:
the pod name (``POD_NAME``) or the host name, ``_`` and a random UUID; ``--identity``
(``IRONLB_IDENTITY``) sets it verbatim.
"""

from __future__ import annotations

import argparse
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ironlb.cluster.manifests import DEFAULT_CONFIGMAP, DEFAULT_NAMESPACE
from ironlb.envflags import boolean, from_env

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


def split_address(address: str) -> tuple[str, int]:
    """``":7472"`` -> ``("0.0.0.0", 7472)``; ``"[::1]:80"`` and ``"127.0.0.1:0"`` work too."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"metrics address {address!r}: expected HOST:PORT or :PORT")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text}: must be > 0")
    return value


def at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be at least 1")
    return value


def metrics_address(text: str) -> str:
    try:
        split_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def log_format(text: str) -> str:
    if text not in ("text", "json"):
        raise argparse.ArgumentTypeError(f"{text!r}: choose text or json")
    return text


def default_identity(env: Mapping[str, str]) -> tuple[str, str]:
    """(identity, instance): ``POD_NAME`` or the host name, plus ``_<uuid>`` for the identity."""
    instance = env.get("POD_NAME") or socket.gethostname()
    return f"{instance}_{uuid.uuid4()}", instance


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    """The flags, with defaults from ``env``; every flag names its environment variable in its help."""

    def e(name: str, default: str | None = None) -> str | None:
        value = env.get(name)
        return value if value else default

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
        type=metrics_address,
        default=None,
        help="HOST:PORT for /metrics, /healthz, /readyz (env IRONLB_METRICS_ADDRESS)",
    )
    p.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=None,
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
        default=None,
        help="seconds a standby waits before taking an unrenewed Lease (env IRONLB_LEASE_DURATION)",
    )
    p.add_argument(
        "--renew-deadline",
        type=positive,
        default=None,
        help="seconds the leader keeps writing without a successful renewal (env IRONLB_RENEW_DEADLINE)",
    )
    p.add_argument(
        "--retry-period",
        type=positive,
        default=None,
        help="seconds between election attempts (env IRONLB_RETRY_PERIOD)",
    )
    p.add_argument(
        "--identity",
        default=e("IRONLB_IDENTITY"),
        help="holder identity in the Lease, unique per process (env IRONLB_IDENTITY); default: "
        "POD_NAME or the host name, '_' and a random UUID",
    )
    p.add_argument(
        "--log-format",
        type=log_format,
        default=None,
        help="log format (env IRONLB_LOG_FORMAT)",
    )
    p.add_argument(
        "--workers",
        type=at_least_one,
        default=None,
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
        default=None,
        help="with --manifests: seconds between reads of the directory (env IRONLB_POLL_INTERVAL)",
    )
    return p


def parse_options(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> ControllerOptions:
    env = os.environ if env is None else env
    p = build_parser(env)
    a = p.parse_args(argv)
    a.leader_elect = from_env(p, a.leader_elect, env, "IRONLB_LEADER_ELECT", boolean, True)
    a.lease_duration = from_env(p, a.lease_duration, env, "IRONLB_LEASE_DURATION", positive, 15.0)
    a.renew_deadline = from_env(p, a.renew_deadline, env, "IRONLB_RENEW_DEADLINE", positive, 10.0)
    a.retry_period = from_env(p, a.retry_period, env, "IRONLB_RETRY_PERIOD", positive, 2.0)
    a.workers = from_env(p, a.workers, env, "IRONLB_WORKERS", at_least_one, 8)
    a.poll_interval = from_env(p, a.poll_interval, env, "IRONLB_POLL_INTERVAL", positive, 0.2)
    a.metrics_address = from_env(
        p, a.metrics_address, env, "IRONLB_METRICS_ADDRESS", metrics_address, DEFAULT_METRICS_ADDRESS
    )
    a.log_format = from_env(p, a.log_format, env, "IRONLB_LOG_FORMAT", log_format, "text")
    if a.manifests and a.kubeconfig:
        p.error("--manifests and --kubeconfig are two different cluster sources: give one")
    if not a.lease_duration > a.renew_deadline > a.retry_period:
        p.error("need --lease-duration > --renew-deadline > --retry-period")
    identity, instance = (a.identity, a.identity) if a.identity else default_identity(env)
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
        identity=identity,
        instance=instance,
        log_format="json" if a.log_format == "json" else "text",
        workers=a.workers,
        membership_secret=a.membership_secret.strip(),
        manifests=a.manifests or None,
        poll_interval=a.poll_interval,
    )
