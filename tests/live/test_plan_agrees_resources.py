"""The plan and the controller agree with ``ironlb.io`` resources, over generated pools and Services.

As ``test_plan_agrees`` but the config is ``IPAddressPool`` / ``L2Advertisement`` /
``BGPAdvertisement`` objects in ironlb's namespace, pools admit Services by ``serviceAllocation``
(priority, namespaces, namespaceSelectors, serviceSelectors), and the Services live in two
namespaces (labelled ``team: a`` and ``team: b``) with or without labels of their own. The
proposed resources are applied while the controller is stopped and a new controller is started
on them: several objects cannot change at once, and a controller that saw half of the change
could rightly end elsewhere than the plan of the whole. Examples are few (each is a few seconds).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client

from ironlb.config.load import load_config
from tests.live.conftest import Live, wait_for
from tests.live.planning import plan_against_live

GROUP, VERSION = "ironlb.io", "v1beta1"
PLURALS = {"IPAddressPool": "ipaddresspools", "L2Advertisement": "l2advertisements"}
PLURALS["BGPAdvertisement"] = "bgpadvertisements"
IPS = [f"10.231.{p}.{i}" for p in range(3) for i in range(4)]
TEAMS = ("a", "b")
TIERS = (None, "web", "db")


@st.composite
def allocation(draw: st.DrawFn) -> dict[str, Any] | None:
    """A pool's ``serviceAllocation``: none, or some of priority and the three kinds of selector."""
    if draw(st.booleans()):
        return None
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["priority"] = draw(st.integers(1, 3))
    rule = draw(st.sampled_from(["namespaces", "namespaceSelectors", "serviceSelectors", "none"]))
    team = draw(st.sampled_from(TEAMS))
    if rule == "namespaces":
        out["namespaces"] = [f"@team-{team}"]  # the namespace's name is known only in the test
    elif rule == "namespaceSelectors":
        out["namespaceSelectors"] = [{"matchLabels": {"team": team}}]
    elif rule == "serviceSelectors":
        out["serviceSelectors"] = [{"matchLabels": {"tier": draw(st.sampled_from(TIERS[1:]))}}]
    return out


@st.composite
def resources(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1-3 pools in three /30s, each announced by layer 2 or BGP (an advertisement per protocol)."""
    docs: list[dict[str, Any]] = []
    for p in sorted(draw(st.sets(st.integers(0, 2), min_size=1, max_size=3))):
        first = draw(st.integers(0, 3))
        last = draw(st.integers(first, 3))
        spec: dict[str, Any] = {"addresses": [f"10.231.{p}.{first}-10.231.{p}.{last}"]}
        if draw(st.integers(0, 4)) == 0:
            spec["autoAssign"] = False
        rule = draw(allocation())
        if rule is not None:
            spec["serviceAllocation"] = rule
        labels = {"announce": draw(st.sampled_from(["l2", "bgp"]))}
        docs.append({"kind": "IPAddressPool", "metadata": {"name": f"p{p}", "labels": labels}, "spec": spec})
    for kind, label in (("L2Advertisement", "l2"), ("BGPAdvertisement", "bgp")):
        if draw(st.booleans()):
            selector = {"ipAddressPoolSelectors": [{"matchLabels": {"announce": label}}]}
            docs.append({"kind": kind, "metadata": {"name": f"{label}-all"}, "spec": selector})
    return docs


@dataclass(frozen=True)
class Wanted:
    team: str
    tier: str | None
    ip: str | None
    """The loadBalancerIP it asks for."""


@dataclass(frozen=True)
class Case:
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]
    services: list[Wanted]


services = st.builds(
    Wanted,
    team=st.sampled_from(TEAMS),
    tier=st.sampled_from(TIERS),
    ip=st.one_of(st.none(), st.none(), st.sampled_from(IPS)),
)
cases = st.builds(
    Case, before=resources(), after=resources(), services=st.lists(services, min_size=1, max_size=6)
)
_example = itertools.count()


@dataclass
class Teams:
    """The two namespaces of the Services: ``team: a`` is ironlb's (the test's), ``team: b`` another."""

    live: Live
    ns: dict[str, str]

    def resolve(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``docs`` as objects in ironlb's namespace, ``@team-X`` replaced by that namespace's name."""
        text = json.dumps(docs)
        for team, ns in self.ns.items():
            text = text.replace(f"@team-{team}", ns)
        out: list[dict[str, Any]] = json.loads(text)
        for d in out:
            d["apiVersion"] = f"{GROUP}/{VERSION}"
            d["metadata"]["namespace"] = self.live.ns
        return out


