"""Hypothesis strategies for valid domain configs (valid by construction) and config-shaped noise.

``configs()`` are shaped as the ConfigMap build makes them (one advertisement per
pool and protocol, named after the pool; peers named ``peer-<address>``), spelled
out here rather than by calling the build; ``domain_configs()`` add what only the
domain can say (node selectors and peers per advertisement, service allocation...).
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from ironlb.config.model import (
    AddressPool,
    AddressRange,
    BfdProfile,
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Community,
    Config,
    L2Advertisement,
    LabelSelector,
    Peer,
    SecretRef,
    SelectorRequirement,
    ServiceAllocation,
)
from ironlb.config.values import WELL_KNOWN_COMMUNITIES, widest_prefix

V4_BASE = int(ipaddress.IPv4Address("10.0.0.0"))
V6_BASE = int(ipaddress.IPv6Address("fc00::"))

label_name = st.from_regex(r"\A[a-z0-9]([a-z0-9._-]{0,10}[a-z0-9])?\Z")
label_key = st.one_of(
    label_name, st.builds(lambda p, n: f"{p}.io/{n}", st.from_regex(r"\A[a-z]{1,8}\Z"), label_name)
)
label_value = st.one_of(st.just(""), label_name)

communities = st.one_of(
    st.builds(lambda a, b: Community(f"{a}:{b}"), st.integers(0, 65535), st.integers(0, 65535)),
    st.builds(
        lambda a, b, c: Community(f"{a}:{b}:{c}"),
        st.integers(0, 2**32 - 1),
        st.integers(0, 2**32 - 1),
        st.integers(0, 2**32 - 1),
    ),
    st.sampled_from(sorted({Community(v) for v in WELL_KNOWN_COMMUNITIES.values()}, key=lambda c: c.value)),
)


@st.composite
def node_selectors(draw: st.DrawFn) -> tuple[LabelSelector, ...]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        labels = draw(st.dictionaries(label_key, label_value, max_size=3))
        exprs = []
        for _ in range(draw(st.integers(0, 2))):
            op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
            vals = draw(st.lists(label_value, min_size=1, max_size=3)) if op in ("In", "NotIn") else []
            exprs.append(SelectorRequirement(draw(label_key), op, tuple(vals)))
        out.append(LabelSelector(tuple(sorted(labels.items())), tuple(exprs)))
    return tuple(out)


@st.composite
def disjoint_ranges(draw: st.DrawFn, family: int, count: int) -> list[AddressRange]:
    """``count`` pairwise disjoint ranges: consecutive pairs of sorted distinct offsets."""
    if count == 0:
        return []
    base, span = (V4_BASE, 2**16) if family == 4 else (V6_BASE, 2**64)
    offsets = sorted(draw(st.sets(st.integers(0, span - 1), min_size=2 * count, max_size=2 * count)))
    cls = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    return [AddressRange(cls(base + offsets[i]), cls(base + offsets[i + 1])) for i in range(0, 2 * count, 2)]


@st.composite
def advertisements(draw: st.DrawFn, ranges: list[AddressRange]) -> tuple[BgpAdvertisement, ...]:
    """A ConfigMap pool's ``bgp-advertisements`` (attributes only, no repeats)."""
    min4 = max((widest_prefix(r) for r in ranges if r.family == 4), default=0)
    min6 = max((widest_prefix(r) for r in ranges if r.family == 6), default=0)
    out: list[BgpAdvertisement] = []
    seen = set()
    for _ in range(draw(st.integers(0, 3))):
        comms = tuple(dict.fromkeys(draw(st.lists(communities, max_size=3))))
        ad = BgpAdvertisement(
            aggregation_length=draw(st.integers(min4, 32)),
            aggregation_length_v6=draw(st.integers(min6, 128)),
            localpref=draw(st.none() | st.integers(0, 2**32 - 1)),
            communities=comms,
        )
        if ad.attributes not in seen:
            seen.add(ad.attributes)
            out.append(ad)
    return tuple(out)


