"""ServiceL2Status / ServiceBGPStatus: the objects a speaker should have, and the step for each key."""

from __future__ import annotations

import ipaddress
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ironlb.announce.inputs import Announcement
from ironlb.statusobjects.kinds import (
    MAX_LABEL_VALUE,
    MAX_NAME,
    NODE_LABEL,
    SERVICE_BGP_STATUS,
    SERVICE_L2_STATUS,
    label_value,
    status_object_name,
)
from ironlb.statusobjects.service import (
    ServiceOwner,
    StatusKey,
    StatusObject,
    desired_objects,
    existing_object,
    step,
)

V4, V6 = ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("2001:db8::1")
WEB = ServiceOwner("apps", "web", "uid-web")
DB = ServiceOwner("data", "db", "uid-db")
OWNERS = {"apps/web": WEB, "data/db": DB}
SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


def ann(service: str, protocol: str, ip: object, *via: str, node: str = "node1") -> Announcement:
    return Announcement(service, protocol, node, ip, via=tuple(via))  # type: ignore[arg-type]


def test_one_object_per_service_and_protocol_with_its_ips_and_where() -> None:
    objects = desired_objects(
        "node1",
        [
            ann("apps/web", "layer2", V6, "eth1"),
            ann("apps/web", "layer2", V4, "eth0", "eth1"),
            ann("apps/web", "bgp", V4, "spine-b", "spine-a"),
            ann("data/db", "bgp", V4, "spine-a"),
        ],
        OWNERS,
    )
    assert sorted(objects) == [
        (SERVICE_BGP_STATUS, "apps", "web.node1"),
        (SERVICE_BGP_STATUS, "data", "db.node1"),
        (SERVICE_L2_STATUS, "apps", "web.node1"),
    ]
    l2 = objects[(SERVICE_L2_STATUS, "apps", "web.node1")]
    assert l2.status() == {
        "node": "node1",
        "serviceName": "web",
        "serviceNamespace": "apps",
        "ips": ["192.0.2.1", "2001:db8::1"],  # IPv4 first
        "interfaces": [{"name": "eth0"}, {"name": "eth1"}],
        "interfaceCount": 2,  # kubectl's column: a printer column cannot count a list
    }
    bgp = objects[(SERVICE_BGP_STATUS, "apps", "web.node1")]
    assert bgp.status()["peers"] == ["spine-a", "spine-b"]
    assert (bgp.status()["ipCount"], bgp.status()["peerCount"]) == (1, 2)
    meta = bgp.metadata()
    assert meta["labels"] == {
        NODE_LABEL: "node1",
        "ironlb.io/service-name": "web",
        "ironlb.io/service-namespace": "apps",
    }
    assert meta["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "uid-web"}
    ]
    assert "blockOwnerDeletion" not in meta["ownerReferences"][0]  # needs services/finalizers


def test_a_service_without_a_known_uid_gets_no_object() -> None:
    owners = {"apps/web": ServiceOwner("apps", "web", "")}
    assert (
        desired_objects("node1", [ann("apps/web", "layer2", V4, "eth0"), ann("x/y", "bgp", V4)], owners) == {}
    )


def test_what_the_api_shows_reads_back_as_what_was_written() -> None:
    for obj in desired_objects(
        "node1", [ann("apps/web", "layer2", V4, "eth0"), ann("apps/web", "bgp", V4, "a")], OWNERS
    ).values():
        served = obj.manifest()
        served["metadata"] |= {"resourceVersion": "17", "uid": "u", "managedFields": [{"manager": "x"}]}
        assert existing_object(served) == obj
        assert step(obj, existing_object(served)) is None


def _obj(**changes: object) -> StatusObject:
    base = desired_objects("node1", [ann("apps/web", "layer2", V4, "eth0")], OWNERS)
    obj = next(iter(base.values()))
    return StatusObject(**{**obj.__dict__, **changes})  # type: ignore[arg-type]


