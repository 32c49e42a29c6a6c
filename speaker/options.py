"""Command-line flags of ``ironlb-speaker``, each with an environment equivalent.

Parsed with argparse at the edge into a frozen ``SpeakerOptions``; nothing
else in the speaker reads ``sys.argv`` or the environment.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from ironlb.cluster.manifests import DEFAULT_CONFIGMAP, DEFAULT_NAMESPACE
from speaker.layer2.gratuitous import GratuitousTiming
from speaker.membership.timing import Timing


@dataclass(frozen=True)
class SpeakerOptions:
    node: str
    manifests: str | None
    config_namespace: str = DEFAULT_NAMESPACE
    configmap: str = DEFAULT_CONFIGMAP
    kubeconfig: str | None = None
    """Without ``manifests``: this kubeconfig, else in-cluster credentials, else ~/.kube/config."""
    membership_key_file: str | None = None
    membership_port: int = 7946
    membership_bind: str = "0.0.0.0"
    metrics_address: str = ":7473"
    log_format: Literal["text", "json"] = "text"
    poll_interval: float = 0.5
    lb_class: str | None = None
    bgp: bool = True
    bgp_workdir: str | None = None
    bgp_password_dir: str | None = None
    bgp_graceful_restart: int = 120
    bfd_workdir: str | None = None
    bfdd: str = "/usr/lib/frr/bfdd"
    membership_timing: Timing = field(default_factory=Timing)
    layer2_timing: GratuitousTiming = field(default_factory=GratuitousTiming)


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise ValueError(text)
    return value


def _seconds_or_zero(text: str) -> float:
    return 0.0 if float(text) == 0 else _seconds(text)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


# argparse names the type in its error: "argument --membership-ack-timeout: invalid seconds value: 'x'"
_seconds.__name__ = "seconds"
_seconds_or_zero.__name__ = "seconds"
_count.__name__ = "count"

ZERO_OK = frozenset({"settle", "defend_interval"})
"""Timings that may be 0 (no wait); every other one must be positive."""

# Every failover timing is a flag (and an environment variable): (group, flag, field, help).
TIMING_FLAGS: tuple[tuple[str, str, str, str], ...] = (
    ("membership", "probe-interval", "probe_interval", "a speaker pings one peer this often (s)"),
    ("membership", "ack-timeout", "ack_timeout", "no ack by then: ask helpers to ping the peer (s)"),
    ("membership", "nack-timeout", "nack_timeout", "a helper whose own ping got no ack by then says so (s)"),
    ("membership", "probe-timeout", "probe_timeout", "verdict when helpers stay silent (s)"),
    ("membership", "suspicion-timeout", "suspicion_timeout", "a suspect not refuted by then is dead (s)"),
    ("membership", "indirect-probes", "indirect_k", "helpers asked per failed ping"),
    ("membership", "gossip-fanout", "gossip_fanout", "peers a membership change is pushed to at once"),
    ("membership", "max-health", "max_health", "ceiling of the local health score (0: off)"),
    ("layer2", "gratuitous-repeats", "repeats", "announcements after the first one"),
    ("layer2", "gratuitous-spacing", "spacing", "seconds between them"),
    (
        "layer2",
        "settle",
        "settle",
        "after a start or a comeback, announce once peers hear us and this long (s)",
    ),
    ("layer2", "settle-timeout", "settle_timeout", "... or after this long, heard or not (s)"),
    ("layer2", "defend-interval", "defend_interval", "least time between two answers to a conflict (s)"),
    ("layer2", "defend-max", "defend_max", "most time between them while a conflict goes on (s)"),
)


def _add_timing_flags(p: argparse.ArgumentParser, e: Callable[[str, str | None], str | None]) -> None:
    defaults: dict[str, Any] = {"membership": Timing(), "layer2": GratuitousTiming()}
    for group, flag, name, text in TIMING_FLAGS:
        default = getattr(defaults[group], name)
        env = f"IRONLB_{group.upper()}_{flag.upper().replace('-', '_')}"
        kind = _count if isinstance(default, int) else _seconds_or_zero if name in ZERO_OK else _seconds
        p.add_argument(
            f"--{group}-{flag}",
            dest=f"{group}__{name}",
            metavar="N" if kind is _count else "SECONDS",
            type=kind,
            default=e(env, str(default)),
            help=f"{text}; default {default} (env {env})",
        )
    p.add_argument(
        "--membership-handover",
        choices=("suspicion", "death"),
        default=e("IRONLB_MEMBERSHIP_HANDOVER", "suspicion"),
        help="when a silent peer's layer-2 IPs move: on a suspicion its helpers confirmed, or only once it "
        "is dead; default suspicion (env IRONLB_MEMBERSHIP_HANDOVER)",
    )


def _timings(a: argparse.Namespace) -> tuple[Timing, GratuitousTiming]:
    def values(group: str, cls: type[Any]) -> dict[str, Any]:
        names = {f.name for f in fields(cls)}
        return {
            k.split("__", 1)[1]: v
            for k, v in vars(a).items()
            if k.startswith(f"{group}__") and k.split("__", 1)[1] in names
        }

    membership = replace(Timing(**values("membership", Timing)), handover=a.membership_handover)
    return membership, GratuitousTiming(**values("layer2", GratuitousTiming))


def parse_options(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> SpeakerOptions:
    env = os.environ if env is None else env

    def e(name: str, default: str | None = None) -> str | None:
        return env.get(name, default)

    p = argparse.ArgumentParser(prog="ironlb-speaker", description="ironlb speaker: announces Service IPs.")
    p.add_argument("--node", default=e("NODE_NAME"), help="this node's name (env NODE_NAME)")
    p.add_argument(
        "--manifests", default=e("IRONLB_MANIFESTS"), help="read cluster state from this manifest directory"
    )
    p.add_argument(
        "--kubeconfig",
        default=None,
        help="read cluster state from the Kubernetes API with this kubeconfig (env KUBECONFIG); "
        "default without --manifests: in-cluster credentials when KUBERNETES_SERVICE_HOST is set",
    )
    p.add_argument(
        "--namespace",
        "--config-namespace",
        dest="config_namespace",
        metavar="NAMESPACE",
        # IRONLB_CONFIG_NAMESPACE: the older name, still read (a manifest may set it)
        default=e("IRONLB_NAMESPACE") or e("IRONLB_CONFIG_NAMESPACE") or DEFAULT_NAMESPACE,
        help="namespace of the ConfigMap (env IRONLB_NAMESPACE; --config-namespace and "
        "IRONLB_CONFIG_NAMESPACE are older names)",
    )
    p.add_argument(
        "--configmap",
        default=e("IRONLB_CONFIGMAP", DEFAULT_CONFIGMAP),
        help="name of the ConfigMap (env IRONLB_CONFIGMAP)",
    )
    p.add_argument(
        "--membership-key-file",
        default=e("IRONLB_MEMBERSHIP_KEY_FILE"),
        help="file holding the shared membership HMAC key (from a Secret)",
    )
    p.add_argument("--membership-port", type=int, default=int(e("IRONLB_MEMBERSHIP_PORT", "7946") or 7946))
    p.add_argument("--membership-bind", default=e("IRONLB_MEMBERSHIP_BIND", "0.0.0.0"))
    p.add_argument("--metrics-address", default=e("IRONLB_METRICS_ADDRESS", ":7473"), help="'' disables")
    p.add_argument("--log-format", choices=("text", "json"), default=e("IRONLB_LOG_FORMAT", "text"))
    p.add_argument("--poll-interval", type=float, default=float(e("IRONLB_POLL_INTERVAL", "0.5") or 0.5))
    p.add_argument("--lb-class", default=e("IRONLB_LB_CLASS"))
    p.add_argument("--no-bgp", action="store_true", default=e("IRONLB_BGP", "true") == "false")
    p.add_argument(
        "--bgp-workdir", default=e("IRONLB_BGP_WORKDIR"), help="ExaBGP files (default /run/ironlb/bgp-NODE)"
    )
    p.add_argument(
        "--bgp-password-dir",
        default=e("IRONLB_BGP_PASSWORD_DIR"),
        help="directory of TCP MD5 passwords, one file per peer address (a mounted Secret)",
    )
    p.add_argument(
        "--bgp-graceful-restart", type=int, default=int(e("IRONLB_BGP_GRACEFUL_RESTART", "120") or 120)
    )
    p.add_argument(
        "--bfd-workdir", default=e("IRONLB_BFD_WORKDIR"), help="bfdd files (default /run/ironlb/bfd-NODE)"
    )
    p.add_argument(
        "--bfdd",
        default=e("IRONLB_BFDD", "/usr/lib/frr/bfdd"),
        help="FRR's bfdd, run for peers that name a bfd-profile",
    )
    _add_timing_flags(p, e)
    a = p.parse_args(argv)
    membership_timing, layer2_timing = _timings(a)
    if not a.node:
        p.error("--node (or NODE_NAME) is required")
    if a.manifests and a.kubeconfig:
        p.error("--manifests and --kubeconfig are two different cluster sources: give one")
    if not a.membership_key_file:
        p.error("--membership-key-file (or IRONLB_MEMBERSHIP_KEY_FILE) is required")
    return SpeakerOptions(
        node=a.node,
        manifests=a.manifests,
        kubeconfig=None if a.manifests else (a.kubeconfig or e("KUBECONFIG") or None),
        config_namespace=a.config_namespace,
        configmap=a.configmap,
        membership_key_file=a.membership_key_file,
        membership_port=a.membership_port,
        membership_bind=a.membership_bind,
        metrics_address=a.metrics_address,
        log_format=a.log_format,
        poll_interval=a.poll_interval,
        lb_class=a.lb_class or None,
        bgp=not a.no_bgp,
        bgp_workdir=a.bgp_workdir or None,
        bgp_password_dir=a.bgp_password_dir or None,
        bgp_graceful_restart=a.bgp_graceful_restart,
        bfd_workdir=a.bfd_workdir or None,
        bfdd=a.bfdd,
        membership_timing=membership_timing,
        layer2_timing=layer2_timing,
    )
