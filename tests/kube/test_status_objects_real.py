"""Status objects on the real API server: a speaker's ServiceL2Status / ServiceBGPStatus and a program's
ConfigurationState, written with exactly the rights the install grants, and only when they change.

The CRDs are config/crd's (installed on the session's server); what the objects say is checked by
reading them back as ``kubectl get -o json`` would, and what was written from the audit log.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

from kubernetes import client

from ironlb.announce.inputs import Announcement
from ironlb.kube.client import make_api_client
from ironlb.kube.configurationstate import ConfigurationStateWriter
from ironlb.kube.statusobjects import StatusObjectPublisher
from ironlb.statusobjects.configuration import ConfigurationTracker, InputVersion, Problem
from ironlb.statusobjects.service import ServiceOwner, StatusObject, desired_objects
from tests.support.pytest_plugin import Kube
from tests.support.waiting import wait_for

V4, V6 = ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("2001:db8::1")
GROUP, VERSION = "ironlb.io", "v1beta1"
PLURALS = ("servicel2statuses", "servicebgpstatuses")
SPEAKER_RULES = [  # what config/default grants the speaker for its status objects
    {"apiGroups": [GROUP], "resources": list(PLURALS), "verbs": ["list", "watch", "create", "delete"]},
    {"apiGroups": [GROUP], "resources": [f"{p}/status" for p in PLURALS], "verbs": ["patch"]},
]


def _service(kube: Kube, name: str, namespace: str | None = None) -> ServiceOwner:
    ns = namespace or kube.ns
    spec = {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False, "ports": [{"port": 80}]}
    made = kube.core.create_namespaced_service(ns, {"metadata": {"name": name}, "spec": spec})
    return ServiceOwner(ns, name, made.metadata.uid)


def _objects(kube: Kube, namespace: str) -> dict[tuple[str, str], dict[str, Any]]:
    custom = client.CustomObjectsApi(kube.api)
    out = {}
    for plural in PLURALS:
        for obj in custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"]:
            out[(obj["kind"], obj["metadata"]["name"])] = obj
    return out


def ann(owner: ServiceOwner, protocol: str, *via: str, node: str = "node1", ip: object = V4) -> Announcement:
    return Announcement(f"{owner.namespace}/{owner.name}", protocol, node, ip, via=via)  # type: ignore[arg-type]


def nodes(kube: Kube) -> tuple[str, str]:
    """Node names of this test only: a publisher deletes every object of its node it was not told of,
    in every namespace, and the tests share one API server."""
    return f"{kube.ns}-n1", f"{kube.ns}-n2"


@contextmanager
def publisher(kube: Kube, node: str, account: str = "speaker") -> Iterator[StatusObjectPublisher]:
    if account not in getattr(kube, "_granted", set()):
        kube.grant(account, SPEAKER_RULES)
        kube._granted = {*getattr(kube, "_granted", set()), account}  # type: ignore[attr-defined]
    with closing(make_api_client(str(kube.kubeconfig(account, cluster_role=None)))) as api:
        pub = StatusObjectPublisher(api, node).start()
        try:
            yield pub
        finally:
            pub.close()


def _settled(pub: StatusObjectPublisher) -> bool:
    return pub.settled()


def _writes(kube: Kube, account: str = "speaker") -> list[tuple[str, str, str | None]]:
    return [(r.verb, r.rbac_resource, r.name) for r in kube.audit(kube.user(account)) if r.write]


def test_objects_appear_say_where_change_only_when_what_they_say_changes_and_go(kube: Kube) -> None:
    n1, _ = nodes(kube)
    web = _service(kube, "web")
    owners = {f"{kube.ns}/web": web}
    with publisher(kube, n1) as pub:
        desired = desired_objects(
            n1,
            [ann(web, "layer2", "eth0"), ann(web, "layer2", "eth0", ip=V6), ann(web, "bgp", "spine")],
            owners,
        )
        pub.publish(desired)
        wait_for(lambda: len(_objects(kube, kube.ns)) == 2, what="two objects")
        wait_for(lambda: pub.settled(), what="settled")  # created, then their status written
        objs = _objects(kube, kube.ns)
        l2 = objs[("ServiceL2Status", f"web.{n1}")]
        assert l2["status"] == {
            "node": n1,
            "serviceName": "web",
            "serviceNamespace": kube.ns,
            "ips": ["192.0.2.1", "2001:db8::1"],
            "interfaces": [{"name": "eth0"}],
            "interfaceCount": 1,
        }
        assert l2["metadata"]["labels"] == {
            "ironlb.io/node": n1,
            "ironlb.io/service-name": "web",
            "ironlb.io/service-namespace": kube.ns,
        }
        [owner] = l2["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("Service", "web", web.uid)
        bgp = objs[("ServiceBGPStatus", f"web.{n1}")]
        assert bgp["status"]["peers"] == ["spine"] and bgp["status"]["ips"] == ["192.0.2.1"]
        first = _writes(kube)
        assert sorted(v for v, _, _ in first) == ["create", "create", "patch", "patch"]
        assert not [r for r in kube.audit(kube.user("speaker")) if r.code in (401, 403)]

        # The same again, and the same objects rebuilt: nothing is written.
        pub.publish(
            desired_objects(
                n1,
                [ann(web, "bgp", "spine"), ann(web, "layer2", "eth0"), ann(web, "layer2", "eth0", ip=V6)],
                owners,
            )
        )
        wait_for(lambda: pub.settled(), what="settled")
        # A change of where: one status patch of that object.
        pub.publish(
            desired_objects(
                n1,
                [
                    ann(web, "layer2", "eth0", "eth1"),
                    ann(web, "layer2", "eth0", ip=V6),
                    ann(web, "bgp", "spine"),
                ],
                owners,
            )
        )
        wait_for(
            lambda: _l2_status(kube, n1).get("interfaces") == [{"name": "eth0"}, {"name": "eth1"}],
            what="eth1 added",
        )
        wait_for(lambda: pub.settled(), what="settled")
        assert _writes(kube)[len(first) :] == [("patch", "servicel2statuses/status", f"web.{n1}")]
        # Nothing announced any more: both go.
        pub.publish({})
        wait_for(lambda: not _objects(kube, kube.ns), what="objects deleted")
        assert sorted(_writes(kube)[len(first) + 1 :]) == [
            ("delete", "servicebgpstatuses", f"web.{n1}"),
            ("delete", "servicel2statuses", f"web.{n1}"),
        ]


def test_a_restarted_publisher_lists_its_own_writes_nothing_unchanged_and_removes_what_no_longer_holds(
    kube: Kube,
) -> None:
    n1, n2 = nodes(kube)
    web, db = _service(kube, "web"), _service(kube, "db")
    owners = {f"{kube.ns}/web": web, f"{kube.ns}/db": db}
    before = desired_objects(n1, [ann(web, "layer2", "eth0"), ann(db, "bgp", "spine")], owners)
    with publisher(kube, n1) as pub:
        pub.publish(before)
        wait_for(lambda: len(_objects(kube, kube.ns)) == 2 and pub.settled(), what="written")
    with publisher(kube, n2) as other:  # another node's objects are not this node's business
        other.publish(desired_objects(n2, [ann(db, "layer2", "eth9", node=n2)], owners))
        wait_for(lambda: len(_objects(kube, kube.ns)) == 3 and other.settled(), what="node2 written")
    written = len(_writes(kube))
    after = {k: v for k, v in before.items() if v.service.name == "web"}
    with publisher(kube, n1) as pub:
        pub.publish(after)
        wait_for(
            lambda: pub.settled() and len(_objects(kube, kube.ns)) == 2,
            what="db's object of the first node gone",
        )
    assert _writes(kube)[written:] == [("delete", "servicebgpstatuses", f"db.{n1}")]
    assert sorted(_objects(kube, kube.ns)) == [
        ("ServiceL2Status", f"db.{n2}"),
        ("ServiceL2Status", f"web.{n1}"),
    ]


def test_a_restarted_publisher_deletes_nothing_before_it_is_told_what_the_node_announces(
    kube: Kube,
) -> None:
    """A speaker starts its publisher before its first reconcile: until then, what the node
    announces is unknown, not nothing, and the objects it wrote before stay."""
    n1, _ = nodes(kube)
    web = _service(kube, "web")
    desired = desired_objects(n1, [ann(web, "layer2", "eth0")], {f"{kube.ns}/web": web})
    with publisher(kube, n1) as pub:
        pub.publish(desired)
        wait_for(lambda: len(_objects(kube, kube.ns)) == 1 and pub.settled(), what="written")
    written = len(_writes(kube))
    with publisher(kube, n1) as pub:
        wait_for(lambda: pub.synced, what="listed")
        time.sleep(0.5)  # the workers had their chance to act on what they listed
        assert not pub.queue.idle()  # its object is waiting for a word from the speaker
        assert len(_writes(kube)) == written and len(_objects(kube, kube.ns)) == 1
        pub.publish(desired)
        wait_for(lambda: pub.settled(), what="settled")
    assert len(_writes(kube)) == written


def test_objects_follow_the_layer2_owner_from_node_to_node(kube: Kube) -> None:
    n1, n2 = nodes(kube)
    web = _service(kube, "web")
    owners = {f"{kube.ns}/web": web}
    with publisher(kube, n1) as one, publisher(kube, n2) as two:
        one.publish(desired_objects(n1, [ann(web, "layer2", "eth0")], owners))
        wait_for(lambda: list(_objects(kube, kube.ns)) == [("ServiceL2Status", f"web.{n1}")], what="on node1")
        one.publish({})  # node1 no longer owns the IP: node2 does
        two.publish(desired_objects(n2, [ann(web, "layer2", "eth1", node=n2)], owners))
        wait_for(lambda: list(_objects(kube, kube.ns)) == [("ServiceL2Status", f"web.{n2}")], what="moved")
        wait_for(lambda: _l2_status(kube, n2).get("interfaces") == [{"name": "eth1"}], what="on node2's eth1")


def _l2_object(kube: Kube, node: str) -> dict[str, Any]:
    """The ServiceL2Status of Service web on ``node``, or {} while it is absent (deleted, being recreated)."""
    return dict(_objects(kube, kube.ns).get(("ServiceL2Status", f"web.{node}")) or {})


def _l2_status(kube: Kube, node: str) -> dict[str, Any]:
    return dict(_l2_object(kube, node).get("status") or {})


def _l2_owner_uids(kube: Kube, node: str) -> list[str]:
    refs = (_l2_object(kube, node).get("metadata") or {}).get("ownerReferences") or []
    return [ref["uid"] for ref in refs]


def test_what_someone_else_did_is_put_right(kube: Kube) -> None:
    n1, _ = nodes(kube)
    web = _service(kube, "web")
    custom = client.CustomObjectsApi(kube.api)
    with publisher(kube, n1) as pub:
        pub.publish(desired_objects(n1, [ann(web, "layer2", "eth0")], {f"{kube.ns}/web": web}))
        wait_for(lambda: _objects(kube, kube.ns) and pub.settled(), what="written")
        # Deleted by a person: created again.
        custom.delete_namespaced_custom_object(GROUP, VERSION, kube.ns, "servicel2statuses", f"web.{n1}")
        wait_for(
            lambda: (
                (o := _objects(kube, kube.ns).get(("ServiceL2Status", f"web.{n1}")))
                and (o.get("status") or {}).get("interfaces") == [{"name": "eth0"}]
            ),
            what="recreated",
        )
        # Its status changed by hand: written back.
        custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            kube.ns,
            "servicel2statuses",
            f"web.{n1}",
            {"status": {"interfaces": [{"name": "x"}]}},
        )
        wait_for(
            lambda: _l2_status(kube, n1).get("interfaces") == [{"name": "eth0"}], what="status written back"
        )
        # The Service deleted and created again (a new uid): the object is the new Service's.
        kube.core.delete_namespaced_service("web", kube.ns)
        again = _service(kube, "web")
        pub.publish(desired_objects(n1, [ann(again, "layer2", "eth0")], {f"{kube.ns}/web": again}))
        wait_for(lambda: _l2_owner_uids(kube, n1) == [again.uid], what="owned by the new Service")


def test_withdraw_on_close_deletes_the_nodes_objects(kube: Kube) -> None:
    n1, _ = nodes(kube)
    web, db = _service(kube, "web"), _service(kube, "db")
    owners = {f"{kube.ns}/web": web, f"{kube.ns}/db": db}
    with publisher(kube, n1) as pub:
        pub.publish(desired_objects(n1, [ann(web, "layer2", "eth0"), ann(db, "bgp", "spine")], owners))
        wait_for(lambda: len(_objects(kube, kube.ns)) == 2 and pub.settled(), what="written")
        assert pub.close(withdraw=True, timeout=10.0)
    assert _objects(kube, kube.ns) == {}


# -- ConfigurationState --------------------------------------------------------------------------------


def _state(kube: Kube, name: str) -> dict[str, Any] | None:
    custom = client.CustomObjectsApi(kube.api)
    try:
        return dict(custom.get_namespaced_custom_object(GROUP, VERSION, kube.ns, "configurationstates", name))
    except client.exceptions.ApiException as exc:
        if exc.status == 404:
            return None
        raise


CONFIG_RULES = [
    {"apiGroups": [GROUP], "resources": ["configurationstates"], "verbs": ["create"]},
    {"apiGroups": [GROUP], "resources": ["configurationstates/status"], "verbs": ["patch"]},
]


def test_configuration_state_is_created_written_when_it_changes_and_recreated(kube: Kube) -> None:
    kube.grant("ctl", CONFIG_RULES)
    tracker = ConfigurationTracker("controller")
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    pool = InputVersion("IPAddressPool", kube.ns, "public", 3, "41")
    with closing(make_api_client(str(kube.kubeconfig("ctl", cluster_role=None)))) as api:
        writer = ConfigurationStateWriter(
            api, kube.ns, "controller", labels={"ironlb.io/component": "controller"}
        )
        try:
            bad = Problem(f"IPAddressPool {kube.ns}/public", "spec.addresses[0]", "not a CIDR")
            writer.publish(tracker.update(config=None, problems=[bad], inputs=[pool], now=now).status())
            state = wait_for(lambda: _state(kube, "controller"), what="created")
            assert writer.flush(10.0)
            state = _state(kube, "controller")
            assert state is not None
            assert state["metadata"]["labels"] == {"ironlb.io/component": "controller"}
            status = state["status"]
            assert (status["result"], status["configInForce"], status["errorCount"]) == ("Invalid", "None", 1)
            assert status["errors"][0]["fieldPath"] == "spec.addresses[0]"
            assert status["observedInputs"] == [
                {
                    "kind": "IPAddressPool",
                    "namespace": kube.ns,
                    "name": "public",
                    "generation": 3,
                    "resourceVersion": "41",
                }
            ]
            writes = len(_writes(kube, "ctl"))
            writer.publish(tracker.report.status())  # the same: no write
            assert writer.flush(10.0)
            assert len(_writes(kube, "ctl")) == writes
            # Deleted by someone: the next change creates it again.
            client.CustomObjectsApi(kube.api).delete_namespaced_custom_object(
                GROUP, VERSION, kube.ns, "configurationstates", "controller"
            )
            from ironlb.config.model import Config

            writer.publish(tracker.update(config=Config(), problems=[], inputs=[pool], now=now).status())
            assert writer.flush(10.0)
            state = wait_for(lambda: _state(kube, "controller"), what="recreated")
            assert state["status"]["result"] == "Valid" and state["status"]["errorSummary"] == ""
        finally:
            writer.close()
    assert not [r for r in kube.audit(kube.user("ctl")) if r.code in (401, 403)]
    assert {(v, res) for v, res, _ in _writes(kube, "ctl")} == {
        ("create", "configurationstates"),
        ("patch", "configurationstates/status"),
    }


def test_printer_columns_show_what_kubectl_get_shows(kube: Kube) -> None:
    n1, _ = nodes(kube)
    ext = client.ApiextensionsV1Api(kube.api)
    columns = {
        name: [
            c.name
            for c in ext.read_custom_resource_definition(f"{name}.ironlb.io")
            .spec.versions[0]
            .additional_printer_columns
        ]
        for name in (*PLURALS, "configurationstates")
    }
    assert columns == {
        "servicel2statuses": ["Service", "Node", "IP", "Second IP", "Interface", "Interfaces", "Age"],
        "servicebgpstatuses": ["Service", "Node", "First IP", "IPs", "First Peer", "Peers", "Age"],
        "configurationstates": ["Result", "In Force", "Errors", "In Force Since", "Error Summary", "Age"],
    }
    # And the server computes them: a Table of a written object, each cell a value (no JSON list).
    web = _service(kube, "web")
    announced = [
        ann(web, "layer2", "eth0", "eth1"),
        ann(web, "layer2", "eth0", "eth1", ip=V6),
        ann(web, "bgp", "spine-a", "spine-b"),
    ]
    with publisher(kube, n1) as pub:
        pub.publish(desired_objects(n1, announced, {f"{kube.ns}/web": web}))
        wait_for(lambda: len(_objects(kube, kube.ns)) == 2 and pub.settled(), what="written")
    rows = {plural: _table_row(kube, plural) for plural in PLURALS}
    assert rows["servicel2statuses"][:7] == [f"web.{n1}", "web", n1, "192.0.2.1", "2001:db8::1", "eth0", 2]
    assert rows["servicebgpstatuses"][:7] == [f"web.{n1}", "web", n1, "192.0.2.1", 1, "spine-a", 2]


def _table_row(kube: Kube, plural: str) -> list[Any]:
    """The cells of the only object of ``plural`` as the server prints them for ``kubectl get``."""
    resp = kube.api.call_api(
        *kube.api.param_serialize(
            "GET",
            f"/apis/{GROUP}/{VERSION}/namespaces/{kube.ns}/{plural}",
            header_params={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
            auth_settings=["BearerToken"],
        )
    )
    table = json.loads(resp.read())
    [row] = table["rows"]
    cells: list[Any] = row["cells"]
    return cells


def test_status_objects_reject_what_they_cannot_say(kube: Kube) -> None:
    custom = client.CustomObjectsApi(kube.api)
    obj = StatusObject(
        "ServiceL2Status", kube.ns, "x.node1", "node1", ServiceOwner(kube.ns, "x", "u"), ips=("not-an-ip",)
    )
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": obj.kind, "metadata": {"name": obj.name}, "spec": {}}
    custom.create_namespaced_custom_object(GROUP, VERSION, kube.ns, "servicel2statuses", body)
    try:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, kube.ns, "servicel2statuses", obj.name, {"status": obj.status()}
        )
        raise AssertionError("an invalid IP was accepted")
    except client.exceptions.ApiException as exc:
        assert exc.status == 422 and "must be an IP address" in exc.body
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, kube.ns, "servicel2statuses", obj.name, {"status": {"node": "node1"}}
    )
    try:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, kube.ns, "servicel2statuses", obj.name, {"status": {"node": "node2"}}
        )
        raise AssertionError("the node was changed")
    except client.exceptions.ApiException as exc:
        assert exc.status == 422 and "node is immutable" in exc.body
