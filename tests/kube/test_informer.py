"""Informers against the real API server: list+watch, resume after a cut connection, a relist
after 410 Gone (the API server restarted under them), bookmarks, server-side watch timeouts."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from ironlb.cluster.seam import ClusterSnapshot
from ironlb.kube.cache import Change
from ironlb.kube.client import make_api_client
from ironlb.kube.informer import Informer
from ironlb.kube.source import KubeClusterSource, ObjectRef
from ironlb.kube.workqueue import WorkQueue
from tests.kube.conftest import lb
from tests.support.objects import endpoint_slice
from tests.support.pytest_plugin import Kube
from tests.support.waiting import wait_for

MERGE = "application/merge-patch+json"


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changes: list[Change] = []

    def __call__(self, change: Change) -> None:
        with self.lock:
            self.changes.append(change)

    def seen(self) -> list[tuple[str, str, str]]:
        with self.lock:
            return [(c.type, c.key, str(c.obj["metadata"]["resourceVersion"])) for c in self.changes]


class Gate:
    """An informer backoff that waits until the test opens the gate: the informer is held back
    (from reconnecting) exactly as long as the test needs."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.open.set()
        self.waiting = threading.Event()

    def __call__(self, failures: int) -> float:
        if not self.open.is_set():
            self.waiting.set()
            self.open.wait(60)
        return 0.05


@pytest.fixture
def api(kube: Kube) -> Iterator[Any]:
    """A client of its own (ServiceAccount ``informer``), so the audit log tells its requests apart."""
    c = make_api_client(str(kube.kubeconfig("informer")))
    try:
        yield c
    finally:
        c.close()


def services_informer(kube: Kube, api: Any, rec: Recorder, **kw: Any) -> Informer:
    kw.setdefault("backoff", lambda n: 0.05)
    return Informer(
        "services",
        client.CoreV1Api(api).list_namespaced_service,
        kind="Service",
        api_version="v1",
        on_change=rec,
        list_kwargs={"namespace": kube.ns},
        **kw,
    )


def watches(kube: Kube) -> int:
    return sum(1 for r in kube.audit(kube.user("informer")) if r.verb == "watch" and r.code == 200)


def test_list_then_watch_and_raw_camel_case_objects(kube: Kube, api: Any) -> None:
    kube.core.create_namespaced_service(kube.ns, lb("a"))
    kube.core.create_namespaced_service(kube.ns, lb("b"))
    rec = Recorder()
    inf = services_informer(kube, api, rec, page_size=1).start()
    try:
        assert inf.wait_synced(10)
        kube.core.create_namespaced_service(kube.ns, lb("c"))
        kube.core.delete_namespaced_service("a", kube.ns)
        wait_for(lambda: len(rec.seen()) == 4, 15, "four changes")
        assert [(t, k) for t, k, _ in rec.seen()] == [
            ("ADDED", f"{kube.ns}/a"),
            ("ADDED", f"{kube.ns}/b"),
            ("ADDED", f"{kube.ns}/c"),
            ("DELETED", f"{kube.ns}/a"),
        ]
        item = inf.get(f"{kube.ns}/b")
        assert item is not None and item["kind"] == "Service" and "clusterIP" in item["spec"]
        lists = [r for r in kube.audit(kube.user("informer")) if r.verb == "list"]
        assert len(lists) == 2 and "limit=1" in lists[0].uri  # one list, two pages
    finally:
        inf.stop()


def test_a_cut_connection_resumes_without_loss_or_duplicates(kube: Kube, api: Any) -> None:
    rec = Recorder()
    inf = services_informer(kube, api, rec).start()
    try:
        assert inf.wait_synced(10)
        for round_ in range(3):
            wait_for(lambda r=round_: watches(kube) == r + 1, 15, "the watch open")  # type: ignore[misc]
            kube.core.create_namespaced_service(kube.ns, lb(f"s{round_}"))
            inf.drop_connection()  # the stream breaks, as on a network failure
            kube.core.patch_namespaced_service(f"s{round_}", kube.ns, {"metadata": {"labels": {"r": "1"}}})
        wait_for(lambda: len(rec.seen()) >= 6, 15, "six changes")
        seen = rec.seen()
        assert len(seen) == len(set(seen)) == 6
        assert Counter(t for t, _, _ in seen) == {"ADDED": 3, "MODIFIED": 3}
        assert inf.lists == 1  # resumed from the last resourceVersion, never listed again
    finally:
        inf.stop()


def test_after_a_restart_410_relists_and_reports_exactly_the_missed_changes(kube: Kube, api: Any) -> None:
    for name in ("keep", "change", "remove"):
        kube.core.create_namespaced_service(kube.ns, lb(name))
    rec, gate = Recorder(), Gate()
    inf = services_informer(kube, api, rec, backoff=gate).start()
    try:
        assert inf.wait_synced(10)
        wait_for(lambda: len(rec.seen()) == 3 and watches(kube) == 1, 15, "listed and watching")
        gate.open.clear()  # from now on the informer, once cut off, waits for the test
        kube.cp.stop_apiserver()
        assert gate.waiting.wait(30), "the informer noticed the API server is gone"
        kube.cp.start_apiserver()  # a new watch cache: the informer's resourceVersion is too old now
        kube.core.patch_namespaced_service("change", kube.ns, {"metadata": {"labels": {"x": "y"}}})
        kube.core.delete_namespaced_service("remove", kube.ns)
        kube.core.create_namespaced_service(kube.ns, lb("added"))
        gate.open.set()
        wait_for(lambda: len(rec.seen()) == 6, 30, "the missed changes")
        time.sleep(0.3)  # nothing more comes
        assert sorted((t, k.split("/")[1]) for t, k, _ in rec.seen()[3:]) == [
            ("ADDED", "added"),
            ("DELETED", "remove"),
            ("MODIFIED", "change"),
        ]
        assert inf.lists == 2  # the watch from the old resourceVersion got 410 Gone: listed again
        assert sorted(o["metadata"]["name"] for o in inf.items()) == ["added", "change", "keep"]
    finally:
        gate.open.set()
        inf.stop()


