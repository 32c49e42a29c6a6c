"""Service allocation (issue 15): which pools admit a Service, in which order pools are tried, and what
happens to a held IP when its pool stops admitting the Service. Table tests; the property is in
``test_alloc_admission_properties``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ironlb.allocator import AllocationRequest, Allocator, Assignment, Port, Refusal, allocate_all
from ironlb.cli.main import main
from ironlb.cluster.manifests import ManifestSource
from ironlb.config.model import Family, LabelSelector, SelectorRequirement, ServiceAllocation
from tests.allocator.builders import config, ip, pool, req, service

NS = "kubernetes.io/metadata.name"


def ns_req(
    key: str,
    *,
    ns_labels: dict[str, str] | None = None,
    svc: dict[str, str] | None = None,
    families: tuple[Family, ...] = (),
    requested: tuple[str, ...] = (),
    pool: str | None = None,
    share: str | None = None,
    ports: tuple[Port, ...] = (),
    current: tuple[str, ...] = (),
) -> AllocationRequest:
    """A request of Service ``key`` (``namespace/name``) with its namespace's and its own labels."""
    namespace = key.split("/")[0]
    base = req(
        key, families=families, requested=requested, pool=pool, share=share, ports=ports, current=current
    )
    return replace(
        base,
        namespace=namespace,
        namespace_labels=tuple(sorted({NS: namespace, **(ns_labels or {})}.items())),
        service_labels=tuple(sorted((svc or {}).items())),
    )


def sel(**kv: str) -> LabelSelector:
    return LabelSelector(tuple(sorted(kv.items())))


TEAM_A = ServiceAllocation(namespaces=("team-a",))
BY_LABEL = ServiceAllocation(namespace_selectors=(sel(tier="prod"),))
WEB_ONLY = ServiceAllocation(service_selectors=(sel(app="web"),))


# --- the rule -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allocation", "namespace", "ns_labels", "svc_labels", "admitted"),
    [
        (None, "x", {}, {}, True),
        (ServiceAllocation(), "x", {}, {}, True),  # an empty serviceAllocation limits nothing
        (ServiceAllocation(priority=5), "x", {}, {}, True),
        (TEAM_A, "team-a", {}, {}, True),
        (TEAM_A, "team-b", {}, {}, False),
        (BY_LABEL, "x", {"tier": "prod"}, {}, True),
        (BY_LABEL, "x", {"tier": "dev"}, {}, False),
        # namespaces and namespace selectors are OR'ed: either one admits
        (ServiceAllocation(namespaces=("a",), namespace_selectors=(sel(tier="prod"),)), "a", {}, {}, True),
        (
            ServiceAllocation(namespaces=("a",), namespace_selectors=(sel(tier="prod"),)),
            "b",
            {"tier": "prod"},
            {},
            True,
        ),
        (ServiceAllocation(namespaces=("a",), namespace_selectors=(sel(tier="prod"),)), "b", {}, {}, False),
        (WEB_ONLY, "x", {}, {"app": "web"}, True),
        (WEB_ONLY, "x", {}, {"app": "db"}, False),
        (WEB_ONLY, "x", {}, {}, False),
        # the namespace and the Service rules are AND'ed
        (
            ServiceAllocation(namespaces=("a",), service_selectors=(sel(app="web"),)),
            "a",
            {},
            {"app": "db"},
            False,
        ),
        (
            ServiceAllocation(namespaces=("a",), service_selectors=(sel(app="web"),)),
            "b",
            {},
            {"app": "web"},
            False,
        ),
        (
            ServiceAllocation(namespaces=("a",), service_selectors=(sel(app="web"),)),
            "a",
            {},
            {"app": "web"},
            True,
        ),
        # expressions; selectors in one list are OR'ed
        (
            ServiceAllocation(
                service_selectors=(
                    LabelSelector((), (SelectorRequirement("app", "In", ("web", "api")),)),
                    sel(role="edge"),
                )
            ),
            "x",
            {},
            {"role": "edge"},
            True,
        ),
        (
            ServiceAllocation(
                namespace_selectors=(LabelSelector((), (SelectorRequirement("tier", "DoesNotExist"),)),)
            ),
            "x",
            {"tier": "prod"},
            {},
            False,
        ),
    ],
)
def test_the_rule(
    allocation: ServiceAllocation | None,
    namespace: str,
    ns_labels: dict[str, str],
    svc_labels: dict[str, str],
    admitted: bool,
) -> None:
    p = pool("p", "10.0.0.0/30", allocation=allocation)
    why = p.refusal(namespace, ns_labels, svc_labels)
    assert (why is None) == admitted, why
    out = Allocator(config(p)).assign(ns_req(f"{namespace}/s", ns_labels=ns_labels, svc=svc_labels))
    assert isinstance(out, Assignment) == admitted, out