@st.composite
def pools(
    draw: st.DrawFn, interfaces: tuple[str, ...] = ()
) -> tuple[tuple[AddressPool, ...], tuple[L2Advertisement, ...], tuple[BgpAdvertisement, ...]]:
    """ConfigMap pools and the advertisements the ConfigMap gives them."""
    n = draw(st.integers(0, 4))
    v4 = draw(disjoint_ranges(4, draw(st.integers(0, 2 * n))))
    v6 = draw(disjoint_ranges(6, draw(st.integers(0, 2 * n))))
    all_ranges = draw(st.permutations(v4 + v6))
    names = draw(st.lists(label_name, min_size=n, max_size=n, unique=True))
    out: list[AddressPool] = []
    l2: list[L2Advertisement] = []
    bgp: list[BgpAdvertisement] = []
    for i, name in enumerate(names):
        mine = [r for j, r in enumerate(all_ranges) if j % n == i]
        if not mine:
            continue
        protocol = draw(st.sampled_from(["layer2", "bgp"]))
        out.append(
            AddressPool(
                name=name,
                ranges=tuple(mine),
                auto_assign=draw(st.booleans()),
                avoid_buggy_ips=draw(st.booleans()),
            )
        )
        if protocol == "layer2":
            l2.append(L2Advertisement(name, (name,), interfaces=interfaces))
        else:
            ads = draw(advertisements(mine)) or (BgpAdvertisement(),)
            bgp += [
                replace(ad, name=name if k == 0 else f"{name}-{k}", pools=(name,)) for k, ad in enumerate(ads)
            ]
    return tuple(out), tuple(l2), tuple(bgp)


bfd_profiles = st.lists(label_name, max_size=3, unique=True).flatmap(
    lambda names: st.tuples(
        *[
            st.builds(
                BfdProfile,
                name=st.just(n),
                receive_interval=st.integers(10, 60000),
                transmit_interval=st.integers(10, 60000),
                detect_multiplier=st.integers(2, 255),
                echo_interval=st.integers(10, 60000),
                echo_mode=st.booleans(),
                passive_mode=st.booleans(),
                minimum_ttl=st.integers(1, 254),
            )
            for n in names
        ]
    )
)

passwords = st.none() | st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@st.composite
def peer(draw: st.DrawFn, profiles: tuple[BfdProfile, ...]) -> Peer:
    family = draw(st.sampled_from([4, 6]))
    addr_strategy = st.ip_addresses(v=family)
    address = draw(addr_strategy)
    my_asn = draw(st.integers(1, 2**32 - 1))
    peer_asn = draw(st.one_of(st.just(my_asn), st.integers(1, 2**32 - 1)))
    hold = draw(st.one_of(st.just(0), st.integers(3, 7200)))
    keepalive = draw(st.integers(0, hold))
    return Peer(
        my_asn=my_asn,
        peer_asn=peer_asn,
        peer_address=address,
        peer_port=draw(st.integers(1, 65535)),
        hold_time=float(hold),
        keepalive_time=float(keepalive),
        router_id=draw(st.none() | st.ip_addresses(v=4)),
        source_address=draw(st.none() | addr_strategy),
        password=draw(passwords),
        node_selectors=draw(node_selectors()),
        bfd_profile=draw(st.none() | st.sampled_from([p.name for p in profiles])) if profiles else None,
        ebgp_multihop=draw(st.booleans()) if my_asn != peer_asn else False,
    )


@st.composite
def cluster_ip(draw: st.DrawFn) -> ClusterIPAdvertisement:
    slots = draw(st.sets(st.integers(0, 255), min_size=1, max_size=3))
    cidrs = [ipaddress.ip_network(f"10.{96 + s // 64}.{(s % 64) * 4}.0/22") for s in sorted(slots)]
    if draw(st.booleans()):
        cidrs.append(ipaddress.ip_network("fd00:10:96::/112"))
    return ClusterIPAdvertisement(
        cidrs=tuple(cidrs),
        local_routes=draw(st.booleans()),
        external_ips=draw(st.booleans()),
        communities=tuple(dict.fromkeys(draw(st.lists(communities, max_size=3)))),
        localpref=draw(st.none() | st.integers(0, 2**32 - 1)),
        node_selectors=draw(node_selectors()),
    )


@st.composite
def configs(draw: st.DrawFn) -> Config:
    """Valid configs as the ConfigMap build makes them."""
    profiles = draw(bfd_profiles)
    peers: list[Peer] = []
    keys = set()
    for _ in range(draw(st.integers(0, 3))):
        p = draw(peer(profiles))
        key = (p.peer_address, p.peer_port, p.source_address, frozenset(p.node_selectors))
        if key not in keys:
            keys.add(key)
            same = sum(q.peer_address == p.peer_address for q in peers)
            peers.append(replace(p, name=f"peer-{p.peer_address}" + (f"-{same + 1}" if same else "")))
    aliases = draw(st.dictionaries(label_name, communities, max_size=3))
    interfaces = draw(st.lists(st.from_regex(r"\A[a-z][a-z0-9*?]{0,7}\Z"), max_size=3, unique=True))
    pool_list, l2, bgp = draw(pools(tuple(interfaces)))
    cip = draw(st.none() | cluster_ip())
    return Config(
        pools=pool_list,
        peers=tuple(peers),
        bgp_communities=tuple(aliases.items()),
        bfd_profiles=profiles,
        l2_advertisements=l2,
        bgp_advertisements=bgp,
        cluster_ip_advertisements=(replace(cip, name="cluster-ip-advertisement"),) if cip else (),
    )


