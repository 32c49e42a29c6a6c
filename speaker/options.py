"""Command-line flags of ``ironlb-speaker``, each with an environment equivalent.

Parsed with argparse at the edge into a frozen ``SpeakerOptions``; nothing
else in the speaker reads ``sys.argv`` or the environment. A bad number or boolean in an
environment variable is a usage error naming the variable (``ironlb.envflags``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ironlb.cluster.manifests import DEFAULT_CONFIGMAP, DEFAULT_NAMESPACE
from ironlb.envflags import boolean, from_env


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
    p.add_argument("--membership-port", type=int, default=None, help="(env IRONLB_MEMBERSHIP_PORT)")
    p.add_argument("--membership-bind", default=e("IRONLB_MEMBERSHIP_BIND", "0.0.0.0"))
    p.add_argument("--metrics-address", default=e("IRONLB_METRICS_ADDRESS", ":7473"), help="'' disables")
    p.add_argument("--log-format", choices=("text", "json"), default=e("IRONLB_LOG_FORMAT", "text"))
    p.add_argument("--poll-interval", type=float, default=None, help="(env IRONLB_POLL_INTERVAL)")
    p.add_argument("--lb-class", default=e("IRONLB_LB_CLASS"))
    p.add_argument("--no-bgp", action="store_true", help="no BGP at all (env IRONLB_BGP=false)")
    p.add_argument(
        "--bgp-workdir", default=e("IRONLB_BGP_WORKDIR"), help="ExaBGP files (default /run/ironlb/bgp-NODE)"
    )
    p.add_argument(
        "--bgp-password-dir",
        default=e("IRONLB_BGP_PASSWORD_DIR"),
        help="directory of TCP MD5 passwords, one file per peer address (a mounted Secret)",
    )
    p.add_argument("--bgp-graceful-restart", type=int, default=None, help="(env IRONLB_BGP_GRACEFUL_RESTART)")
    p.add_argument(
        "--bfd-workdir", default=e("IRONLB_BFD_WORKDIR"), help="bfdd files (default /run/ironlb/bfd-NODE)"
    )
    p.add_argument(
        "--bfdd",
        default=e("IRONLB_BFDD", "/usr/lib/frr/bfdd"),
        help="FRR's bfdd, run for peers that name a bfd-profile",
    )
    a = p.parse_args(argv)
    a.membership_port = from_env(p, a.membership_port, env, "IRONLB_MEMBERSHIP_PORT", int, 7946)
    a.poll_interval = from_env(p, a.poll_interval, env, "IRONLB_POLL_INTERVAL", float, 0.5)
    a.bgp_graceful_restart = from_env(p, a.bgp_graceful_restart, env, "IRONLB_BGP_GRACEFUL_RESTART", int, 120)
    bgp = False if a.no_bgp else from_env(p, None, env, "IRONLB_BGP", boolean, True)
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
        bgp=bgp,
        bgp_workdir=a.bgp_workdir or None,
        bgp_password_dir=a.bgp_password_dir or None,
        bgp_graceful_restart=a.bgp_graceful_restart,
        bfd_workdir=a.bfd_workdir or None,
        bfdd=a.bfdd,
    )
