"""Which routing daemons a node runs, and how, decided from the files its topology binds.

Why: in containerlab a router is an FRR or BIRD image that reads the config files
bound into it (``/etc/frr/frr.conf`` + ``/etc/frr/daemons``, or ``bird.conf``).
The namespace runner starts the same daemons from the same files, in the
foreground, with every path (pid files, sockets, logs) inside the node's state
directory so that nothing touches the host's ``/etc`` or ``/run/frr``. This
module only decides (pure); ``runner`` does the I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from ironlb.lab.topology import Node

__all__ = [
    "FRR_DIR",
    "DaemonSpec",
    "RouterPlan",
    "parse_frr_daemons",
    "plan_router",
]

FRR_DIR = Path("/usr/lib/frr")
FRR_CONF = "/etc/frr/frr.conf"
FRR_DAEMONS = "/etc/frr/daemons"
# Daemons the runner knows how to start from an integrated frr.conf. zebra always runs first.
FRR_SUPPORTED = ("bgpd", "staticd", "bfdd")


@dataclass(frozen=True)
class DaemonSpec:
    name: str
    argv: tuple[str, ...]
    # a file that exists once the daemon can serve its peers (zebra's zserv socket)
    ready_path: Path | None = None


@dataclass(frozen=True)
class RouterPlan:
    flavor: Literal["frr", "bird"]
    node: str
    directory: Path
    copies: tuple[tuple[Path, str], ...]  # (bound source file, name inside directory)
    daemons: tuple[DaemonSpec, ...]
    owner: str | None  # user that must own ``directory`` (FRR refuses root-run vtysh access)

    def query_argv(self, command: str) -> tuple[str, ...]:
        """argv that asks the running router ``command`` (vtysh / birdc syntax)."""
        if self.flavor == "frr":
            return ("vtysh", "--vty_socket", str(self.directory), "-c", command)
        return ("birdc", "-s", str(self.directory / "bird.ctl"), command)


def parse_frr_daemons(text: str) -> tuple[str, ...]:
    """Daemons switched on (``bgpd=yes``) in an FRR ``daemons`` file, in file order."""
    enabled = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        key, sep, value = (part.strip() for part in line.partition("="))
        if sep and key.endswith("d") and "_" not in key and value.strip("\"'") == "yes":
            enabled.append(key)
    return tuple(enabled)


def _bird_conf(node: Node) -> Path | None:
    for bind in node.binds:
        if PurePosixPath(bind.target).name == "bird.conf":
            return bind.source
    return None


def plan_router(node: Node, directory: Path, daemons_text: str | None) -> RouterPlan | None:
    """The router ``node`` runs, or None for a plain host.

    ``daemons_text`` is the content of the file bound to ``/etc/frr/daemons`` (read by
    the caller), or None when there is none: then zebra and bgpd run.
    """
    frr_conf = node.bound(FRR_CONF)
    if frr_conf is not None:
        wanted = parse_frr_daemons(daemons_text) if daemons_text is not None else ("bgpd",)
        unsupported = [d for d in wanted if d not in FRR_SUPPORTED and d != "zebra"]
        if unsupported:
            raise ValueError(
                f"node {node.name}: FRR daemons {unsupported} are not supported by the namespace runner "
                f"(supported: zebra, {', '.join(FRR_SUPPORTED)})"
            )
        conf = directory / "frr.conf"
        zserv = directory / "zserv.api"

        def frr(name: str, *extra: str) -> tuple[str, ...]:
            return (
                str(FRR_DIR / name),
                "-f", str(conf),
                "-i", str(directory / f"{name}.pid"),
                "-z", str(zserv),
                "--vty_socket", str(directory),
                "-A", "127.0.0.1",
                "-P", "0",
                *extra,
            )  # fmt: skip

        specs = [DaemonSpec("zebra", frr("zebra", "-s", "90000000"), ready_path=zserv)]
        specs.extend(DaemonSpec(d, frr(d)) for d in wanted if d != "zebra")
        return RouterPlan(
            flavor="frr",
            node=node.name,
            directory=directory,
            copies=((frr_conf, "frr.conf"),),
            daemons=tuple(specs),
            owner="frr",
        )
    bird_conf = _bird_conf(node)
    if bird_conf is not None:
        argv = (
            "bird", "-f",
            "-c", str(directory / "bird.conf"),
            "-s", str(directory / "bird.ctl"),
            "-P", str(directory / "bird.pid"),
        )  # fmt: skip
        return RouterPlan(
            flavor="bird",
            node=node.name,
            directory=directory,
            copies=((bird_conf, "bird.conf"),),
            daemons=(DaemonSpec("bird", argv, ready_path=directory / "bird.ctl"),),
            owner=None,
        )
    return None


def router_programs(plan: RouterPlan) -> Sequence[str]:
    """Programs a router plan needs (first argv element of each daemon plus its query tool)."""
    tools = [spec.argv[0] for spec in plan.daemons]
    tools.append(plan.query_argv("x")[0])
    return tools
