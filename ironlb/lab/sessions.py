"""BGP session states out of the routers' own CLIs (FRR vtysh JSON, BIRD ``birdc``).

Why: ``ironlb lab status``, the tests and the benchmark all ask "which peers are
Established?". These parsers are pure and total: any text in, a mapping
``peer address -> state`` out (garbage gives an empty mapping, never an
exception), so they are fuzzed. Hand-written for BIRD because birdc has no
machine-readable output.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["parse_bird_protocols", "parse_frr_summary"]


def parse_frr_summary(text: str) -> dict[str, str]:
    """``show bgp summary json`` (every address family) -> {peer: state}."""
    try:
        data: Any = json.loads(text)
    except ValueError:
        return {}
    states: dict[str, str] = {}
    if not isinstance(data, dict):
        return states
    for family in data.values():
        peers = family.get("peers") if isinstance(family, dict) else None
        if not isinstance(peers, dict):
            continue
        for peer, info in peers.items():
            if isinstance(info, dict) and isinstance(info.get("state"), str):
                states[str(peer)] = info["state"]
    return states


def parse_bird_protocols(text: str) -> dict[str, str]:
    """``show protocols all`` -> {neighbor address: BGP state} for BGP protocols."""
    states: dict[str, str] = {}
    in_bgp = False
    neighbor: str | None = None
    state: str | None = None

    def flush() -> None:
        if in_bgp and neighbor:
            states[neighbor] = state or "Unknown"

    for line in text.splitlines():
        if line and not line[0].isspace():
            flush()
            words = line.split()
            in_bgp = len(words) > 1 and words[1] == "BGP"
            neighbor, state = None, None
            continue
        key, sep, value = line.strip().partition(":")
        if not sep or not in_bgp:
            continue
        if key == "Neighbor address":
            neighbor = value.strip() or None
        elif key == "BGP state":
            state = value.strip() or None
    flush()
    return states