def test_bookmarks_advance_the_resource_version(kube: Kube, api: Any) -> None:
    other = kube.namespace()
    rec = Recorder()
    inf = services_informer(kube, api, rec, watch_timeout=3).start()
    try:
        assert inf.wait_synced(10)
        start = inf.resource_version
        # Changes elsewhere move the API server's resourceVersion; the watch on this namespace
        # sees none of them, only the bookmark the server sends before the watch times out.
        kube.core.create_namespaced_service(other, lb("elsewhere"))
        wait_for(lambda: inf.resource_version != start, 15, "a bookmark")
        assert rec.seen() == [] and inf.lists == 1
    finally:
        inf.stop()


def test_server_side_watch_timeout_resumes_without_relist(kube: Kube, api: Any) -> None:
    rec = Recorder()
    inf = services_informer(kube, api, rec, watch_timeout=1).start()
    try:
        assert inf.wait_synced(10)
        wait_for(lambda: inf.watches >= 3, 15, "watches ended by the server and resumed")
        kube.core.create_namespaced_service(kube.ns, lb("later"))
        wait_for(lambda: len(rec.seen()) == 1, 15, "the change")
        assert inf.lists == 1 and inf.errors == 0
    finally:
        inf.stop()


def test_cluster_source_snapshot_and_queue(kube: Kube, api: Any) -> None:
    ns, node = kube.ns, f"{kube.ns}-n1"
    kube.core.create_namespaced_service(ns, lb("web"))
    kube.core.create_namespaced_config_map(ns, {"metadata": {"name": "ironlb"}, "data": {"config": "x"}})
    kube.core.create_namespaced_config_map(ns, {"metadata": {"name": "other"}, "data": {}})
    kube.create_node(
        {"metadata": {"name": node}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    )
    kube.discovery.create_namespaced_endpoint_slice(ns, endpoint_slice("web", [node], namespace=ns))
    queue: WorkQueue[ObjectRef] = WorkQueue()
    src = KubeClusterSource(api, config_namespace=ns, config_name="ironlb", on_change=queue.add)
    src.start()
    try:
        assert src.wait_synced(10)
        snap = src.snapshot()
        assert isinstance(snap, ClusterSnapshot)
        mine = lambda objs: [o for o in objs if o["metadata"].get("namespace") == ns]  # noqa: E731
        assert [s["metadata"]["name"] for s in mine(snap.services)] == ["web"]
        assert snap.config_map is not None and snap.config_map["data"] == {"config": "x"}
        (n1,) = [n for n in snap.nodes if n["metadata"]["name"] == node]
        assert n1["status"]["conditions"][0]["type"] == "Ready"
        assert mine(snap.endpoint_slices)[0]["endpoints"][0]["nodeName"] == node
        refs = set()
        while (ref := queue.get(0)) is not None:
            refs.add(ref)
            queue.done(ref)
        assert {r for r in refs if r.namespace == ns or r.name == node} == {
            ObjectRef("Service", ns, "web"),
            ObjectRef("ConfigMap", ns, "ironlb"),
            ObjectRef("Node", "", node),
            ObjectRef("EndpointSlice", ns, "web-eps"),
        }
        kube.core.patch_namespaced_config_map("ironlb", ns, {"data": {"config": "y"}})

        def config_y() -> bool:
            cm = src.snapshot().config_map
            return cm is not None and cm["data"]["config"] == "y"

        wait_for(config_y, 15, "the new config")
        assert snap.revision != src.snapshot().revision
    finally:
        src.stop()


def test_cache_mirrors_the_server_through_cut_connections_and_a_restart(kube: Kube, api: Any) -> None:
    """Random writes interleaved with cut watches and one API server restart (410 Gone): the
    informer ends with exactly the server's objects, and reports no (key, resourceVersion) twice."""
    rnd = random.Random(1)
    rec = Recorder()
    inf = services_informer(kube, api, rec).start()
    core, ns = kube.core, kube.ns
    try:
        assert inf.wait_synced(10)
        live: set[str] = set()
        for step in range(160):
            name = f"s{rnd.randrange(12)}"
            if name not in live:
                core.create_namespaced_service(ns, lb(name))
                live.add(name)
            elif rnd.random() < 0.3:
                core.delete_namespaced_service(name, ns)
                live.discard(name)
            else:
                core.patch_namespaced_service(name, ns, {"metadata": {"labels": {"step": str(step)}}})
            if rnd.random() < 0.06:
                inf.drop_connection()
            if step == 80:
                kube.cp.restart_apiserver()

        def server_state() -> dict[str, str]:
            items = core.list_namespaced_service(ns).items
            return {f"{ns}/{o.metadata.name}": o.metadata.resource_version for o in items}

        def mirrored() -> bool:
            cached = {f"{ns}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in inf.items()}
            return cached == server_state()

        def replayed() -> bool:
            # Replaying the reported changes alone rebuilds the server's state: nothing was lost.
            replay: dict[str, str] = {}
            for etype, key, rv in rec.seen():
                if etype == "DELETED":
                    del replay[key]
                else:
                    replay[key] = rv
            return replay == server_state()

        wait_for(lambda: mirrored() and replayed(), 30, "the cache to mirror the server")
        seen = rec.seen()
        assert len(seen) == len(set(seen))  # and nothing was reported twice
        assert inf.lists >= 2  # the restart expired the watch: it listed again
    finally:
        inf.stop()
