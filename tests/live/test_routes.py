"""``ironlb.live.routes``: computing BGP only where it can differ gives the same difference as computing
it all (hypothesis over generated configs, pool changes and Services)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import yaml
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from ironlb.allocator import allocate_all
from ironlb.announce.bgp import planned_bgp
from ironlb.announce.inputs import build_inputs
from ironlb.config import Config, ConfigError, parse_config
from ironlb.live import whatif
from ironlb.live.routes import bgp_sides
from tests.live.builders import cluster, lb, node

POOLS = ["10.0.0.0/28", "10.0.1.0/28", "10.0.2.0/29"]


@st.composite
def configs(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """A ConfigMap document with BGP and layer-2 pools, and every address its pools may hold."""
    pools = []
    for i, cidr in enumerate(POOLS[: draw(st.integers(1, len(POOLS)))]):
        protocol = draw(st.sampled_from(["bgp", "bgp", "layer2"]))
        pool: dict[str, Any] = {"name": f"p{i}", "protocol": protocol, "addresses": [cidr]}
        if protocol == "bgp" and draw(st.booleans()):
            pool["bgp-advertisements"] = [
                {
                    "aggregation-length": draw(st.sampled_from([32, 31, 30, 29, 28])),
                    "communities": draw(st.lists(st.sampled_from(["65000:1", "65000:2"]), max_size=2)),
                }
                for _ in range(draw(st.integers(1, 2)))
            ]
        pools.append(pool)
    peers = [
        {"peer-address": f"172.30.0.{i + 1}", "peer-asn": 64512 + i, "my-asn": 64512}
        for i in range(draw(st.integers(1, 2)))
    ]
    addresses = [f"{cidr.rsplit('.', 1)[0]}.{n}" for cidr in POOLS for n in range(8)]
    return {"peers": peers, "address-pools": pools}, addresses


@st.composite
def changes(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """The same peers; pools shrunk, renamed, advertised otherwise, or added."""
    out = yaml.safe_load(yaml.safe_dump(doc))
    for pool in out["address-pools"]:
        what = draw(st.sampled_from(["keep", "shrink", "rename", "readvertise", "protocol"]))
        if what == "readvertise" and pool["protocol"] == "bgp":
            pool["bgp-advertisements"] = [{"communities": ["65000:3"], "aggregation-length": 32}]
        elif what == "protocol":
            pool["protocol"] = "layer2" if pool["protocol"] == "bgp" else "bgp"
            pool.pop("bgp-advertisements", None)
        elif what == "shrink":
            base, length = pool["addresses"][0].split("/")
            pool["addresses"] = [f"{base}/{int(length) + draw(st.integers(1, 3))}"]
        elif what == "rename":
            pool["name"] += "-new"
    if draw(st.booleans()):
        out["address-pools"].append({"name": "extra", "protocol": "bgp", "addresses": ["10.0.9.0/30"]})
    return out


@st.composite
def cases(draw: st.DrawFn) -> tuple[Config, Config, Any]:
    doc, addresses = draw(configs())
    after = draw(changes(doc))
    services = []
    for i in range(draw(st.integers(1, 8))):
        ips = draw(st.lists(st.sampled_from(addresses), max_size=1))
        ann = {"ironlb.io/allow-shared-ip": "k"} if draw(st.booleans()) else {}
        spec: dict[str, Any] = {}
        if draw(st.booleans()):
            spec["externalTrafficPolicy"] = "Local"
        services.append(lb(f"s{i}", ips, annotations=ann, **spec))
    nodes = [node(f"node{i}", f"172.30.0.1{i}") for i in range(1, 3)]
    try:
        return (
            parse_config(yaml.safe_dump(doc)),
            parse_config(yaml.safe_dump(after)),
            cluster(services, nodes),
        )
    except ConfigError:
        reject()  # e.g. an aggregation length shorter than the shrunk pool


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_subset_gives_the_same_difference_as_everything(case: tuple[Config, Config, Any]) -> None:
    before_config, after_config, snapshot = case
    before = whatif._assigned(whatif.running_services(before_config, snapshot, None))
    after = whatif._assigned(allocate_all(after_config, snapshot.services))
    inputs = build_inputs("", before_config, snapshot, ())
    after_inputs = replace(inputs, config=after_config)
    sides = bgp_sides(inputs, after_inputs, before, after)
    assert sides.services is not None  # equal BGP settings: the subset was used
    full_before, full_after = planned_bgp(inputs, before), planned_bgp(after_inputs, after)
    assert whatif._route_changes(sides.before, sides.after) == whatif._route_changes(full_before, full_after)
    assert whatif._session_changes(sides.before, sides.after) == whatif._session_changes(
        full_before, full_after
    )

    def announced(plan: Any, keys: Any) -> set[Any]:
        return {(a.service, a.ip) for n in plan for a in n.decision.announcements if a.service in keys}

    assert announced(sides.before, sides.services) == announced(full_before, sides.services)
    assert announced(sides.after, sides.services) == announced(full_after, sides.services)
    others = {s.key for s in inputs.services} - sides.services
    assert announced(full_before, others) == announced(full_after, others)


def test_a_changed_bgp_setting_computes_everything() -> None:
    doc = {
        "peers": [{"peer-address": "172.30.0.1", "peer-asn": 64512, "my-asn": 64513}],
        "address-pools": [{"name": "p", "protocol": "bgp", "addresses": ["10.0.0.0/28"]}],
    }
    other = yaml.safe_load(yaml.safe_dump(doc))
    other["peers"][0]["hold-time"] = "30s"
    snapshot = cluster([lb("a", ["10.0.0.1"])])
    inputs = build_inputs("", parse_config(yaml.safe_dump(doc)), snapshot, ())
    sides = bgp_sides(inputs, replace(inputs, config=parse_config(yaml.safe_dump(other))), {}, {})
    assert sides.services is None
