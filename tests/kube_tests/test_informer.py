"""Informers against the API double: list+watch, resume after a drop, relist after 410."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client

from ironlb.cluster.seam import ClusterSnapshot
from ironlb.kube.cache import Change
from ironlb.kube.client import make_api_client
from ironlb.kube.informer import Informer
from ironlb.kube.source import KubeClusterSource, ObjectRef
from ironlb.kube.workqueue import WorkQueue
from tests.kubeapi import KubeApiServer, by_plural

from .conftest import Env, lb


def wait_for(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


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


def services_informer(env: Env, rec: Recorder, **kw: object) -> Informer:
    core = client.CoreV1Api(env.api)
    return Informer(
        "services",
        core.list_service_for_all_namespaces,
        kind="Service",
        api_version="v1",
        on_change=rec,
        backoff=lambda n: 0.05,
        **kw,
    )  # type: ignore[arg-type]


def test_list_then_watch_and_raw_camel_case_objects(env: Env) -> None:
    env.core.create_namespaced_service("default", lb("a"))
    rec = Recorder()
    inf = services_informer(env, rec, page_size=1).start()
    try:
        assert inf.wait_synced(10)
        env.core.create_namespaced_service("default", lb("b"))
        env.core.delete_namespaced_service("a", "default")
        wait_for(lambda: len(rec.seen()) == 3)
        assert [(t, k) for t, k, _ in rec.seen()] == [
            ("ADDED", "default/a"),
            ("ADDED", "default/b"),
            ("DELETED", "default/a"),
        ]
        (item,) = inf.items()
        assert item["kind"] == "Service" and "clusterIP" in item["spec"]
    finally:
        inf.stop()


def test_dropped_watch_resumes_without_loss_or_duplicates(env: Env) -> None:
    rec = Recorder()
    inf = services_informer(env, rec).start()
    try:
        assert inf.wait_synced(10)
        for round_ in range(3):
            wait_for(lambda: env.server.open_watches() == 1)
            env.core.create_namespaced_service("default", lb(f"s{round_}"))
            env.server.drop_watches()
            env.core.patch_namespaced_service(f"s{round_}", "default", {"metadata": {"labels": {"r": "1"}}})
        wait_for(lambda: len(rec.seen()) >= 6)
        time.sleep(0.3)
        seen = rec.seen()
        assert len(seen) == len(set(seen)) == 6
        assert Counter(t for t, _, _ in seen) == {"ADDED": 3, "MODIFIED": 3}
        assert inf.lists == 1  # resumed from the last resourceVersion, never listed again
        assert inf.watches >= 2
    finally:
        inf.stop()


def test_410_relist_reports_exactly_the_missed_changes(env: Env) -> None:
    env.core.create_namespaced_service("default", lb("keep"))
    env.core.create_namespaced_service("default", lb("change"))
    env.core.create_namespaced_service("default", lb("remove"))
    rec = Recorder()
    inf = services_informer(env, rec).start()
    try:
        assert inf.wait_synced(10)
        wait_for(lambda: len(rec.seen()) == 3)
        # Changes the informer misses while it is cut off, then history is compacted.
        env.server.begin_outage("refuse")
        env.server.store.patch(
            env.server_rt,
            "default",
            "change",
            "application/merge-patch+json",
            {"metadata": {"labels": {"x": "y"}}},
        )
        env.server.store.delete(env.server_rt, "default", "remove")
        env.server.store.create(env.server_rt, "default", lb("added"))
        env.server.compact()
        env.server.end_outage()
        wait_for(lambda: len(rec.seen()) == 6)
        time.sleep(0.3)
        assert sorted((t, k) for t, k, _ in rec.seen()[3:]) == [
            ("ADDED", "default/added"),
            ("DELETED", "default/remove"),
            ("MODIFIED", "default/change"),
        ]
        assert inf.lists == 2
        assert sorted(o["metadata"]["name"] for o in inf.items()) == ["added", "change", "keep"]
    finally:
        inf.stop()


def test_expired_watch_relists(env: Env) -> None:
    rec = Recorder()
    inf = services_informer(env, rec).start()
    try:
        assert inf.wait_synced(10)
        wait_for(lambda: env.server.open_watches() == 1)
        env.server.expire_watches()
        wait_for(lambda: inf.lists == 2)
        env.core.create_namespaced_service("default", lb("after"))
        wait_for(lambda: len(rec.seen()) == 1)
    finally:
        inf.stop()


def test_bookmarks_advance_the_resource_version(env: Env) -> None:
    inf = services_informer(env, Recorder()).start()
    try:
        assert inf.wait_synced(10)
        start = int(inf.resource_version)
        client.CoordinationV1Api(env.api).create_namespaced_lease(
            "default", {"metadata": {"name": "x"}, "spec": {}}
        )
        wait_for(lambda: int(inf.resource_version) > start)
    finally:
        inf.stop()


def test_cluster_source_snapshot_and_queue(env: Env) -> None:
    core = env.core
    core.create_namespaced_service("default", lb("web"))
    core.create_namespaced_config_map(
        "ironlb-system", {"metadata": {"name": "ironlb"}, "data": {"config": "x"}}
    )
    core.create_namespaced_config_map("ironlb-system", {"metadata": {"name": "other"}, "data": {}})
    core.create_node(
        {"metadata": {"name": "n1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    )
    client.DiscoveryV1Api(env.api).create_namespaced_endpoint_slice(
        "default",
        {
            "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.1.0.5"], "nodeName": "n1"}],
        },
    )
    queue: WorkQueue[ObjectRef] = WorkQueue()
    src = KubeClusterSource(
        env.api, config_namespace="ironlb-system", config_name="ironlb", on_change=queue.add
    )
    src.start()
    try:
        assert src.wait_synced(10)
        snap = src.snapshot()
        assert isinstance(snap, ClusterSnapshot)
        assert [s["metadata"]["name"] for s in snap.services] == ["web"]
        assert snap.config_map is not None and snap.config_map["data"] == {"config": "x"}
        assert snap.nodes[0]["status"]["conditions"][0]["type"] == "Ready"
        assert snap.endpoint_slices[0]["endpoints"][0]["nodeName"] == "n1"
        refs = set()
        while (ref := queue.get(0)) is not None:
            refs.add(ref)
            queue.done(ref)
        assert refs == {
            ObjectRef("Service", "default", "web"),
            ObjectRef("ConfigMap", "ironlb-system", "ironlb"),
            ObjectRef("Node", "", "n1"),
            ObjectRef("EndpointSlice", "default", "web-abc"),
        }
        core.patch_namespaced_config_map("ironlb", "ironlb-system", {"data": {"config": "y"}})
        wait_for(
            lambda: (
                src.snapshot().config_map == src.config_map.get("ironlb-system/ironlb")
                and src.snapshot().config_map["data"]["config"] == "y"
            )
        )  # type: ignore[index]
        assert snap.revision != src.snapshot().revision
    finally:
        src.stop()


def test_http_410_on_watch_start_relists(tmp_path: Path) -> None:
    with KubeApiServer(watch_gone="http") as server:
        api = make_api_client(str(server.write_kubeconfig(tmp_path / "kc")))
        core = client.CoreV1Api(api)
        rec = Recorder()
        inf = Informer(
            "services",
            core.list_service_for_all_namespaces,
            kind="Service",
            api_version="v1",
            on_change=rec,
            backoff=lambda n: 0.05,
        )
        inf.start()
        try:
            assert inf.wait_synced(10)
            wait_for(lambda: server.open_watches() == 1)
            server.begin_outage("refuse")
            server.store.create(by_plural("services"), "default", lb("missed"))
            server.compact()
            server.end_outage()
            wait_for(lambda: inf.lists == 2 and len(rec.seen()) == 1)
            assert rec.seen()[0][:2] == ("ADDED", "default/missed")
        finally:
            inf.stop()
            api.close()


def test_server_side_watch_timeout_resumes_without_relist(env: Env) -> None:
    rec = Recorder()
    inf = services_informer(env, rec, watch_timeout=1).start()
    try:
        assert inf.wait_synced(10)
        wait_for(lambda: inf.watches >= 2)
        env.core.create_namespaced_service("default", lb("later"))
        wait_for(lambda: len(rec.seen()) == 1)
        assert inf.lists == 1 and inf.errors == 0
    finally:
        inf.stop()


def test_note_write_makes_own_writes_visible_and_silences_their_echo(env: Env) -> None:
    env.core.create_namespaced_service("default", lb("a"))
    rec = Recorder()
    inf = services_informer(env, rec).start()
    try:
        assert inf.wait_synced(10)
        wait_for(lambda: len(rec.seen()) == 1 and env.server.open_watches() == 1)
        cached = inf.get("default/a")
        assert cached is not None
        # Hold the watch back so the write's echo surely arrives after note_write.
        env.server.begin_outage("refuse")
        written = env.server.store.patch(
            env.server_rt,
            "default",
            "a",
            "application/merge-patch+json",
            {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.9"}]}}},
            "status",
        )
        assert inf.note_write(written)
        assert inf.get("default/a") == written
        assert not inf.note_write(dict(cached))  # older than what is cached: ignored
        env.server.end_outage()
        env.core.patch_namespaced_service("a", "default", {"metadata": {"labels": {"later": "1"}}})
        wait_for(lambda: len(rec.seen()) == 2)
        time.sleep(0.2)
        # The label change is reported; the echo of our own write (same resourceVersion) is not.
        assert len(rec.seen()) == 2 and rec.seen()[1][0] == "MODIFIED" and rec.changes[1].old == written
        assert inf.lists == 1
    finally:
        inf.stop()


@pytest.mark.parametrize("seed", [1, 2])
def test_cache_mirrors_the_server_through_random_faults(env: Env, seed: int) -> None:
    """Random writes interleaved with dropped, expired and compacted watches: the informer
    ends with exactly the server's objects, and reports no (key, resourceVersion) twice."""
    rnd = random.Random(seed)
    rec = Recorder()
    inf = services_informer(env, rec).start()
    store, rt = env.server.store, env.server_rt
    try:
        assert inf.wait_synced(10)
        live: set[str] = set()
        for step in range(150):
            name = f"s{rnd.randrange(12)}"
            if name not in live:
                store.create(rt, "default", lb(name))
                live.add(name)
            elif rnd.random() < 0.3:
                store.delete(rt, "default", name)
                live.discard(name)
            else:
                store.patch(
                    rt,
                    "default",
                    name,
                    "application/merge-patch+json",
                    {"metadata": {"labels": {"step": str(step)}}},
                )
            fault = rnd.random()
            if fault < 0.05:
                env.server.drop_watches()
            elif fault < 0.08:
                env.server.expire_watches()
            elif fault < 0.10:
                env.server.compact()

        def mirrored() -> bool:
            server_rvs = {
                o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in store.list_objects(rt)
            }
            cached = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in inf.items()}
            return cached == server_rvs

        def replayed() -> bool:
            # Replaying the reported changes alone rebuilds the server's state: nothing was lost.
            replay: dict[str, str] = {}
            for etype, key, rv in rec.seen():
                if etype == "DELETED":
                    del replay[key]
                else:
                    replay[key] = rv
            server = {
                f"default/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
                for o in store.list_objects(rt)
            }
            return replay == server

        wait_for(lambda: mirrored() and replayed())
        seen = rec.seen()
        assert len(seen) == len(set(seen))  # and nothing was reported twice
    finally:
        inf.stop()
