"""The plan and the controller agree, on the real API server, over generated configs and Services.

Each example: a config and Services; the in-process controller (``controller.runtime``)
assigns their IPs; ``ironlb plan`` (its functions, in process, reading the cluster as the
command does) plans a generated proposed config against that; the proposed config is
applied, and the controller must end with exactly the IPs the plan named for every Service
(the ones it said would change, lose or gain, and every other one unchanged).

Each example gets its own ``loadBalancerClass`` and Service names, so the Services of the
earlier examples (and their IPs) are nobody's business. Examples are few (each is a few
seconds of a real controller on a real API server).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironlb.config.load import load_config
from tests.live.conftest import Live
from tests.live.planning import plan_against_live
from tests.support.waiting import wait_for

IPS = [f"10.230.{p}.{i}" for p in range(3) for i in range(4)]


@st.composite
def pools(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1-3 layer-2 pools of 1-4 addresses each, in three /30s, some not auto-assigned."""
    out = []
    for p in sorted(draw(st.sets(st.integers(0, 2), min_size=1, max_size=3))):
        first = draw(st.integers(0, 3))
        last = draw(st.integers(first, 3))
        pool: dict[str, Any] = {
            "name": draw(st.sampled_from([f"p{p}", f"q{p}"])),
            "protocol": "layer2",
            "addresses": [f"10.230.{p}.{first}-10.230.{p}.{last}"],
        }
        if draw(st.integers(0, 4)) == 0:
            pool["auto-assign"] = False
        out.append(pool)
    return out


@dataclass(frozen=True)
class Case:
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]
    services: list[str | None]
    """Per Service: the loadBalancerIP it asks for, or None."""


cases = st.builds(
    Case,
    before=pools(),
    after=pools(),
    services=st.lists(st.one_of(st.none(), st.none(), st.sampled_from(IPS)), min_size=1, max_size=6),
)
_example = itertools.count()


def _plan(live: Live, proposed: list[dict[str, Any]]) -> tuple[int, dict[str, tuple[str, ...]]]:
    """What ``ironlb plan -c`` computes: its exit status and every Service's IPs after the change."""
    import yaml

    proposal = load_config(yaml.safe_dump({"address-pools": proposed}), [], namespace=live.ns)
    code, after = plan_against_live(live, proposal)
    return code, {name: ips for (_, name), ips in after.items()}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases)
def test_the_controller_ends_with_exactly_the_ips_the_plan_named(live: Live, case: Case) -> None:
    n = next(_example)
    live.stop_controllers()
    live.lb_class = f"ironlb.io/{live.ns}-{n}"
    if not live.nodes:
        live.add_nodes(2)
    live.set_config({"address-pools": case.before})
    names = [f"e{n}-s{i}" for i in range(len(case.services))]
    for name, wanted in zip(names, case.services, strict=True):
        live.service(name, **({"loadBalancerIP": wanted} if wanted else {}))
    ctl = live.controller()
    # The controller has decided every Service: the config in force planned against itself is no change.
    wait_for(
        lambda: ctl.settled() and all(k in live.ips() for k in names) and _plan(live, case.before)[0] == 0,
        timeout=20,
        what="the controller to assign what the config in force gives",
    )
    code, planned = _plan(live, case.after)
    before = {k: v for k, v in live.ips().items() if k in names}
    assert code in (0, 1, 3)
    disturbed = any(before[k] and planned[k] != before[k] for k in names)
    assert (code == 3) == disturbed, (code, before, planned)

    live.set_config({"address-pools": case.after})
    try:
        wait_for(
            lambda: ctl.settled() and {k: v for k, v in live.ips().items() if k in names} == planned,
            timeout=15,
            what="the controller to do what the plan said",
        )
    except AssertionError:
        got = {k: v for k, v in live.ips().items() if k in names}
        raise AssertionError(f"plan said {planned}, the controller did {got} (before: {before})") from None
