"""Programs a topology needs on this machine, and the Debian packages that provide them.

Why: a lab that dies half-way because ``bird`` or ``arping`` is missing leaves a
confusing error. ``up`` checks first and names the package to install. The
program list comes from the topology itself: the routers it binds configs for,
the first word of every ``exec`` entry, and an optional node label
``ironlb.io/requires`` (comma-separated programs the lab's users need in that
node, e.g. ``arping,ndisc6`` on a layer-2 client).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ironlb.lab.routers import RouterPlan, router_programs
from ironlb.lab.topology import Topology

__all__ = ["PACKAGES", "REQUIRES_LABEL", "Missing", "find_missing", "format_missing", "required_programs"]

REQUIRES_LABEL = "ironlb.io/requires"

# program -> Debian package (bookworm)
PACKAGES: dict[str, str] = {
    "ip": "iproute2",
    "bridge": "iproute2",
    "ss": "iproute2",
    "sysctl": "procps",
    "ping": "iputils-ping",
    "arping": "iputils-arping",
    "ndisc6": "ndisc6",
    "rdisc6": "ndisc6",
    "tcpdump": "tcpdump",
    "bird": "bird2",
    "birdc": "bird2",
    "vtysh": "frr",
    "zebra": "frr",
    "bgpd": "frr",
    "staticd": "frr",
    "bfdd": "frr",
}


@dataclass(frozen=True)
class Missing:
    program: str
    package: str | None
    needed_by: str


def required_programs(topology: Topology, routers: Iterable[RouterPlan]) -> dict[str, str]:
    """program -> first thing that needs it (a node, or the runner itself)."""
    needed: dict[str, str] = {"ip": "the namespace runner"}
    for plan in routers:
        for program in router_programs(plan):
            needed.setdefault(program, f"router {plan.node}")
    for node in topology.nodes:
        for command in node.exec:
            words = shlex.split(command)
            if words:
                needed.setdefault(words[0], f"exec of node {node.name}")
        label = node.label(REQUIRES_LABEL)
        if label:
            for program in (p.strip() for p in label.split(",")):
                if program:
                    needed.setdefault(program, f"label {REQUIRES_LABEL} of node {node.name}")
    return needed


def _default_which(program: str) -> bool:
    import shutil

    if os.sep in program:
        return os.access(program, os.X_OK)
    return shutil.which(program) is not None


def find_missing(needed: dict[str, str], exists: Callable[[str], bool] = _default_which) -> list[Missing]:
    missing = []
    for program, why in needed.items():
        if not exists(program):
            base = os.path.basename(program)
            missing.append(Missing(program=program, package=PACKAGES.get(base), needed_by=why))
    return missing


def format_missing(missing: Iterable[Missing]) -> str:
    lines = []
    for item in missing:
        package = f"install the Debian package {item.package!r}" if item.package else "no known package"
        lines.append(f"missing program {item.program!r} (needed by {item.needed_by}): {package}")
    return "\n".join(lines)
