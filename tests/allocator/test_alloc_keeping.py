"""How a held address is kept, released or invalidated (issue 2): adoption, config changes, usage."""

from __future__ import annotations

from ironlb.allocator import Allocator, Assignment
from tests.allocator.builders import config, ip, ips, pool, refused, req

# --- adoption, idempotence, release ------------------------------------------------------------


def test_current_ip_is_kept_even_if_not_first_free() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    out = a.assign(req(current=("10.0.0.42",)))
    assert isinstance(out, Assignment) and ips(out) == ["10.0.0.42"] and out.reason is None


def test_current_ip_outside_pools_is_replaced_with_a_reason() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    out = a.assign(req(current=("192.168.0.1",)))
    assert isinstance(out, Assignment) and ips(out) == ["10.0.0.0"]
    assert out.reason == "192.168.0.1 released: IP 192.168.0.1 is not in any pool"


def test_current_ip_outside_the_annotated_pool_moves() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24"), pool("q", "10.0.1.0/24")))
    out = a.assign(req(current=("10.0.0.3",), pool="q"))
    assert isinstance(out, Assignment) and ips(out) == ["10.0.1.0"]
    assert out.reason is not None and 'not in pool "q"' in out.reason


def test_current_ip_replaced_when_requested_ip_differs() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    assert ips(a.assign(req(current=("10.0.0.3",), requested=("10.0.0.9",)))) == ["10.0.0.9"]


def test_current_ip_kept_in_manual_pool() -> None:
    a = Allocator(config(pool("manual", "10.0.0.0/24", auto_assign=False)))
    assert ips(a.assign(req(current=("10.0.0.3",)))) == ["10.0.0.3"]


def test_current_ips_no_longer_fitting_the_family_policy() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24", "fd00::/120")))
    out = a.assign(req(policy="RequireDualStack", current=("10.0.0.3",)))
    assert ips(out) == ["10.0.0.0", "fd00::"]
    assert isinstance(out, Assignment) and out.reason and "RequireDualStack" in out.reason


def test_refused_with_a_note_when_current_ip_is_lost_and_nothing_is_free() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/32")))
    a.assign(req("ns/a"))
    reason = refused(a.assign(req("ns/b", current=("10.9.9.9",))), "no-ip-available")
    assert "10.9.9.9 released" in reason


def test_adopt_never_allocates() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    assert refused(a.adopt(req("ns/a")), "not-adoptable") == "no IPs to adopt"
    assert "not in any pool" in refused(a.adopt(req("ns/b", current=("10.1.0.0",))), "not-adoptable")
    assert a.in_use("p") == 0
    assert ips(a.adopt(req("ns/c", current=("10.0.0.7",)))) == ["10.0.0.7"]


def test_adopt_refuses_an_ip_held_by_a_non_sharing_service() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    a.adopt(req("ns/a", current=("10.0.0.7",)))
    assert "in use by ns/a" in refused(a.adopt(req("ns/b", current=("10.0.0.7",))), "not-adoptable")


def test_assign_is_idempotent() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    first = a.assign(req("ns/a"))
    assert a.assign(req("ns/a")) == first
    assert a.in_use("p") == 1


def test_refusal_releases_what_the_key_held() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    a.assign(req("ns/a", requested=("10.0.0.1",)))
    a.assign(req("ns/b"))  # 10.0.0.0
    refused(a.assign(req("ns/b", requested=("10.0.0.1",))), "ip-in-use")
    assert a.assignment("ns/b") is None and a.in_use("p") == 1


def test_release_frees_the_ip() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/31")))
    a.assign(req("ns/a"))
    a.assign(req("ns/b"))
    released = a.release("ns/a")
    assert released is not None and ips(released) == ["10.0.0.0"]
    assert a.release("ns/a") is None
    assert ips(a.assign(req("ns/c"))) == ["10.0.0.0"]


# --- config changes ----------------------------------------------------------------------------


def test_unchanged_config_invalidates_nothing() -> None:
    cfg = config(pool("p", "10.0.0.0/24"))
    a = Allocator(cfg)
    a.assign(req("ns/a"))
    assert a.set_config(cfg) == []
    assert ips(a.assign(req("ns/a"))) == ["10.0.0.0"]


