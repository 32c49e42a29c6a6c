"""Properties of load_config over generated input: never anything but a ConfigResult (fuzz), and a domain
config written out as resources reads back as the same config (round trip)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironlb.config import Config, ConfigResult, load_config
from ironlb.config.resources.render import Rename, render, render_text
from ironlb.config.resources.schema import CONFIG_KINDS
from ironlb.config.yamlload import load_documents, native
from tests.config.strategies import SCALARS, config_trees, domain_configs

FIELDS = [
    "addresses", "autoAssign", "avoidBuggyIPs", "serviceAllocation", "priority", "namespaces",
    "namespaceSelectors", "serviceSelectors", "ipAddressPools", "ipAddressPoolSelectors", "nodeSelectors",
    "interfaces", "aggregationLength", "aggregationLengthV6", "localPref", "communities", "peers", "myASN",
    "peerASN", "peerAddress", "peerPort", "sourceAddress", "routerID", "holdTime", "keepaliveTime",
    "connectTime", "password", "passwordSecret", "name", "namespace", "bfdProfile", "ebgpMultiHop",
    "enableGracefulRestart", "disableMP", "dualStackAddressFamily", "vrf", "interface", "dynamicASN",
    "localASN", "receiveInterval", "transmitInterval", "detectMultiplier", "echoInterval", "echoMode",
    "passiveMode", "minimumTtl", "value", "cidrs", "localRoutes", "externalIPs", "matchLabels",
    "matchExpressions", "key", "operator", "values",
]  # fmt: skip
VALUES = st.one_of(
    SCALARS,
    st.sampled_from(
        ["192.168.10.0/24", "10.0.0.1-10.0.0.9", "fc00::/64", "172.30.0.1", "In", "Exists", "90s"]
    ),
)
specs = st.recursive(
    VALUES,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(FIELDS), children, max_size=6)
    ),
    max_leaves=30,
)
names = st.one_of(st.sampled_from(["a", "b", "public", "router", "peer-172.30.0.1"]), st.text(max_size=8))
metadata = st.one_of(
    st.fixed_dictionaries(
        {"name": names},
        optional={
            "namespace": st.sampled_from(["ironlb-system", "other", ""]),
            "labels": st.dictionaries(st.sampled_from(["tier", "zone"]), st.sampled_from(["a", "b"])),
            "generation": st.integers(0, 5),
        },
    ),
    SCALARS,
)
any_objects = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(["ironlb.io/v1beta1", "ironlb.io/v1", "metallb.io/v1beta1", "v1"]),
        "kind": st.sampled_from([*CONFIG_KINDS, "ServiceL2Status", "Service", "Nope"]),
        "metadata": metadata,
    },
    optional={"spec": specs},
)
config_objects = st.fixed_dictionaries(
    {
        "apiVersion": st.just("ironlb.io/v1beta1"),
        "kind": st.sampled_from(CONFIG_KINDS),
        "metadata": st.fixed_dictionaries({"name": st.sampled_from(["a", "b", "public", "router"])}),
        "spec": specs,
    }
)
objects = st.one_of(config_objects, any_objects)
"""Mostly well-formed config objects with hostile specs (so that decoding goes deep), and some noise."""


def check(result: ConfigResult) -> None:
    assert isinstance(result, ConfigResult)
    assert (result.config is None) == bool(result.errors)
    for problem in result.problems:
        assert isinstance(str(problem), str) and problem.message


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(objects, max_size=6))
def test_any_objects_give_a_result_never_an_exception(raw: list[dict[str, Any]]) -> None:
    check(load_config(None, raw))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(config_trees, st.lists(objects, max_size=4))
def test_any_configmap_with_any_objects_gives_a_result(tree: Any, raw: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump(tree) if not isinstance(tree, str) else tree
    check(load_config(text, raw))


@settings(max_examples=100)
@given(st.lists(st.one_of(SCALARS, st.lists(SCALARS, max_size=2)), max_size=3))
def test_objects_that_are_not_mappings_are_reported(raw: list[Any]) -> None:
    check(load_config(None, raw))


# ---- round trip ----------------------------------------------------------------------------------


def _dns_label(name: str) -> str:
    text = re.sub(r"[^a-z0-9-]+", "-", name).strip("-")
    return text or "ns"


@st.composite
def resource_configs(draw: st.DrawFn) -> Config:
    """Domain configs as resources can hold them: namespace names for namespaces (the domain strategies
    allow any label), no password next to a password Secret."""
    config = draw(domain_configs())
    pools = []
    for p in config.pools:
        if p.allocation is not None:
            spaces = tuple(dict.fromkeys(_dns_label(n) for n in p.allocation.namespaces))
            p = replace(p, allocation=replace(p.allocation, namespaces=spaces))
        pools.append(p)
    # A password and a password Secret exclude each other in a BGPPeer (the domain does not say so).
    peers = tuple(replace(p, password=None) if p.password_secret else p for p in config.peers)
    return replace(config, pools=tuple(pools), peers=peers)


def unrename(config: Config, renames: list[Rename]) -> Config:
    """``config`` with the names render changed put back, references included."""
    back = {(r.kind, r.new): r.old for r in renames}

    def pool(name: str) -> str:
        return back.get(("IPAddressPool", name), name)

    def peer(name: str) -> str:
        return back.get(("BGPPeer", name), name)

    return replace(
        config,
        pools=tuple(replace(p, name=pool(p.name)) for p in config.pools),
        peers=tuple(
            replace(
                p,
                name=peer(p.name),
                bfd_profile=None
                if p.bfd_profile is None
                else back.get(("BFDProfile", p.bfd_profile), p.bfd_profile),
            )
            for p in config.peers
        ),
        bfd_profiles=tuple(
            replace(b, name=back.get(("BFDProfile", b.name), b.name)) for b in config.bfd_profiles
        ),
        l2_advertisements=tuple(
            replace(a, name=back.get(("L2Advertisement", a.name), a.name), pools=tuple(map(pool, a.pools)))
            for a in config.l2_advertisements
        ),
        bgp_advertisements=tuple(
            replace(
                a,
                name=back.get(("BGPAdvertisement", a.name), a.name),
                pools=tuple(map(pool, a.pools)),
                peers=tuple(map(peer, a.peers)),
            )
            for a in config.bgp_advertisements
        ),
        cluster_ip_advertisements=tuple(
            replace(
                c, name=back.get(("ClusterIPAdvertisement", c.name), c.name), peers=tuple(map(peer, c.peers))
            )
            for c in config.cluster_ip_advertisements
        ),
    )


def normal(config: Config) -> Config:
    """Order does not matter between items of a kind, nor in the pools and peers an advertisement selects."""

    def by_name(items: Any) -> tuple[Any, ...]:
        return tuple(sorted(items, key=lambda item: item.name))

    return Config(
        pools=by_name(config.pools),
        peers=by_name(config.peers),
        bgp_communities=tuple(sorted(config.bgp_communities)),
        bfd_profiles=by_name(config.bfd_profiles),
        l2_advertisements=by_name(
            replace(a, pools=tuple(sorted(set(a.pools)))) for a in config.l2_advertisements
        ),
        bgp_advertisements=by_name(
            replace(a, pools=tuple(sorted(set(a.pools))), peers=tuple(sorted(set(a.peers))))
            for a in config.bgp_advertisements
        ),
        cluster_ip_advertisements=by_name(
            replace(c, peers=tuple(sorted(set(c.peers)))) for c in config.cluster_ip_advertisements
        ),
    )


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(resource_configs())
def test_domain_to_resources_to_domain(config: Config) -> None:
    rendered = render(config)
    result = load_config(None, rendered.objects)
    assert result.errors == (), [str(e) for e in result.errors]
    assert result.config is not None
    assert normal(unrename(result.config, rendered.renames)) == normal(config)


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(resource_configs())
def test_the_written_text_reads_back_as_the_same_objects(config: Config) -> None:
    """What ``ironlb convert`` prints (YAML) is read back as kubectl and ironlb read YAML."""
    rendered = render(config)
    assert native(load_documents(render_text(rendered))) == rendered.objects
