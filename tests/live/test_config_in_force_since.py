"""``ConfigurationState.inForceSince`` on the real API server, for the controller and a speaker.

It is the time the config in force was accepted: set by the first valid config, kept while a
rejected config is set aside (``LastGood``) and when the same config comes back, moved only
when a different config goes into force. The API server keeps only what the CRD's schema names,
so the field is read back from the server, not from what the programs meant to write.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubernetes import client

from tests.live.conftest import Live
from tests.live.speakers import NO_INTERFACE, Speakers
from tests.support.waiting import wait_for

POOL = {"name": "main", "protocol": "layer2", "addresses": ["192.0.2.0/28"]}
GOOD = {"address-pools": [POOL], "l2": {"interfaces": [NO_INTERFACE]}}
BIGGER = {"address-pools": [{**POOL, "addresses": ["192.0.2.0/27"]}], "l2": {"interfaces": [NO_INTERFACE]}}
BAD = {"address-pools": [{**POOL, "addresses": ["not-an-ip"]}]}


def _states(live: Live, names: list[str], want: tuple[str, str]) -> dict[str, dict[str, Any]] | None:
    """The named ConfigurationStates' status once each has ``(result, configInForce)`` == ``want``."""
    custom = client.CustomObjectsApi(live.kube.api)
    found = custom.list_namespaced_custom_object("ironlb.io", "v1beta1", live.ns, "configurationstates")
    by_name = {o["metadata"]["name"]: o.get("status") or {} for o in found["items"]}
    out = {n: by_name.get(n, {}) for n in names}
    ok = all((s.get("result"), s.get("configInForce")) == want for s in out.values())
    return out if ok else None


def _next_second() -> None:
    """Wait for the clock's next second: ``inForceSince`` has one-second resolution."""
    start = int(dt.datetime.now(dt.UTC).timestamp())
    wait_for(lambda: int(dt.datetime.now(dt.UTC).timestamp()) > start, 2, "the next second")


def test_in_force_since_is_the_acceptance_of_the_config_in_force(live: Live, speakers: Speakers) -> None:
    (node,) = live.add_nodes(1, prefix="127.0.0.1")
    names = ["controller", f"speaker-{node}"]
    live.set_config(GOOD)
    live.controller()
    speakers.start(node, "127.0.0.11")
    first = wait_for(lambda: _states(live, names, ("Valid", "Latest")), 30, "both programs Valid")
    since = {n: s.get("inForceSince") for n, s in first.items()}
    assert all(since.values()), first

    _next_second()
    live.set_config(BAD)
    kept = wait_for(lambda: _states(live, names, ("Invalid", "LastGood")), 30, "both keeping the last good")
    assert {n: s.get("inForceSince") for n, s in kept.items()} == since

    live.set_config(GOOD)  # the same config again: still the one accepted then
    back = wait_for(lambda: _states(live, names, ("Valid", "Latest")), 30, "both Valid again")
    assert {n: s.get("inForceSince") for n, s in back.items()} == since

    live.set_config(BIGGER)
    moved = wait_for(
        lambda: (
            (s := _states(live, names, ("Valid", "Latest")))
            and all(s[n].get("inForceSince") != since[n] for n in names)
            and s
        ),
        30,
        "a new config in force",
    )
    assert all(moved[n]["inForceSince"] > since[n] for n in names), (since, moved)
