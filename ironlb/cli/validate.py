"""``ironlb validate FILE...``: check a configuration before it reaches a cluster.

FILE is a ConfigMap manifest (``data.config``), a bare config document, a file of
``ironlb.io/v1beta1`` resources (IPAddressPool, L2Advertisement, BGPAdvertisement,
BGPPeer, BFDProfile, Community, ClusterIPAdvertisement), or a directory of them; several
FILEs (or ``-f FILE``, repeated) are judged together, a ConfigMap mixed with resources as
the programs judge them (``ironlb.cli.configfile``, then
:func:`ironlb.config.load.load_config`); ``-`` reads standard input. Exit codes: 0 valid
(a short summary on stdout, warnings on stderr: what the decoder noticed and what the BGP
backend cannot honour, such as a ``keepalive-time`` ExaBGP has no setting for), 1 invalid
(every error on stderr, one per line, each naming its object -- ``IPAddressPool
ironlb-system/public`` -- and field path -- ``spec.addresses[0]``; a ConfigMap alone keeps
its own paths, ``address-pools[0].addresses[0]``; or one sentence for input that is not
UTF-8 text, or that holds only other Kubernetes objects, naming the command that takes
them), 2 usage error (including a path that cannot be read).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # imported where used, so that `ironlb --help` and the other commands start fast
    from ironlb.config.model import AddressPool, AddressRange, Config, LabelSelector

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "validate",
        help="check a config (ironlb.io resources, ConfigMap manifest or bare config)",
        description=(
            "Check ironlb's configuration: ironlb.io/v1beta1 resources, a ConfigMap (MetalLB legacy "
            "format) or both, from files and directories judged together. Exit 0 valid, 1 invalid "
            "(errors on stderr, one per line naming the object and field), 2 usage error."
        ),
    )
    parser.add_argument(
        "files",
        metavar="FILE",
        nargs="*",
        help="resource files, a ConfigMap manifest or bare config, or directories; '-' for stdin",
    )
    parser.add_argument(
        "-f",
        "--filename",
        dest="more_files",
        metavar="FILE",
        action="append",
        default=[],
        help="one more file or directory (repeatable), as kubectl takes them",
    )
    parser.add_argument(
        "--key", default="config", help="ConfigMap data key holding the config (default: config)"
    )
    parser.add_argument(
        "-n",
        "--namespace",
        default="ironlb-system",
        help="ironlb's namespace, where the resources must be (default: %(default)s)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing when the config is valid")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    paths = [*args.files, *args.more_files]
    if not paths:
        args.parser.error("give at least one FILE (or -f FILE)")  # exits 2, with the usage line
    return validate_paths(
        paths, key=args.key, namespace=args.namespace, quiet=args.quiet, out=sys.stdout, err=sys.stderr
    )


def validate_file(path: str, *, key: str, quiet: bool, out: TextIO, err: TextIO) -> int:
    """One file, as ``ironlb validate FILE`` checks it."""
    return validate_paths([path], key=key, quiet=quiet, out=out, err=err)


def validate_paths(
    paths: Sequence[str],
    *,
    key: str = "config",
    namespace: str = "ironlb-system",
    quiet: bool = False,
    out: TextIO,
    err: TextIO,
) -> int:
    from ironlb.cli.configfile import ConfigFileError, load_inputs, problem_line

    subject = ", ".join(paths)
    try:
        result, inputs = load_inputs(paths, key=key, namespace=namespace)
    except ConfigFileError as exc:
        print(f"ironlb validate: {exc.sentence}", file=err)
        return exc.code
    for line in inputs.ignored:
        print(f"warning: {line}", file=err)
    if result.config is None:
        for problem in result.errors:
            print(problem_line(problem, inputs), file=err)
        n = len(result.errors)
        print(f"{subject}: invalid ({n} error{'s' if n != 1 else ''})", file=err)
        return EXIT_INVALID
    for problem in result.warnings:
        print(f"warning: {problem_line(problem, inputs)}", file=err)
    c = result.config
    if not (c.pools or c.peers or c.cluster_ip_advertisements):  # valid, and does nothing: say so
        print(f"warning: {subject}: no pools and no peers: nothing would be configured", file=err)
    if not quiet:
        out.write(f"{subject}: valid\n")
        out.write(summarize(result.config))
    return EXIT_OK


def usable_addresses(r: AddressRange, avoid_buggy_ips: bool) -> int:
    """Addresses of ``r`` a Service can get (IPv4 ``.0`` and ``.255`` skipped with avoid-buggy-ips)."""
    if not avoid_buggy_ips or r.family == 6:
        return r.size
    first, last = int(r.first), int(r.last)

    def count(residue: int) -> int:
        # how many n in [first, last] with n % 256 == residue
        return (last - residue) // 256 - (first - 1 - residue) // 256

    return r.size - count(0) - count(255)


def amount(n: int) -> str:
    """An address count a human can read: the number up to 2^32, then a power of two (IPv6 pools)."""
    if n < 2**32:
        return str(n)
    exponent = n.bit_length() - 1
    return f"2^{exponent}" if n == 1 << exponent else f"about 2^{round(math.log2(n), 1):g}"


def family_size(ranges: list[AddressRange], usable: int) -> str:
    """``256``, or for a large block ``/64 (2^64 addresses)``: a prefix says more than 20 digits."""
    if usable < 2**32:
        return amount(usable)
    networks = [net for r in ranges for net in r.networks()]
    if len(networks) == 1 and networks[0].num_addresses == usable:
        return f"/{networks[0].prefixlen} ({amount(usable)} addresses)"
    return f"{amount(usable)} addresses"


def announced_by(config: Config, pool: AddressPool) -> str:
    """``layer2``, ``bgp``, ``layer2+bgp`` or ``not announced``: which advertisements select the pool."""
    kinds = [k for k, ads in (("layer2", config.l2_advertisements_for(pool.name)),
                              ("bgp", config.bgp_advertisements_for(pool.name))) if ads]  # fmt: skip
    return "+".join(kinds) or "not announced"


def _pool_line(config: Config, pool: AddressPool) -> str:
    per_family: dict[int, int] = {}
    for r in pool.ranges:
        per_family[r.family] = per_family.get(r.family, 0) + usable_addresses(r, pool.avoid_buggy_ips)
    sizes = ", ".join(
        f"IPv{fam} {family_size([r for r in pool.ranges if r.family == fam], n)}"
        for fam, n in sorted(per_family.items())
    )
    flags = ["auto-assign" if pool.auto_assign else "manual only"]
    if pool.avoid_buggy_ips:
        flags.append("avoid-buggy-ips")
    n = len(config.bgp_advertisements_for(pool.name))
    if n:
        flags.append(f"{n} advertisement{'s' if n != 1 else ''}")
    return f"  {pool.name}: {announced_by(config, pool)}, {sizes}; {', '.join(flags)}\n"


def _selectors(selectors: tuple[LabelSelector, ...]) -> str:
    if not selectors:
        return "all nodes"
    return f"{len(selectors)} node selector{'s' if len(selectors) != 1 else ''}"


def summarize(config: Config) -> str:
    """A few lines a human can check at a glance."""
    sections = (_pools_section, _peers_section, _bfd_section, _cluster_ip_section, _interfaces_section)
    return "".join(line for section in sections for line in section(config))


def _pools_section(config: Config) -> list[str]:
    """The pools, how each is announced, and the usable addresses per family."""
    lines: list[str] = []
    totals: dict[int, int] = {}
    for pool in config.pools:
        for r in pool.ranges:
            totals[r.family] = totals.get(r.family, 0) + usable_addresses(r, pool.avoid_buggy_ips)
    kinds = [announced_by(config, p) for p in config.pools]
    by_kind = ", ".join(f"{kinds.count(k)} {k}" for k in sorted(set(kinds)))
    lines.append(f"address pools: {len(config.pools)}" + (f" ({by_kind})" if by_kind else "") + "\n")
    lines.extend(_pool_line(config, pool) for pool in config.pools)
    if totals:
        lines.append(
            "addresses: " + ", ".join(f"IPv{fam} {amount(n)}" for fam, n in sorted(totals.items())) + "\n"
        )
    return lines


def _peers_section(config: Config) -> list[str]:
    """One line per BGP peer, then the community aliases."""
    from ironlb.config.fields import keepalive_ignored

    lines = [f"peers: {len(config.peers)}\n"]
    for peer in config.peers:
        kind = "iBGP" if peer.is_ibgp else "eBGP"
        extra = f", bfd-profile {peer.bfd_profile}" if peer.bfd_profile else ""
        if keepalive_ignored(peer):
            extra += f" (keepalive ignored: every {int(peer.hold_time) // 3}s, see the warning)"
        lines.append(
            f"  {peer.peer_address} port {peer.peer_port}: AS{peer.peer_asn} ({kind}, my AS{peer.my_asn}), "
            f"hold {int(peer.hold_time)}s, keepalive {int(peer.keepalive_time)}s, "
            f"{_selectors(peer.node_selectors)}{extra}\n"
        )
    if config.bgp_communities:
        n = len(config.bgp_communities)
        lines.append(f"bgp-communities: {n} alias{'es' if n != 1 else ''}\n")
    return lines


def _bfd_section(config: Config) -> list[str]:
    """The BFD profiles, what each detects in, and which no peer uses."""
    if not config.bfd_profiles:
        return []
    used = {p.bfd_profile for p in config.peers if p.bfd_profile}
    lines = [
        f"bfd-profiles: {len(config.bfd_profiles)} ({len(used)} used; the speaker runs FRR's bfdd "
        "next to ExaBGP for peers that name one, and the router must run BFD too)\n"
    ]
    for prof in config.bfd_profiles:
        lines.append(
            f"  {prof.name}: transmit {prof.transmit_interval} ms, receive {prof.receive_interval} ms, "
            f"multiplier {prof.detect_multiplier}: a dead node is detected after at least "
            f"{prof.detect_multiplier * prof.transmit_interval} ms"
            + ("" if prof.name in used else " (not used by any peer)")
            + "\n"
        )
    return lines


def _cluster_ip_section(config: Config) -> list[str]:
    return [
        f"{cip.name}: {', '.join(map(str, cip.cidrs))}; "
        f"local-routes {'on' if cip.local_routes else 'off'}, "
        f"external-ips {'on' if cip.external_ips else 'off'}, {_selectors(cip.node_selectors)}\n"
        for cip in config.cluster_ip_advertisements
    ]


def _interfaces_section(config: Config) -> list[str]:
    """The layer-2 interfaces: one line when all advertisements name the same, else one per advertisement."""
    interfaces = {ad.interfaces for ad in config.l2_advertisements}
    if len(interfaces) == 1 and () not in interfaces:
        return [f"l2 interfaces: {', '.join(interfaces.pop())}\n"]
    if len(interfaces) > 1:
        return [
            f"l2 interfaces of {ad.name}: {', '.join(ad.interfaces) or 'every eligible one'}\n"
            for ad in config.l2_advertisements
        ]
    return []