def test_steps() -> None:
    desired = _obj()
    assert step(None, None) is None
    assert step(desired, None) == "create"
    assert step(None, desired) == "delete"
    assert step(desired, desired) is None
    assert step(desired, _obj(via=("eth1",))) == "update"
    assert step(desired, _obj(ips=())) == "update"  # created, its status not written yet
    # The Service was deleted and created again under the same name: the old owner's object must go.
    assert step(desired, _obj(service=ServiceOwner("apps", "web", "uid-old"))) == "replace"
    assert step(desired, _obj(labels_ok=False)) == "replace"


def test_an_object_whose_labels_someone_changed_is_replaced() -> None:
    desired = _obj()
    served = desired.manifest()
    served["metadata"]["labels"]["ironlb.io/service-name"] = "other"
    assert step(desired, existing_object(served)) == "replace"
    served = desired.manifest()
    del served["status"]  # created, status not yet written: updated, not replaced
    assert step(desired, existing_object(served)) == "update"


def test_an_object_without_its_counts_is_updated_and_then_left_alone() -> None:
    for desired in desired_objects(
        "node1", [ann("apps/web", "layer2", V4, "eth0"), ann("apps/web", "bgp", V4, "a", "b")], OWNERS
    ).values():
        served = desired.manifest()
        for field in ("interfaceCount", "ipCount", "peerCount"):
            served["status"].pop(field, None)  # written before the count fields existed
        assert step(desired, existing_object(served)) == "update"
        assert step(desired, existing_object(desired.manifest())) is None


def test_objects_of_other_kinds_are_not_read_as_status_objects() -> None:
    assert existing_object({"kind": "ConfigMap", "metadata": {"name": "x"}}) is None


node_names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\.[a-z0-9]{1,60}){0,5}", fullmatch=True)
service_names = st.from_regex(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)


@given(service_names, node_names, service_names, node_names)
def test_names_are_valid_and_never_collide(s1: str, n1: str, s2: str, n2: str) -> None:
    a, b = status_object_name(s1, n1), status_object_name(s2, n2)
    for name in (a, b):
        assert len(name) <= MAX_NAME and SUBDOMAIN.fullmatch(name), name
    assert (a == b) == ((s1, n1) == (s2, n2))


@given(st.text(min_size=0, max_size=300))
def test_label_values_are_valid_and_kept_when_they_can_be(text: str) -> None:
    value = label_value(text)
    assert len(value) <= MAX_LABEL_VALUE and LABEL_VALUE.fullmatch(value), value
    if len(text) <= MAX_LABEL_VALUE and LABEL_VALUE.fullmatch(text):
        assert value == text


def test_a_long_node_name_still_makes_a_valid_name_and_label() -> None:
    node = ".".join(["a" * 60] * 4)  # 243 characters, a valid node name
    name = status_object_name("w" * 63, node)
    assert len(name) <= MAX_NAME and SUBDOMAIN.fullmatch(name)
    assert status_object_name("w" * 63, node + "x") != name
    assert len(label_value(node)) <= MAX_LABEL_VALUE


# -- convergence: a server that applies the steps ends where desired, and then nothing moves -----------

services = st.sampled_from(sorted(OWNERS))
announcements = st.lists(
    st.builds(
        ann,
        services,
        st.sampled_from(["layer2", "bgp"]),
        st.sampled_from([V4, V6]),
        st.sampled_from(["eth0", "eth1", "spine-a"]),
    ),
    max_size=8,
)


def _apply(server: dict[StatusKey, StatusObject], desired: dict[StatusKey, StatusObject]) -> int:
    writes = 0
    for key in sorted(server.keys() | desired.keys()):
        action = step(desired.get(key), server.get(key))
        if action in ("delete", "replace"):
            del server[key]
            writes += 1
        if action in ("create", "replace"):
            server[key] = StatusObject(**{**desired[key].__dict__, "ips": (), "via": ()})
            writes += 1
        if action is not None and key in desired:
            server[key] = desired[key]
            writes += 1
    return writes


@settings(max_examples=200)
@given(announcements, announcements)
def test_steps_converge_and_a_steady_state_writes_nothing(
    before: list[Announcement], after: list[Announcement]
) -> None:
    server: dict[StatusKey, StatusObject] = {}
    for wanted in (before, after):
        desired = desired_objects("node1", wanted, OWNERS)
        _apply(server, desired)
        assert server == desired
        assert _apply(server, desired) == 0