@pytest.fixture
def teams(live: Live) -> Iterator[Teams]:
    other = live.kube.namespace("team-b")
    for team, ns in (("a", live.ns), ("b", other)):
        live.kube.core.patch_namespace(ns, {"metadata": {"labels": {"team": team}}})
    yield Teams(live, {"a": live.ns, "b": other})


def _apply(live: Live, docs: list[dict[str, Any]]) -> None:
    """Make ironlb's namespace hold exactly ``docs`` of the config kinds."""
    custom = client.CustomObjectsApi(live.kube.api)
    for kind, plural in PLURALS.items():
        for obj in custom.list_namespaced_custom_object(GROUP, VERSION, live.ns, plural)["items"]:
            custom.delete_namespaced_custom_object(GROUP, VERSION, live.ns, plural, obj["metadata"]["name"])
        for d in (d for d in docs if d["kind"] == kind):
            custom.create_namespaced_custom_object(GROUP, VERSION, live.ns, plural, d)


def _service(teams: Teams, name: str, want: Wanted) -> str:
    ns = teams.ns[want.team]
    labels = {"tier": want.tier} if want.tier else {}
    spec: dict[str, Any] = {
        "type": "LoadBalancer",
        "loadBalancerClass": teams.live.lb_class,
        "ports": [{"port": 80, "protocol": "TCP"}],
    }
    if want.ip:
        spec["loadBalancerIP"] = want.ip
    teams.live.kube.core.create_namespaced_service(
        ns, {"metadata": {"name": name, "labels": labels}, "spec": spec}
    )
    return f"{ns}/{name}"


def _ips(teams: Teams, keys: list[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for ns in teams.ns.values():
        resp = teams.live.kube.core.list_namespaced_service(ns, _preload_content=False)
        for s in json.loads(resp.data)["items"]:
            key = f"{ns}/{s['metadata']['name']}"
            ingress = ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            if key in keys:
                out[key] = tuple(e["ip"] for e in ingress if e.get("ip"))
    return out


def _plan(live: Live, proposed: list[dict[str, Any]] | None) -> tuple[int, dict[str, tuple[str, ...]]]:
    """What ``ironlb plan -f`` computes (None: the config in force): exit status, every Service's IPs."""
    proposal = None if proposed is None else load_config(None, proposed, namespace=live.ns)
    code, after = plan_against_live(live, proposal)
    return code, {f"{ns}/{name}": ips for (ns, name), ips in after.items()}


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases)
def test_the_controller_ends_with_exactly_the_ips_the_plan_named_from_resources(
    live: Live, teams: Teams, case: Case
) -> None:
    n = next(_example)
    live.stop_controllers()
    live.lb_class = f"ironlb.io/{live.ns}-r{n}"
    if not live.nodes:
        live.add_nodes(2)
    before, after = teams.resolve(case.before), teams.resolve(case.after)
    _apply(live, before)
    keys = [_service(teams, f"r{n}-s{i}", want) for i, want in enumerate(case.services)]
    ctl = live.controller()
    wait_for(
        lambda: ctl.settled() and len(_ips(teams, keys)) == len(keys) and _plan(live, None)[0] == 0,
        timeout=20,
        what="the controller to assign what the resources in force give",
    )
    code, planned = _plan(live, after)
    now = _ips(teams, keys)
    assert code in (0, 1, 3)
    disturbed = any(now[k] and planned[k] != now[k] for k in keys)
    assert (code == 3) == disturbed, (code, now, planned)

    live.stop_controllers()
    _apply(live, after)
    ctl = live.controller()
    try:
        wait_for(
            lambda: ctl.settled() and _ips(teams, keys) == {k: planned[k] for k in keys},
            timeout=15,
            what="the controller to do what the plan said",
        )
    except AssertionError:
        got = _ips(teams, keys)
        raise AssertionError(f"plan said {planned}, the controller did {got} (before: {now})") from None
