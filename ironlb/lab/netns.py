"""Thin adapter over iproute2 for named network namespaces, veth pairs and bridges.

Why hand-written over pyroute2: the topology's own ``exec`` entries are iproute2
commands that must run unchanged in each node, so ``ip`` is a hard requirement
anyway, and ``ip netns add/exec`` creates the same named namespaces
(``/run/netns/NAME``) that users inspect with ``ip netns``/``ip -n``. Creating
each veth directly inside its two namespaces means no interface ever appears
in the root namespace, so labs never collide there.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from pathlib import Path

__all__ = ["NetnsError", "add", "delete", "exists", "ip", "list_names", "pids", "veth", "wrap"]

log = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")


class NetnsError(RuntimeError):
    pass


def ip(*args: str, check: bool = True) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result.stdout


def wrap(namespace: str, argv: Sequence[str]) -> list[str]:
    """argv that runs ``argv`` inside ``namespace`` (``ip netns exec`` execs, so the PID is kept)."""
    return ["ip", "netns", "exec", namespace, *argv]


def exists(namespace: str) -> bool:
    return (NETNS_DIR / namespace).exists()


def list_names() -> list[str]:
    out = ip("netns", "list", check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def add(namespace: str) -> None:
    ip("netns", "add", namespace)
    ip("-n", namespace, "link", "set", "lo", "up")


def delete(namespace: str) -> None:
    if exists(namespace):
        ip("netns", "delete", namespace)


def pids(namespace: str) -> list[int]:
    """PIDs of every process whose network namespace is ``namespace``."""
    if not exists(namespace):
        return []
    out = ip("netns", "pids", namespace, check=False)
    return [int(word) for word in out.split() if word.isdigit()]


def veth(ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
    ip("link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b, "netns", ns_b)
    ip("-n", ns_a, "link", "set", if_a, "up")
    ip("-n", ns_b, "link", "set", if_b, "up")


def bridge(namespace: str, name: str) -> None:
    ip("-n", namespace, "link", "add", name, "type", "bridge")
    ip("-n", namespace, "link", "set", name, "up")


def enslave(namespace: str, port: str, bridge_name: str) -> None:
    ip("-n", namespace, "link", "set", port, "master", bridge_name, "up")


def run_in(namespace: str, argv: Sequence[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(wrap(namespace, argv), capture_output=True, text=True, timeout=timeout, check=False)
