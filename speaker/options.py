"""Command-line flags of ``ironlb-speaker``, each with an environment equivalent.

Parsed at the edge into a frozen ``SpeakerOptions``; nothing else in the speaker reads
``sys.argv`` or the environment. How a value is found (flag, then environment variable,
then default) and how a bad one is refused is ``ironlb.programs.flags``, shared with the
controller, which also declares the settings both programs have. Every failover timing
(membership and layer 2) is a flag too: ``TIMING_FLAGS`` builds them from the fields of
``Timing`` and ``GratuitousTiming``, with those classes' defaults.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from ironlb.cluster.manifests import DEFAULT_CONFIGMAP, DEFAULT_NAMESPACE
from ironlb.programs import flags
from ironlb.programs.flags import Flag, Parsed, ProgramParser
from speaker.failover import GratuitousTiming, Timing

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
    membership_timing: Timing = field(default_factory=Timing)
    layer2_timing: GratuitousTiming = field(default_factory=GratuitousTiming)


def seconds_or_zero(text: str) -> float:
    """A number of seconds, 0 (no wait) or more."""
    try:
        zero = float(text) == 0
    except ValueError:
        zero = False  # positive() names the bad value
    return 0.0 if zero else flags.positive(text)


def handover(text: str) -> str:
    if text not in ("suspicion", "death"):
        raise argparse.ArgumentTypeError(f"{text!r}: choose suspicion or death")
    return text


ZERO_OK = frozenset({"settle", "defend_interval"})
"""Layer-2 timings that may be 0 (no wait); every other timing in seconds must be above 0."""

# Every failover timing is a flag (and an environment variable): (group, flag, field of its class, what).
TIMINGS: tuple[tuple[str, str, str, str], ...] = (
    ("membership", "probe-interval", "probe_interval", "a speaker pings one peer this often (seconds)"),
    ("membership", "ack-timeout", "ack_timeout", "no ack by then: ask helpers to ping the peer (seconds)"),
    (
        "membership",
        "nack-timeout",
        "nack_timeout",
        "a helper whose own ping got no ack by then says so (seconds)",
    ),
    ("membership", "probe-timeout", "probe_timeout", "verdict when helpers stay silent (seconds)"),
    (
        "membership",
        "suspicion-timeout",
        "suspicion_timeout",
        "a suspect not refuted by then is dead (seconds)",
    ),
    ("membership", "indirect-probes", "indirect_k", "helpers asked per failed ping"),
    ("membership", "gossip-fanout", "gossip_fanout", "peers a membership change is pushed to at once"),
    ("membership", "max-health", "max_health", "ceiling of the local health score (0: off)"),
    (
        "membership",
        "handover",
        "handover",
        "when a silent peer's layer-2 IPs move: on a suspicion its helpers confirmed, or only on its death",
    ),
    ("layer2", "gratuitous-repeats", "repeats", "gratuitous ARP / unsolicited NA sent after the first one"),
    ("layer2", "gratuitous-spacing", "spacing", "seconds between those announcements"),
    (
        "layer2",
        "settle",
        "settle",
        "after a start or a comeback, announce once peers hear us and this long (seconds)",
    ),
    (
        "layer2",
        "settle-timeout",
        "settle_timeout",
        "after a start or a comeback, announce at the latest this long after it, heard or not (seconds)",
    ),
    (
        "layer2",
        "defend-interval",
        "defend_interval",
        "least time between two answers to a conflict (seconds)",
    ),
    ("layer2", "defend-max", "defend_max", "most time between them while a conflict goes on (seconds)"),
)
_CLASSES: dict[str, Any] = {"membership": Timing(), "layer2": GratuitousTiming()}


def _timing_flag(group: str, name: str, attr: str, what: str) -> Flag:
    default = getattr(_CLASSES[group], attr)
    convert: Callable[[str], Any]
    if attr == "handover":
        convert, metavar = handover, "{suspicion,death}"
    elif isinstance(default, int):
        convert, metavar = flags.count, "N"
    else:
        convert, metavar = (seconds_or_zero if attr in ZERO_OK else flags.positive), "SECONDS"
    return Flag(
        f"--{group}-{name}",
        f"IRONLB_{group.upper()}_{name.upper().replace('-', '_')}",
        what,
        default=default,
        convert=convert,
        dest=f"{group}__{attr}",
        metavar=metavar,
    )


TIMING_FLAGS: tuple[Flag, ...] = tuple(_timing_flag(*t) for t in TIMINGS)


def _timings(v: Parsed) -> dict[str, Any]:
    """``membership_timing`` and ``layer2_timing`` from the timing flags' values."""

    def of(group: str, cls: type[Any]) -> Any:
        names = {f.name for f in fields(cls)}
        prefix = f"{group}__"
        return cls(
            **{
                k[len(prefix) :]: x
                for k, x in v.values.items()
                if k.startswith(prefix) and k[len(prefix) :] in names
            }
        )

    return {"membership_timing": of("membership", Timing), "layer2_timing": of("layer2", GratuitousTiming)}


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
    *TIMING_FLAGS,
)


def build_parser() -> ProgramParser:
    """The flags; every one's help says what it is, its default and its environment variable."""
    return ProgramParser(PROGRAM, "ironlb speaker: announces Service IPs.", FLAGS)


def parse_options(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> SpeakerOptions:
    env = os.environ if env is None else env
    p = build_parser()
    v = p.parse(argv, env)
    return v.into(SpeakerOptions, **flags.cluster_source(p, v), **_timings(v))
