"""List and watch through the real client: resourceVersions, selectors, bookmarks, paging."""

from __future__ import annotations

import json
import threading
from typing import Any

from kubernetes import watch

from tests.kube.double.conftest import Double, lb_service


def _collect(double: Double, **kwargs: Any) -> list[dict[str, Any]]:
    w = watch.Watch()
    return list(
        w.stream(
            double.core.list_namespaced_service, "default", deserialize=False, timeout_seconds=1, **kwargs
        )
    )


def test_list_carries_global_resource_version_and_watch_resumes_from_it(double: Double) -> None:
    core = double.core
    core.create_namespaced_service("default", lb_service("a"))
    lst = core.list_namespaced_service("default")
    rv = int(lst.metadata.resource_version)
    assert [s.metadata.name for s in lst.items] == ["a"]
    core.create_namespaced_service("default", lb_service("b"))
    core.patch_namespaced_service("a", "default", {"metadata": {"labels": {"x": "1"}}})
    core.delete_namespaced_service("b", "default")
    double.coordination.create_namespaced_lease("default", {"metadata": {"name": "other-kind"}, "spec": {}})
    events = _collect(double, resource_version=str(rv))
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "b"),
        ("MODIFIED", "a"),
        ("DELETED", "b"),
    ]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > rv
    assert all(e["object"]["kind"] == "Service" for e in events)
    # A watch from the newest rv sees nothing old.
    assert _collect(double, resource_version=str(rvs[-1])) == []


def test_watch_without_resource_version_starts_with_synthetic_adds(double: Double) -> None:
    double.core.create_namespaced_service("default", lb_service("a"))
    events = _collect(double)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "a")]


def test_list_items_are_camel_case_without_type_meta(double: Double) -> None:
    double.core.create_namespaced_service("default", lb_service("a"))
    raw = json.loads(double.core.list_namespaced_service("default", _preload_content=False).data)
    assert raw["kind"] == "ServiceList" and "resourceVersion" in raw["metadata"]
    item = raw["items"][0]
    assert "kind" not in item and item["spec"]["clusterIP"].startswith("10.")


def test_label_and_field_selectors_on_list_and_watch(double: Double) -> None:
    core = double.core
    for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        body = lb_service(name)
        body["metadata"] = {"name": name, "labels": {"tier": tier}}
        core.create_namespaced_service("default", body)
    names = lambda lst: sorted(s.metadata.name for s in lst.items)  # noqa: E731
    assert names(core.list_namespaced_service("default", label_selector="tier=web")) == ["a", "c"]
    assert names(core.list_namespaced_service("default", label_selector="tier in (db)")) == ["b"]
    assert names(core.list_namespaced_service("default", label_selector="tier!=web")) == ["b"]
    assert names(core.list_namespaced_service("default", label_selector="!tier")) == []
    assert names(core.list_namespaced_service("default", field_selector="metadata.name=c")) == ["c"]
    rv = core.list_namespaced_service("default").metadata.resource_version
    # Relabel a out of the selection and b into it: the watch sees DELETED and ADDED.
    core.patch_namespaced_service("a", "default", {"metadata": {"labels": {"tier": "db"}}})
    core.patch_namespaced_service("b", "default", {"metadata": {"labels": {"tier": "web"}}})
    events = _collect(double, resource_version=rv, label_selector="tier=web")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("DELETED", "a"),
        ("ADDED", "b"),
    ]


def test_all_namespaces_list_and_namespace_isolation(double: Double) -> None:
    double.core.create_namespaced_service("one", lb_service("a"))
    double.core.create_namespaced_service("two", lb_service("a"))
    assert len(double.core.list_service_for_all_namespaces().items) == 2
    assert [s.metadata.namespace for s in double.core.list_namespaced_service("two").items] == ["two"]


def test_bookmarks_carry_progress_when_asked(double: Double) -> None:
    double.core.create_namespaced_service("default", lb_service("a"))
    rv = double.core.list_namespaced_service("default").metadata.resource_version
    double.coordination.create_namespaced_lease("default", {"metadata": {"name": "x"}, "spec": {}})
    events = _collect(double, resource_version=rv, allow_watch_bookmarks=True)
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks and all(e["type"] == "BOOKMARK" for e in events)
    # The bookmark moves past the lease write, which a services watch never sees.
    assert int(bookmarks[-1]["object"]["metadata"]["resourceVersion"]) > int(rv)
    assert _collect(double, resource_version=rv) == []  # no bookmarks unless asked


def test_watch_streams_live_changes(double: Double) -> None:
    rv = double.core.list_namespaced_service("default").metadata.resource_version
    seen: list[str] = []
    w = watch.Watch()

    def consume() -> None:
        for ev in w.stream(
            double.core.list_namespaced_service, "default", resource_version=rv, timeout_seconds=20
        ):
            seen.append(ev["object"].metadata.name)
            w.stop()

    t = threading.Thread(target=consume)
    t.start()
    double.core.create_namespaced_service("default", lb_service("live"))
    t.join(30)
    assert seen == ["live"]


def test_paging_with_limit_and_continue(double: Double) -> None:
    for i in range(5):
        double.core.create_namespaced_service("default", lb_service(f"s{i}"))
    first = double.core.list_namespaced_service("default", limit=2)
    assert len(first.items) == 2 and first.metadata._continue
    names = [s.metadata.name for s in first.items]
    token = first.metadata._continue
    while token:
        page = double.core.list_namespaced_service("default", limit=2, _continue=token)
        names += [s.metadata.name for s in page.items]
        token = page.metadata._continue
        assert page.metadata.resource_version == first.metadata.resource_version
    assert names == [f"s{i}" for i in range(5)]


def test_paging_across_namespaces_in_key_order(double: Double) -> None:
    for ns, name in (("a", "z"), ("a-x", "b"), ("a", "b"), ("b", "a")):
        double.core.create_namespaced_service(ns, lb_service(name))
    seen: list[str] = []
    token = None
    while True:
        page = double.core.list_service_for_all_namespaces(limit=1, _continue=token)
        seen += [f"{s.metadata.namespace}/{s.metadata.name}" for s in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 4