def test_removed_pool_invalidates_with_reason_and_reallocates() -> None:
    a = Allocator(config(pool("old", "10.0.0.0/24"), pool("new", "10.0.1.0/24")))
    a.assign(req("ns/a", pool="old"))
    a.assign(req("ns/b", pool="new"))
    broken = a.set_config(config(pool("new", "10.0.1.0/24")))
    assert [(b.key, [str(i) for i in b.ips], b.pool) for b in broken] == [("ns/a", ["10.0.0.0"], "old")]
    assert broken[0].reason == 'released after a config change: address pool "old" does not exist'
    assert a.assignment("ns/a") is None
    out = a.assign(req("ns/a", current=("10.0.0.0",)))
    assert ips(out) == ["10.0.1.1"]
    assert isinstance(out, Assignment) and out.reason == "10.0.0.0 released: IP 10.0.0.0 is not in any pool"


def test_shrunk_pool_invalidates_only_the_ips_outside() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    for i in range(3):
        a.assign(req(f"ns/s{i}"))
    broken = a.set_config(config(pool("p", "10.0.0.0/31")))
    assert [b.key for b in broken] == ["ns/s2"]
    assert a.in_use("p") == 2


def test_turning_on_avoid_buggy_ips_invalidates_dot0() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24")))
    a.assign(req("ns/a"))
    broken = a.set_config(config(pool("p", "10.0.0.0/24", avoid_buggy_ips=True)))
    assert [b.key for b in broken] == ["ns/a"] and "avoid-buggy-ips" in broken[0].reason


def test_renamed_pool_keeps_ips_under_the_new_name() -> None:
    a = Allocator(config(pool("old", "10.0.0.0/24")))
    a.assign(req("ns/a"))
    assert a.set_config(config(pool("new", "10.0.0.0/24"))) == []
    kept = a.assignment("ns/a")
    assert kept is not None and kept.pool == "new" and ips(kept) == ["10.0.0.0"]


def test_renamed_pool_breaks_an_annotated_service() -> None:
    a = Allocator(config(pool("old", "10.0.0.0/24")))
    a.assign(req("ns/a", pool="old"))
    broken = a.set_config(config(pool("new", "10.0.0.0/24")))
    assert [b.key for b in broken] == ["ns/a"] and 'pool "old" does not exist' in broken[0].reason


def test_removed_family_invalidates_dual_stack() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24", "fd00::/120")))
    a.assign(req("ns/a", policy="RequireDualStack"))
    broken = a.set_config(config(pool("p", "10.0.0.0/24")))
    assert [b.key for b in broken] == ["ns/a"] and "fd00:: is not in any pool" in broken[0].reason
    assert a.in_use("p") == 0


# --- metrics and scale -------------------------------------------------------------------------


def test_usage_counts_shared_ips_once() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24"), pool("big", "fd00::/64")))
    a.assign(req("ns/a", share="k", ports=(("TCP", 1),)))
    a.assign(req("ns/b", share="k", ports=(("TCP", 2),)))
    usage = a.usage()
    assert usage["p"].in_use == 1 and usage["p"].size == 256
    assert usage["big"].in_use == 0 and usage["big"].size == 2**64
    assert a.in_use("missing") == 0 and a.size("missing") == 0


def test_huge_pools_allocate_from_their_start() -> None:
    a = Allocator(config(pool("v4", "10.0.0.0/8", avoid_buggy_ips=True), pool("v6", "fd00::/64")))
    assert ips(a.assign(req("ns/a"))) == ["10.0.0.1"]
    assert ips(a.assign(req("ns/b", families=(6,)))) == ["fd00::"]
    assert ips(a.assign(req("ns/c", requested=("10.255.255.254",)))) == ["10.255.255.254"]
    assert a.pool_of(ip("fd00::ffff:ffff:ffff:ffff")) == "v6"


def test_narrowed_family_policy_keeps_the_fitting_ip() -> None:
    a = Allocator(config(pool("p", "10.0.0.0/24", "fd00::/120")))
    a.assign(req("ns/filler"))  # 10.0.0.0, so the kept IP is not merely the first free one
    out = a.assign(req("ns/a", families=(4,), current=("10.0.0.7", "fd00::7")))
    assert ips(out) == ["10.0.0.7"]
    assert (
        isinstance(out, Assignment) and out.reason is not None and out.reason.startswith("fd00::7 released")
    )
    assert a.in_use("p") == 2
