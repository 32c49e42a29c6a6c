"""Another node's stale status objects removed on the real API server, with the speaker's rights only.

A publisher writes node n1's objects; a ``StatusCleanup`` of node n2 sweeps n1 (as after a death
verdict): n1's objects go. A publisher still running (n1 was only cut off) writes them again, and
the sweep, done once, leaves the new ones alone. A delete whose precondition no longer holds (the
object was written again since it was listed) keeps the object.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager

from kubernetes import client

from ironlb.kube.client import make_api_client
from ironlb.kube.statuscleanup import StatusCleanup
from ironlb.statusobjects.cleanup import NodeSweep, TakeoverSweep
from ironlb.statusobjects.service import desired_objects, existing_object
from tests.kube.test_status_objects_real import GROUP, VERSION, _objects, _service, ann, nodes, publisher
from tests.support.pytest_plugin import Kube
from tests.support.waiting import wait_for


@contextmanager
def cleanup(kube: Kube, node: str) -> Iterator[tuple[StatusCleanup, list[str]]]:
    results: list[str] = []
    with closing(make_api_client(str(kube.kubeconfig("speaker", cluster_role=None)))) as api:
        c = StatusCleanup(api, node, on_delete=lambda kind, result: results.append(result)).start()
        try:
            yield c, results
        finally:
            c.close()


def _uids(kube: Kube) -> dict[tuple[str, str], str]:
    return {k: o["metadata"]["uid"] for k, o in _objects(kube, kube.ns).items() if o.get("status")}


def test_a_swept_nodes_objects_go_and_come_back_when_it_writes_them_again(kube: Kube) -> None:
    n1, n2 = nodes(kube)
    web = _service(kube, "web")
    with publisher(kube, n1) as pub:
        pub.publish(
            desired_objects(
                n1,
                [ann(web, "layer2", "eth1", node=n1), ann(web, "bgp", "edge", node=n1)],
                {f"{web.namespace}/{web.name}": web},
            )
        )
        before = wait_for(lambda: len(u := _uids(kube)) == 2 and u, 15, "n1's two objects")
        with cleanup(kube, n2) as (sweeper, results):
            sweeper.want({NodeSweep(n1)}, live={n2})
            # n1's publisher (alive, only cut off) sees its objects go and writes them again.
            after = wait_for(
                lambda: len(u := _uids(kube)) == 2 and not set(u.values()) & set(before.values()) and u,
                15,
                "n1's objects deleted and written again",
            )
            wait_for(sweeper.idle, 5, "the sweep done")
            sweeper.want({NodeSweep(n1)}, live={n2})  # still wanted: done once, not again
            wait_for(sweeper.idle, 5, "the sweep done")
            assert results == ["ok", "ok"] and _uids(kube) == after


def test_a_delete_of_an_object_written_since_it_was_listed_keeps_it(kube: Kube) -> None:
    n1, n2 = nodes(kube)
    web = _service(kube, "web2")
    key = f"{web.namespace}/{web.name}"
    with publisher(kube, n1) as pub:
        pub.publish(desired_objects(n1, [ann(web, "layer2", "eth1", node=n1)], {key: web}))
        listed = wait_for(
            lambda: [o for o in _objects(kube, kube.ns).values() if o.get("status")], 15, "n1's object"
        )
        (raw,) = listed
        pub.publish(desired_objects(n1, [ann(web, "layer2", "eth1", "eth2", node=n1)], {key: web}))
        wait_for(
            lambda: len(next(iter(_objects(kube, kube.ns).values()))["status"]["interfaces"]) == 2,
            15,
            "rewritten",
        )
        obj = existing_object(raw)
        assert obj is not None
        with cleanup(kube, n2) as (sweeper, results):
            sweep = TakeoverSweep(web.namespace, web.name, frozenset({"192.0.2.1"}))
            sweeper.delete_as_listed(obj, raw["metadata"]["uid"], raw["metadata"]["resourceVersion"], sweep)
        assert results == ["kept"]
        custom = client.CustomObjectsApi(kube.api)
        assert custom.get_namespaced_custom_object(
            GROUP, VERSION, web.namespace, "servicel2statuses", obj.name
        )


def test_a_takeover_removes_the_former_owners_layer2_object_only_while_it_is_not_live(kube: Kube) -> None:
    n1, n2 = nodes(kube)
    web = _service(kube, "web3")
    key = f"{web.namespace}/{web.name}"
    with publisher(kube, n1) as pub:
        pub.publish(desired_objects(n1, [ann(web, "layer2", "eth1", node=n1)], {key: web}))
        wait_for(lambda: len(_uids(kube)) == 1, 15, "n1's object")
        pub.close()  # n1's speaker is gone (without withdrawing)
        sweep = TakeoverSweep(web.namespace, web.name, frozenset({"192.0.2.1"}))
        with cleanup(kube, n2) as (sweeper, results):
            sweeper.want({sweep}, live={n1, n2})  # n1 live: it removes its own
            wait_for(sweeper.idle, 5, "the sweep done")
            assert results == [] and len(_uids(kube)) == 1
            sweeper.want(set(), live={n2})
            sweeper.want({sweep}, live={n2})  # n1 no longer live: n2 answers for its IP now
            wait_for(lambda: not _uids(kube), 15, "n1's ServiceL2Status deleted")
            assert results == ["ok"]