def test_refusal_says_what_did_not_match() -> None:
    both = ServiceAllocation(
        namespaces=("a", "b"), namespace_selectors=(sel(tier="prod"),), service_selectors=(sel(app="web"),)
    )
    assert both.refusal("c", {"tier": "dev"}, {"app": "db"}) == (
        "namespace 'c' is not in namespaces [a, b] and has no labels matching namespaceSelectors "
        "[tier=prod]; the Service's labels match none of serviceSelectors [app=web]"
    )
    exprs = ServiceAllocation(
        service_selectors=(LabelSelector((("a", "1"),), (SelectorRequirement("b", "NotIn", ("x", "y")),)),)
    )
    assert (
        exprs.refusal("n", {}, {})
        == "the Service's labels match none of serviceSelectors [a=1,b notin (x,y)]"
    )


# --- order ----------------------------------------------------------------------------------------


def test_pools_are_tried_by_priority_then_without_in_config_order() -> None:
    pools = (
        pool("none-1", "10.0.1.0/32"),
        pool("prio-5", "10.0.5.0/32", allocation=ServiceAllocation(priority=5)),
        pool("none-2", "10.0.2.0/32"),
        pool("prio-1", "10.0.6.0/32", allocation=ServiceAllocation(priority=1)),
        pool("prio-5b", "10.0.7.0/32", allocation=ServiceAllocation(priority=5)),
    )
    a = Allocator(config(*pools))
    got = [a.assign(ns_req(f"ns/s{i}", families=(4,))) for i in range(6)]
    assert [g.pool if isinstance(g, Assignment) else g.code for g in got] == [
        "prio-1",
        "prio-5",
        "prio-5b",  # equal priorities: config order
        "none-1",
        "none-2",
        "no-ip-available",
    ]


def test_a_higher_priority_pool_that_does_not_admit_is_skipped() -> None:
    a = Allocator(
        config(
            pool("other-team", "10.0.0.0/30", allocation=ServiceAllocation(priority=1, namespaces=("b",))),
            pool("mine", "10.0.1.0/30", allocation=ServiceAllocation(priority=2, namespaces=("a",))),
            pool("shared", "10.0.2.0/30"),
        )
    )
    out = a.assign(ns_req("a/web"))
    assert isinstance(out, Assignment) and out.pool == "mine"
    out = a.assign(ns_req("c/web"))
    assert isinstance(out, Assignment) and out.pool == "shared"


# --- refusals: every pool named, with why --------------------------------------------------------


def test_allocation_failed_names_every_pool_that_refused_and_why() -> None:
    a = Allocator(
        config(
            pool("a", "10.0.0.0/30", allocation=TEAM_A),
            pool("b", "10.0.1.0/30", allocation=WEB_ONLY),
            pool("manual", "10.0.2.0/30", auto_assign=False),  # not tried: never named
        )
    )
    out = a.assign(ns_req("team-b/db", svc={"app": "db"}))
    assert isinstance(out, Refusal) and out.code == "not-admitted"
    assert out.reason == (
        "no address pool admits team-b/db: "
        "pool \"a\": namespace 'team-b' is not in namespaces [team-a]; "
        'pool "b": the Service\'s labels match none of serviceSelectors [app=web]'
    )


