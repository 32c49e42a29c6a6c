"""Start an ExaBGP speaker inside a lab node: the BGP peer that tests and benchmarks need.

Why: every router test needs "a BGP speaker on a node that announces these
prefixes". This writes a minimal ExaBGP 5 configuration (static announcements,
fast timers) into the node's state directory and starts ``exabgp server`` there
through :meth:`Lab.spawn`, so the lab stops it on teardown. ExaBGP runs as root
(``exabgp.daemon.user=root``) with its CLI pipes off, as LAB.md explains.
"""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from ironlb.lab.runner import Lab

__all__ = ["EXABGP_ENV", "exabgp_config", "start_exabgp"]

EXABGP_ENV = {
    "exabgp.daemon.user": "root",
    "exabgp.daemon.daemonize": "false",
    "exabgp.api.cli": "false",
    "exabgp.log.destination": "stdout",
}


def exabgp_config(
    *,
    local_address: str,
    peer_address: str,
    local_as: int,
    peer_as: int,
    announce: Iterable[str] = (),
    router_id: str | None = None,
    hold_time: int = 9,
) -> str:
    """One neighbor; ``announce`` prefixes go out with next-hop self, in the peer's family."""
    peer = ipaddress.ip_address(peer_address)
    family = "ipv4 unicast" if peer.version == 4 else "ipv6 unicast"
    rid = router_id or (local_address if peer.version == 4 else "192.0.2.1")
    routes = "".join(f"        route {ipaddress.ip_network(p)} next-hop self;\n" for p in announce)
    return (
        f"neighbor {peer_address} {{\n"
        f"    router-id {rid};\n"
        f"    local-address {local_address};\n"
        f"    local-as {local_as};\n"
        f"    peer-as {peer_as};\n"
        f"    hold-time {hold_time};\n"
        f"    family {{ {family}; }}\n"
        f"    static {{\n{routes}    }}\n"
        f"}}\n"
    )


def _exabgp_argv(config: Path) -> list[str]:
    script = Path(sys.executable).parent / "exabgp"
    if script.exists():
        return [str(script), "server", str(config)]
    return [sys.executable, "-m", "exabgp", "server", str(config)]


def start_exabgp(lab: Lab, node: str, config_text: str, name: str = "exabgp") -> subprocess.Popen[bytes]:
    """Write ``config_text`` to ``<state>/nodes/<node>/<name>.conf`` and run ExaBGP in ``node``."""
    directory = lab.node_dir(node)
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / f"{name}.conf"
    config.write_text(config_text)
    return lab.spawn(node, _exabgp_argv(config), name=name, env=EXABGP_ENV, cwd=directory)
