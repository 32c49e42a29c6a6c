"""Command-line flags of ``ironlb-speaker``, each with an environment equivalent.

Parsed at the edge into a frozen ``SpeakerOptions``; nothing else in the speaker reads
``sys.argv`` or the environment. How a value is found (flag, then environment variable,
then default) and how a bad one is refused is ``ironlb.programs.flags``, shared with the
controller, which also declares the settings both programs have.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ironlb.cluster.manifests import DEFAULT_CONFIGMAP, DEFAULT_NAMESPACE
from ironlb.programs import flags
from ironlb.programs.flags import Flag, ProgramParser

PROGRAM = "ironlb-speaker"


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


FLAGS: tuple[Flag, ...] = (
    Flag("--node", "NODE_NAME", "this node's name", required=True, metavar="NAME"),
    flags.MANIFESTS,
    flags.KUBECONFIG,
    replace(flags.NAMESPACE, dest="config_namespace"),
    flags.CONFIGMAP,
    Flag(
        "--membership-key-file",
        "IRONLB_MEMBERSHIP_KEY_FILE",
        "file holding the speakers' shared membership HMAC key (mounted from the membership Secret)",
        required=True,
        metavar="FILE",
    ),
    Flag(
        "--membership-port",
        "IRONLB_MEMBERSHIP_PORT",
        "UDP port of the membership protocol, the same on every node",
        default=7946,
        convert=int,
        metavar="PORT",
    ),
    Flag(
        "--membership-bind",
        "IRONLB_MEMBERSHIP_BIND",
        "address the membership socket listens on (:: for IPv6 and IPv4)",
        default="0.0.0.0",
        metavar="ADDRESS",
    ),
    flags.metrics_address_flag(":7473", can_be_off=True),
    flags.LOG_FORMAT,
    flags.poll_interval_flag(0.5),
    flags.LB_CLASS,
    Flag(
        "--bgp",
        "IRONLB_BGP",
        "announce over BGP through ExaBGP as the config says (--no-bgp: layer 2 only, no BGP at all)",
        default=True,
        switch=True,
    ),
    Flag(
        "--bgp-workdir",
        "IRONLB_BGP_WORKDIR",
        "directory of ExaBGP's files",
        shown_default="/run/ironlb/bgp-NODE",
        metavar="DIR",
    ),
    Flag(
        "--bgp-password-dir",
        "IRONLB_BGP_PASSWORD_DIR",
        "directory of TCP MD5 passwords, one file per peer address (a mounted Secret)",
        shown_default="none (no passwords)",
        metavar="DIR",
    ),
    Flag(
        "--bgp-graceful-restart",
        "IRONLB_BGP_GRACEFUL_RESTART",
        "seconds a router keeps this node's routes after its BGP session ends (graceful restart; 0: off)",
        default=120,
        convert=int,
        metavar="SECONDS",
    ),
    Flag(
        "--bfd-workdir",
        "IRONLB_BFD_WORKDIR",
        "directory of bfdd's files",
        shown_default="/run/ironlb/bfd-NODE",
        metavar="DIR",
    ),
    Flag(
        "--bfdd",
        "IRONLB_BFDD",
        "FRR's bfdd, run for peers that name a bfd-profile",
        default="/usr/lib/frr/bfdd",
        metavar="PATH",
    ),
)


def build_parser() -> ProgramParser:
    """The flags; every one's help says what it is, its default and its environment variable."""
    return ProgramParser(PROGRAM, "ironlb speaker: announces Service IPs.", FLAGS)


def parse_options(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> SpeakerOptions:
    env = os.environ if env is None else env
    p = build_parser()
    v = p.parse(argv, env)
    return v.into(SpeakerOptions, **flags.cluster_source(p, v))