def test_a_full_pool_and_refusing_pools_are_both_named() -> None:
    a = Allocator(config(pool("a", "10.0.0.0/30", allocation=TEAM_A), pool("open", "10.0.1.0/32")))
    assert isinstance(a.assign(ns_req("x/first")), Assignment)
    out = a.assign(ns_req("x/second"))
    assert isinstance(out, Refusal) and out.code == "no-ip-available"
    assert out.reason.startswith('no available IPs in pool "open"')
    assert (
        "pools that do not admit x/second: pool \"a\": namespace 'x' is not in namespaces [team-a]"
        in out.reason
    )


def test_an_annotated_pool_must_admit_the_service() -> None:
    a = Allocator(config(pool("a", "10.0.0.0/30", allocation=TEAM_A, auto_assign=False)))
    out = a.assign(ns_req("team-b/web", pool="a"))
    assert isinstance(out, Refusal) and out.code == "not-admitted"
    assert (
        out.reason
        == "address pool \"a\" does not admit team-b/web: namespace 'team-b' is not in namespaces [team-a]"
    )
    assert isinstance(a.assign(ns_req("team-a/web", pool="a")), Assignment)


def test_a_requested_ip_must_be_in_a_pool_that_admits_the_service() -> None:
    a = Allocator(config(pool("a", "10.0.0.0/30", allocation=TEAM_A)))
    out = a.assign(ns_req("team-b/web", requested=("10.0.0.1",)))
    assert isinstance(out, Refusal) and out.code == "not-admitted"
    assert 'requested IP 10.0.0.1 is in pool "a", which does not admit team-b/web' in out.reason


def test_adopt_refuses_a_status_ip_of_a_pool_that_does_not_admit() -> None:
    a = Allocator(config(pool("a", "10.0.0.0/30", allocation=TEAM_A)))
    out = a.adopt(ns_req("team-b/web", current=("10.0.0.1",)))
    assert isinstance(out, Refusal) and out.code == "not-adoptable" and "does not admit" in out.reason
    assert a.holders(ip("10.0.0.1")) == ()


# --- a pool that stops admitting frees the IP ----------------------------------------------------


def test_config_change_that_stops_admitting_frees_the_ip() -> None:
    open_pool = pool("a", "10.0.0.0/30")
    a = Allocator(config(open_pool, pool("b", "10.0.1.0/30")))
    request = ns_req("team-b/web")
    got = a.assign(request)
    assert isinstance(got, Assignment) and got.pool == "a"
    broken = a.set_config(config(pool("a", "10.0.0.0/30", allocation=TEAM_A), pool("b", "10.0.1.0/30")))
    assert [(b.key, b.ips, b.pool) for b in broken] == [("team-b/web", got.ips, "a")]
    assert broken[0].reason == (
        'released after a config change: IP 10.0.0.0 is in pool "a", which does not admit team-b/web: '
        "namespace 'team-b' is not in namespaces [team-a]"
    )
    assert a.holders(got.ips[0]) == () and a.in_use("a") == 0
    again = a.assign(request)
    assert isinstance(again, Assignment) and again.pool == "b"


def test_namespace_label_change_frees_the_ips_of_its_services_only() -> None:
    a = Allocator(config(pool("prod", "10.0.0.0/30", allocation=BY_LABEL), pool("rest", "10.0.1.0/30")))
    web = ns_req("shop/web", ns_labels={"tier": "prod"})
    api = ns_req("shop/api", ns_labels={"tier": "prod"})
    other = ns_req("ops/mon", ns_labels={"tier": "prod"})
    for r in (web, api, other):
        got = a.assign(r)
        assert isinstance(got, Assignment) and got.pool == "prod"
    unchanged = a.set_namespace_labels("shop", ((NS, "shop"), ("tier", "prod")))
    assert unchanged == []
    broken = a.set_namespace_labels("shop", ((NS, "shop"), ("tier", "dev")))
    assert sorted(b.key for b in broken) == ["shop/api", "shop/web"]
    assert all(b.reason.startswith("released after a label change of namespace shop: ") for b in broken)
    assert "has no labels matching namespaceSelectors [tier=prod]" in broken[0].reason
    held = a.assignments()
    assert set(held) == {"ops/mon"} and a.in_use("prod") == 1
    # The controller assigns them again, with the new labels: they move to the pool that admits them.
    moved = a.assign(ns_req("shop/web", ns_labels={"tier": "dev"}, current=broken[0].ips))
    assert isinstance(moved, Assignment) and moved.pool == "rest"