@st.composite
def allocations(draw: st.DrawFn) -> ServiceAllocation | None:
    if draw(st.booleans()):
        return None
    return ServiceAllocation(
        priority=draw(st.none() | st.integers(0, 100)),
        namespaces=tuple(draw(st.lists(label_name, max_size=2, unique=True))),
        namespace_selectors=draw(node_selectors()),
        service_selectors=draw(node_selectors()),
    )


@st.composite
def domain_configs(draw: st.DrawFn) -> Config:
    """Valid configs that may say what only the domain can: advertisements with node selectors,
    interfaces and peers of their own, pools announced by both protocols or by nobody, service
    allocation, per-peer graceful restart and password Secrets, several ClusterIP advertisements."""
    base = draw(configs())
    names = [p.name for p in base.pools]
    peers = tuple(
        replace(
            p,
            name=f"router-{i}" if draw(st.booleans()) else p.name,
            graceful_restart=draw(st.sampled_from([None, True, False])),
            password_secret=draw(st.none() | st.just(SecretRef(f"secret-{i}"))),
        )
        for i, p in enumerate(base.peers)
    )
    peer_names = [p.name for p in peers]
    pool_subset = st.lists(st.sampled_from(names), max_size=3, unique=True) if names else st.just([])
    l2 = [
        L2Advertisement(
            f"l2-{i}",
            tuple(draw(pool_subset)),
            draw(node_selectors()),
            tuple(draw(st.lists(st.sampled_from(["eth0", "eth1", "bond*"]), max_size=2, unique=True))),
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    bgp: list[BgpAdvertisement] = []
    for i in range(draw(st.integers(0, 3))):
        chosen = tuple(draw(pool_subset))
        ranges = [r for p in base.pools if not chosen or p.name in chosen for r in p.ranges]
        ad = (draw(advertisements(ranges)) or (BgpAdvertisement(),))[0]  # valid for the pools it selects
        chosen_peers = draw(st.lists(st.sampled_from(peer_names), max_size=2, unique=True)) if peers else []
        bgp.append(
            replace(
                ad,
                name=f"bgp-{i}",
                pools=chosen,
                node_selectors=draw(node_selectors()),
                peers=tuple(chosen_peers),
            )
        )
    cips = [
        replace(c, name=f"cip-{i}", peers=tuple(draw(st.lists(st.sampled_from(peer_names), max_size=2))))
        if peers
        else replace(c, name=f"cip-{i}")
        for i, c in enumerate(draw(st.lists(cluster_ip(), max_size=2)))
    ]
    keep = draw(st.booleans())
    return Config(
        pools=tuple(replace(p, allocation=draw(allocations())) for p in base.pools),
        peers=peers,
        bgp_communities=base.bgp_communities,
        bfd_profiles=base.bfd_profiles,
        l2_advertisements=(base.l2_advertisements if keep else ()) + tuple(l2),
        bgp_advertisements=(base.bgp_advertisements if keep else ()) + tuple(bgp),
        cluster_ip_advertisements=tuple(cips),
    )


# ---- noise for fuzzing: config-shaped trees with plausible keys and hostile values

KEYS = [
    "peers", "address-pools", "bgp-communities", "bfd-profiles", "cluster-ip-advertisement", "l2",
    "name", "protocol", "addresses", "auto-assign", "avoid-buggy-ips", "bgp-advertisements",
    "aggregation-length", "aggregation-length-v6", "localpref", "communities", "my-asn", "peer-asn",
    "peer-address", "peer-port", "hold-time", "keepalive-time", "router-id", "source-address", "password",
    "node-selectors", "match-labels", "match-expressions", "key", "operator", "values", "bfd-profile",
    "ebgp-multihop", "cidrs", "local-routes", "external-ips", "interfaces", "receive-interval",
    "minimum-ttl", "kind", "data", "config",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "layer2", "bgp", "10.0.0.0/24", "10.0.0.0/33", "10.0.0.1-10.0.0.9", "10.0.0.9-10.0.0.1",
            "fc00::/64", "fc00::1-10.0.0.1", "90s", "1m30s", "0", "-3s", "1:2", "65536:1", "1:2:3",
            "large:1:2:3", "no-export", "In", "NotIn", "Exists", "DoesNotExist", "172.30.0.1",
            "fe80::1%eth0", " - ", "-", "/", "::", "1.2.3.4/", "ConfigMap",
        ]
    ),
)  # fmt: skip


def _tree(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), SCALARS.filter(lambda v: v is not None)), children, max_size=5
        ),
    )


config_trees = st.recursive(SCALARS, _tree, max_leaves=40)
