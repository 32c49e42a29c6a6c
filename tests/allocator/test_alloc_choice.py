"""How a new Service's address is chosen (issue 2): pools, requested IPs, sharing, families, refusals."""

from __future__ import annotations

import pytest

from ironlb.allocator import Allocator, Assignment
from tests.allocator.builders import config, ip, ips, pool, refused, req

# --- pools: declaration order, auto-assign, annotation -----------------------------------------


def test_first_free_address_in_declaration_order() -> None:
    a = Allocator(config(pool("b-first", "10.0.1.0/31"), pool("a-second", "10.0.0.0/31")))
    got = [a.assign(req(f"ns/s{i}")) for i in range(3)]
    assert [(o.pool, str(o.ips[0])) for o in got if isinstance(o, Assignment)] == [
        ("b-first", "10.0.1.0"),
        ("b-first", "10.0.1.1"),
        ("a-second", "10.0.0.0"),
    ]


def test_ranges_of_a_pool_in_declaration_order() -> None:
    a = Allocator(config(pool("p", "10.0.0.9-10.0.0.9", "10.0.0.1 - 10.0.0.2")))
    assert [ips(a.assign(req(f"ns/s{i}"))) for i in range(3)] == [["10.0.0.9"], ["10.0.0.1"], ["10.0.0.2"]]


def test_auto_assign_off_pool_is_skipped_but_selectable_by_annotation() -> None:
    a = Allocator(config(pool("manual", "10.0.0.0/30", auto_assign=False), pool("auto", "10.0.1.0/30")))
    assert ips(a.assign(req("ns/plain"))) == ["10.0.1.0"]
    out = a.assign(req("ns/picky", pool="manual"))
    assert isinstance(out, Assignment) and out.pool == "manual" and ips(out) == ["10.0.0.0"]


def test_annotated_pool_is_the_only_candidate() -> None:
    a = Allocator(config(pool("one", "10.0.0.0/32"), pool("two", "10.0.1.0/30")))
    assert ips(a.assign(req("ns/a", pool="one"))) == ["10.0.0.0"]
    reason = refused(a.assign(req("ns/b", pool="one")), "no-ip-available")
    assert reason == 'no available IPs in pool "one"'


def test_unknown_annotated_pool_is_refused() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/30")))
    assert refused(a.assign(req(pool="nope")), "unknown-pool") == 'address pool "nope" does not exist'


def test_no_auto_assign_pool_at_all() -> None:
    a = Allocator(config(pool("manual", "10.0.0.0/30", auto_assign=False)))
    assert "auto-assign" in refused(a.assign(req()), "no-ip-available")


def test_empty_config_refuses() -> None:
    assert "auto-assign" in refused(Allocator(config()).assign(req()), "no-ip-available")


def test_exhausted_pool_names_the_pool() -> None:
    a = Allocator(config(pool("default", "10.0.0.0/31")))
    a.assign(req("ns/a"))
    a.assign(req("ns/b"))
    assert refused(a.assign(req("ns/c")), "no-ip-available") == ('no available IPs in pool "default"')


def test_single_stack_with_family_says_which_it_needs() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/32", "fd00::/128")))
    a.assign(req("ns/a", families=(4,)))
    assert refused(a.assign(req("ns/b", families=(4,))), "no-ip-available") == (
        'no available IPs in pool "p" (needs IPv4)'
    )


def test_family_missing_from_every_auto_pool() -> None:
    a = Allocator(config(pool("x", "10.0.0.0/32"), pool("y", "10.0.1.0/32")))
    assert refused(a.assign(req(families=(6,))), "no-ip-available") == (
        'none of the auto-assign pools "x", "y" has IPv6 addresses'
    )


def test_exhausted_auto_pools_are_all_named() -> None:
    a = Allocator(config(pool("x", "10.0.0.0/32"), pool("y", "10.0.1.0/32")))
    a.assign(req("ns/a"))
    a.assign(req("ns/b"))
    assert 'auto-assign pools "x", "y"' in refused(a.assign(req("ns/c")), "no-ip-available")


# --- avoid-buggy-ips ---------------------------------------------------------------------------


def test_avoid_buggy_ips_skips_dot0_and_dot255() -> None:
    a = Allocator(config(pool("p", "10.0.0.253-10.0.1.2", avoid_buggy_ips=True)))
    got = [ips(a.assign(req(f"ns/s{i}")))[0] for i in range(4)]
    assert got == ["10.0.0.253", "10.0.0.254", "10.0.1.1", "10.0.1.2"]
    assert a.size("p") == 4
    assert refused(a.assign(req("ns/full")), "no-ip-available")


def test_avoid_buggy_ips_refuses_requested_dot0() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24", avoid_buggy_ips=True)))
    reason = refused(a.assign(req(requested=("10.0.0.255",))), "not-in-pool")
    assert reason == 'requested IP 10.0.0.255 is avoided in pool "p" (avoid-buggy-ips: no .0 or .255)'