def test_service_label_change_moves_the_service() -> None:
    a = Allocator(config(pool("web", "10.0.0.0/30", allocation=WEB_ONLY), pool("rest", "10.0.1.0/30")))
    got = a.assign(ns_req("ns/s", svc={"app": "web"}))
    assert isinstance(got, Assignment) and got.pool == "web"
    moved = a.assign(ns_req("ns/s", svc={"app": "db"}, current=got.ips))
    assert isinstance(moved, Assignment) and moved.pool == "rest"
    assert moved.reason is not None and "does not admit ns/s" in moved.reason
    assert a.in_use("web") == 0


def test_a_shared_ip_stays_with_the_services_still_admitted() -> None:
    a = Allocator(config(pool("web", "10.0.0.0/32", allocation=WEB_ONLY)))
    one = ns_req("ns/one", svc={"app": "web"}, share="k", ports=(("TCP", 80),))
    two = ns_req("ns/two", svc={"app": "web"}, share="k", ports=(("TCP", 443),))
    assert isinstance(a.assign(one), Assignment) and isinstance(a.assign(two), Assignment)
    out = a.assign(
        ns_req("ns/two", svc={"app": "db"}, share="k", ports=(("TCP", 443),), current=("10.0.0.0",))
    )
    assert isinstance(out, Refusal) and out.code == "not-admitted"
    assert a.holders(ip("10.0.0.0")) == ("ns/one",)


# --- from Service and Namespace objects ----------------------------------------------------------


def test_allocate_all_reads_namespace_labels_from_namespace_objects() -> None:
    cfg = config(
        pool("prod", "10.0.0.0/30", allocation=BY_LABEL), pool("dev", "10.0.1.0/30", allocation=TEAM_A)
    )
    services = [service("web", "shop"), service("api", "team-a"), service("x", "elsewhere")]
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"tier": "prod"}}}
    ]
    by_key = {r.key: r for r in allocate_all(cfg, services, namespaces=namespaces)}  # type: ignore[arg-type]
    assert (by_key["shop/web"].pool, by_key["team-a/api"].pool) == ("prod", "dev")
    assert (
        by_key["elsewhere/x"].error is not None
        and "no address pool admits elsewhere/x" in by_key["elsewhere/x"].error
    )


def test_plan_reads_a_namespace_manifest_from_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The manifest-directory source (``ironlb plan``, the lab) provides Namespace objects: a pool that
    selects namespaces by label admits the Services of a Namespace manifest's labels."""
    (tmp_path / "ns.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {tier: prod}}\n"
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: lab}\n"
    )
    for ns in ("shop", "lab"):
        (tmp_path / f"svc-{ns}.yaml").write_text(
            f"apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: {ns}}}\n"
            "spec: {type: LoadBalancer, ports: [{port: 80, protocol: TCP}]}\n"
        )
    snap = ManifestSource([tmp_path]).snapshot()
    assert [n["metadata"]["name"] for n in snap.namespaces] == ["shop", "lab"]
    cfg = config(pool("prod", "10.0.0.0/30", allocation=BY_LABEL))
    results = {r.key: r for r in allocate_all(cfg, snap.services, namespaces=snap.namespaces)}
    assert results["shop/web"].ips == (ip("10.0.0.0"),)
    assert (
        results["lab/web"].error is not None and "no address pool admits lab/web" in results["lab/web"].error
    )
    # the same through the CLI, with a ConfigMap (no service allocation: both get IPs)
    conf = tmp_path / "c.yaml"
    conf.write_text("address-pools: [{name: p, protocol: layer2, addresses: [10.1.0.0/30]}]\n")
    assert main(["plan", "-c", str(conf), "-f", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "lab        web" in out and "shop       web" in out
