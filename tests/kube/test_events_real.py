"""``EventRecorder`` with several senders, on the real API server: order, aggregation, drain on close."""

from __future__ import annotations

import json
from contextlib import closing
from typing import Any

from ironlb.kube.client import make_api_client
from ironlb.kube.events import EventRecorder
from tests.support.pytest_plugin import Kube


def _service(ns: str, i: int) -> dict[str, Any]:
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"namespace": ns, "name": f"svc-{i:03d}", "uid": f"uid-{i:03d}"},
    }


def _events(kube: Kube) -> list[dict[str, Any]]:
    return list(json.loads(kube.core.list_namespaced_event(kube.ns, _preload_content=False).data)["items"])


def test_each_objects_events_keep_their_order_and_aggregate_across_senders(kube: Kube) -> None:
    objs = [_service(kube.ns, i) for i in range(40)]
    with closing(make_api_client(str(kube.kubeconfig("recorder")))) as api:
        rec = EventRecorder(api, senders=4)
        for obj in objs:
            rec.normal(obj, "First", "one")
            rec.warning(obj, "Second", "two")
            rec.normal(obj, "First", "one")  # the same again: counted on the first Event
        rec.close(timeout=60)
    assert rec.sent == 3 * len(objs) and rec.failed == 0
    by_object: dict[str, dict[str, Any]] = {}
    for e in _events(kube):
        by_object.setdefault(e["involvedObject"]["name"], {})[e["reason"]] = e
    assert sorted(by_object) == [o["metadata"]["name"] for o in objs]
    for name, events in by_object.items():
        assert events["First"]["count"] == 2 and events["Second"]["count"] == 1
        # Names end in the creation time (ns, hex): one sender per object posts them in order.
        first, second = (
            int(events[r]["metadata"]["name"].rsplit(".", 1)[1], 16) for r in ("First", "Second")
        )
        assert first < second, name


def test_close_sends_everything_queued_before_it_returns(kube: Kube) -> None:
    with closing(make_api_client(str(kube.kubeconfig("recorder")))) as api:
        rec = EventRecorder(api, senders=4)
        for i in range(150):
            rec.normal(_service(kube.ns, i), "IPAllocated", f'Assigned IP ["192.0.2.{i}"]')
        rec.close(timeout=60)  # returns once all are sent; nothing is dropped
    assert rec.sent == 150 and rec.pending == 0
    assert len(_events(kube)) == 150