def test_avoid_buggy_ips_does_not_touch_ipv6() -> None:
    a = Allocator(config(pool("p", "fd00::ff-fd00::100", avoid_buggy_ips=True)))
    assert ips(a.assign(req(families=(6,)))) == ["fd00::ff"]
    assert a.size("p") == 2


def test_without_avoid_buggy_ips_dot0_is_allocated() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    assert ips(a.assign(req())) == ["10.0.0.0"]


# --- requested IPs -----------------------------------------------------------------------------


def test_requested_ip_is_given() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    out = a.assign(req(requested=("10.0.0.77",)))
    assert isinstance(out, Assignment) and out.pool == "p" and ips(out) == ["10.0.0.77"]


def test_requested_ip_outside_every_pool() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    assert refused(a.assign(req(requested=("10.0.1.5",))), "not-in-pool") == (
        "requested IP 10.0.1.5 is not in any pool"
    )


def test_requested_ip_outside_the_annotated_pool() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24"), pool("q", "10.0.1.0/24")))
    reason = refused(a.assign(req(requested=("10.0.1.5",), pool="p")), "not-in-pool")
    assert reason == 'requested IP 10.0.1.5 is not in pool "p" (it is in pool "q")'


def test_requested_ip_from_a_manual_pool_is_allowed() -> None:
    a = Allocator(config(pool("manual", "10.0.0.0/24", auto_assign=False)))
    assert ips(a.assign(req(requested=("10.0.0.3",)))) == ["10.0.0.3"]


def test_requested_ip_in_use_names_the_holder() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    a.assign(req("default/foo", requested=("10.0.0.5",), share="k1"))
    reason = refused(a.assign(req("default/bar", requested=("10.0.0.5",), share="k2")), "ip-in-use")
    assert reason == (
        "IP 10.0.0.5 is already in use by default/foo, which does not share it (allow-shared-ip keys differ)"
    )


def test_requested_ips_must_fit_the_family_policy() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24", "fd00::/120")))
    assert "RequireDualStack" in refused(
        a.assign(req(policy="RequireDualStack", requested=("10.0.0.1",))), "invalid-request"
    )
    assert "SingleStack" in refused(
        a.assign(req(families=(4,), requested=("10.0.0.1", "fd00::1"))), "invalid-request"
    )
    assert "SingleStack" in refused(a.assign(req(families=(4,), requested=("fd00::1",))), "invalid-request")
    assert ips(a.assign(req("ns/d", policy="RequireDualStack", requested=("fd00::1", "10.0.0.1")))) == [
        "10.0.0.1",
        "fd00::1",
    ]


def test_requested_ips_in_two_pools_are_refused() -> None:
    a = Allocator(config(pool("v4", "10.0.0.0/24"), pool("v6", "fd00::/120")))
    reason = refused(
        a.assign(req(policy="RequireDualStack", requested=("10.0.0.1", "fd00::1"))), "invalid-request"
    )
    assert "different pools" in reason


def test_requested_ip_wins_over_first_free() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    assert ips(a.assign(req("ns/a", requested=("10.0.0.0",)))) == ["10.0.0.0"]
    assert ips(a.assign(req("ns/b"))) == ["10.0.0.1"]


# --- sharing -----------------------------------------------------------------------------------

SHARE_CASES = [
    # (second request's changes, expected: None = shares, else a fragment of the refusal reason)
    ({"share": "k", "ports": (("TCP", 443),)}, None),
    ({"share": "k", "ports": (("UDP", 80),)}, None),
    ({"share": "other", "ports": (("TCP", 443),)}, "allow-shared-ip keys differ"),
    ({"share": None, "ports": (("TCP", 443),)}, "allow-shared-ip keys differ"),
    ({"share": "k", "ports": (("TCP", 80),)}, "both use port TCP/80"),
    ({"share": "k", "ports": (("TCP", 443),), "backend": "Local {}"}, "externalTrafficPolicy"),
]


@pytest.mark.parametrize(("changes", "expected"), SHARE_CASES)
def test_sharing_rules_for_requested_ip(changes: dict[str, object], expected: str | None) -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    assert ips(a.assign(req("ns/first", requested=("10.0.0.5",), share="k", ports=(("TCP", 80),)))) == [
        "10.0.0.5"
    ]
    out = a.assign(req("ns/second", requested=("10.0.0.5",), **changes))  # type: ignore[arg-type]
    if expected is None:
        assert ips(out) == ["10.0.0.5"]
        assert a.holders(ip("10.0.0.5")) == ("ns/first", "ns/second")
        assert a.in_use("p") == 1
    else:
        reason = refused(out, "ip-in-use")
        assert "in use by ns/first" in reason and expected in reason


def test_neither_sharing_says_so() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    a.assign(req("ns/a", requested=("10.0.0.5",)))
    assert "neither sets allow-shared-ip" in refused(
        a.assign(req("ns/b", requested=("10.0.0.5",))), "ip-in-use"
    )


