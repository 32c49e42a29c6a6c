"""Informer cache bookkeeping: relist differences and watch-event de-duplication."""

from __future__ import annotations

from ironlb.kube.cache import apply_change, event_change, key_of, relist_changes
from ironlb.kube.informer import retry_step


def obj(name: str, rv: str, ns: str = "default") -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": ns, "resourceVersion": rv}}


def test_relist_reports_only_differences() -> None:
    cache = {"default/a": obj("a", "1"), "default/b": obj("b", "2"), "default/gone": obj("gone", "3")}
    changes = relist_changes(cache, [obj("a", "1"), obj("b", "5"), obj("new", "6")])
    assert [(c.type, c.key) for c in changes] == [
        ("DELETED", "default/gone"),
        ("MODIFIED", "default/b"),
        ("ADDED", "default/new"),
    ]
    for c in changes:
        apply_change(cache, c)
    assert sorted(cache) == ["default/a", "default/b", "default/new"]
    assert relist_changes(cache, list(cache.values())) == []


def test_replayed_events_are_ignored() -> None:
    cache = {"default/a": obj("a", "7")}
    assert event_change(cache, "MODIFIED", obj("a", "7")) is None
    assert event_change(cache, "ADDED", obj("a", "7")) is None
    assert event_change(cache, "DELETED", obj("zz", "8")) is None
    assert event_change(cache, "BOOKMARK", obj("a", "9")) is None
    change = event_change(cache, "ADDED", obj("a", "8"))
    assert change is not None and change.type == "MODIFIED" and change.old == obj("a", "7")
    gone = event_change(cache, "DELETED", obj("a", "9"))
    assert gone is not None and gone.new is None and gone.obj == obj("a", "7")


def test_keys() -> None:
    assert key_of(obj("a", "1", ns="x")) == "x/a"
    assert key_of({"metadata": {"name": "node1"}}) == "node1"


def test_informer_retry_policy() -> None:
    assert retry_step(0, progressed=False, gone=True) == (1, False)  # first 410: relist at once
    assert retry_step(1, progressed=False, gone=True) == (2, True)  # 410 again: back off
    assert retry_step(5, progressed=True, gone=True) == (1, False)  # after progress: routine again
    assert retry_step(0, progressed=False, gone=False) == (1, True)
    assert retry_step(3, progressed=False, gone=False) == (4, True)  # growing backoff
    assert retry_step(3, progressed=True, gone=False) == (1, True)  # a long healthy watch resets it


def test_resource_versions_are_opaque_strings() -> None:
    """The API promises nothing about their form: no ordering, no integers (an etcd revision today,
    anything tomorrow). Only equality decides: a relist and a watch work with any spelling."""
    cache = {"default/a": obj("a", "b1f/7"), "default/b": obj("b", "0x10")}
    changes = relist_changes(cache, [obj("a", "b1f/7"), obj("b", "9"), obj("c", "")])
    assert [(c.type, c.key) for c in changes] == [("MODIFIED", "default/b"), ("ADDED", "default/c")]
    for c in changes:
        apply_change(cache, c)
    assert event_change(cache, "MODIFIED", obj("b", "9")) is None  # the same version: known
    older_looking = event_change(cache, "MODIFIED", obj("b", "1"))  # "1" < "9": still a change
    assert older_looking is not None and older_looking.type == "MODIFIED"