@pytest.mark.parametrize(("changes", "expected"), SHARE_CASES)
def test_sharing_rules_for_auto_assignment(changes: dict[str, object], expected: str | None) -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    a.assign(req("ns/filler"))  # 10.0.0.0
    assert ips(a.assign(req("ns/first", share="k", ports=(("TCP", 80),)))) == ["10.0.0.1"]
    out = ips(a.assign(req("ns/second", **changes)))  # type: ignore[arg-type]
    assert out == (["10.0.0.1"] if expected is None else ["10.0.0.2"])


def test_sharing_needs_every_holder_compatible() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    a.assign(req("ns/a", share="k", ports=(("TCP", 80),)))
    a.assign(req("ns/b", share="k", ports=(("TCP", 443),)))
    assert ips(a.assign(req("ns/c", share="k", ports=(("TCP", 443),)))) == ["10.0.0.1"]
    assert ips(a.assign(req("ns/d", share="k", ports=(("TCP", 22),)))) == ["10.0.0.0"]


def test_shared_ip_is_freed_only_by_its_last_holder() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/31")))
    a.assign(req("ns/a", share="k", ports=(("TCP", 80),)))
    a.assign(req("ns/b", share="k", ports=(("TCP", 81),)))
    a.release("ns/a")
    assert a.in_use("p") == 1
    assert ips(a.assign(req("ns/c"))) == ["10.0.0.1"]
    a.release("ns/b")
    assert ips(a.assign(req("ns/d"))) == ["10.0.0.0"]


def test_sharing_does_not_cross_pools() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/30"), pool("q", "10.0.1.0/30")))
    a.assign(req("ns/a", share="k", ports=(("TCP", 80),)))
    assert ips(a.assign(req("ns/b", share="k", ports=(("TCP", 81),), pool="q"))) == ["10.0.1.0"]


# --- dual-stack --------------------------------------------------------------------------------

DUAL = config(pool("dual", "10.0.0.0/30", "fd00::/126"), pool("v4only", "10.0.1.0/30"))


@pytest.mark.parametrize(
    ("request_kwargs", "expected"),
    [
        ({}, ["10.0.0.0"]),
        ({"families": (4,)}, ["10.0.0.0"]),
        ({"families": (6,)}, ["fd00::"]),
        ({"families": (6, 4)}, ["fd00::"]),
        ({"policy": "RequireDualStack"}, ["10.0.0.0", "fd00::"]),
        ({"policy": "RequireDualStack", "families": (6, 4)}, ["fd00::", "10.0.0.0"]),
        ({"policy": "RequireDualStack", "families": (6,)}, ["fd00::", "10.0.0.0"]),
        ({"policy": "PreferDualStack"}, ["10.0.0.0", "fd00::"]),
        ({"policy": "PreferDualStack", "families": (4,)}, ["10.0.0.0"]),
        ({"policy": "PreferDualStack", "pool": "v4only"}, ["10.0.1.0"]),
        ({"pool": "v4only", "families": (4,)}, ["10.0.1.0"]),
    ],
)
def test_family_policies(request_kwargs: dict[str, object], expected: list[str]) -> None:
    assert ips(Allocator(DUAL).assign(req(**request_kwargs))) == expected  # type: ignore[arg-type]


def test_require_dual_stack_gets_both_or_nothing() -> None:
    a = Allocator(config(pool("dual", "10.0.0.0/30", "fd00::/128")))
    assert ips(a.assign(req("ns/a", families=(6,)))) == ["fd00::"]
    reason = refused(a.assign(req("ns/b", policy="RequireDualStack")), "no-ip-available")
    assert reason == 'no available IPs in pool "dual" (needs IPv4 and IPv6)'
    assert a.in_use("dual") == 1  # no half assignment left behind


def test_require_dual_stack_in_single_stack_pool() -> None:
    a = Allocator(DUAL)
    reason = refused(a.assign(req(policy="RequireDualStack", pool="v4only")), "no-ip-available")
    assert reason == ('pool "v4only" has no IPv6 addresses (RequireDualStack Service needs IPv4 and IPv6)')


def test_prefer_dual_stack_takes_what_it_can() -> None:
    a = Allocator(config(pool("dual", "10.0.0.0/30", "fd00::/128")))
    a.assign(req("ns/a", families=(6,)))
    assert ips(a.assign(req("ns/b", policy="PreferDualStack"))) == ["10.0.0.0"]


def test_prefer_dual_stack_prefers_a_dual_pool_further_down() -> None:
    a = Allocator(config(pool("v4", "10.0.1.0/30"), pool("dual", "10.0.0.0/30", "fd00::/126")))
    out = a.assign(req(policy="PreferDualStack"))
    assert isinstance(out, Assignment) and out.pool == "dual" and len(out.ips) == 2


def test_single_stack_unspecified_family_falls_back_to_ipv6_pool() -> None:
    a = Allocator(config(pool("v6", "fd00::/64")))
    assert ips(a.assign(req())) == ["fd00::"]


def test_single_stack_family_missing_everywhere() -> None:
    a = Allocator(config(pool("v4", "10.0.0.0/30")))
    assert refused(a.assign(req(families=(6,))), "no-ip-available") == (
        'pool "v4" has no IPv6 addresses (SingleStack Service needs IPv6)'
    )
