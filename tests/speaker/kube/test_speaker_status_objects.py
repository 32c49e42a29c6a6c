"""Two real speakers on the real API server publish ``ServiceL2Status`` for what they announce.

Nodes n1 (127.0.0.1) and n2 (127.0.0.2) each run ``python -m speaker`` (membership on their own
loopback address, same port), so the layer-2 owner of a Service's IP is elected between them
as in a cluster. The objects are read back from the server; writes are counted in the audit
log. No garbage collector runs here: every deletion seen is the speakers' own.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubernetes import client

from ironlb.announce import layer2
from tests.speaker.kube.harness import (
    Cluster,
    SpeakerProcess,
    endpoint_slice,
    free_port,
    service,
)

EXCLUDE = "node.kubernetes.io/exclude-from-external-load-balancers"
PLURALS = ("servicel2statuses", "servicebgpstatuses")


def status_objects(c: Cluster) -> dict[str, dict[str, Any]]:
    """The status objects in the Services' namespace, by name."""
    custom = client.CustomObjectsApi(c.kube.api)
    found: dict[str, dict[str, Any]] = {}
    for plural in PLURALS:
        for obj in custom.list_namespaced_custom_object("ironlb.io", "v1beta1", c.apps, plural)["items"]:
            found[obj["metadata"]["name"]] = obj
    return found


def status_writes(c: Cluster) -> list[tuple[str, str, str | None]]:
    return [
        (r.verb, r.rbac_resource, r.name)
        for r in c.kube.audit(c.kube.user("speaker"))
        if r.write and r.rbac_resource.startswith(PLURALS)
    ]


def settled_writes(
    c: Cluster, quiet: float = 2.0, timeout: float = 20.0
) -> list[tuple[str, str, str | None]]:
    """The status writes so far, once none came for ``quiet`` s: a speaker that was alone for a
    moment at start may still be catching up (creating, then deleting, what it owned then)."""
    deadline = time.monotonic() + timeout
    seen, since = status_writes(c), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = status_writes(c)
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return seen
    raise AssertionError(f"status writes still coming after {timeout} s: {seen[-6:]}")


def speakers(tmp_path: Path, kubeconfig: Path, ns: str) -> dict[str, SpeakerProcess]:
    port = str(free_port(socket.SOCK_DGRAM))
    out = {}
    for name, address in (("n1", "127.0.0.1"), ("n2", "127.0.0.2")):
        (tmp_path / name).mkdir()
        sp = SpeakerProcess(tmp_path / name, kubeconfig, ns, name)
        sp.argv[sp.argv.index("--membership-bind") + 1] = address
        sp.argv[sp.argv.index("--membership-port") + 1] = port
        out[name] = sp
    return out


def elected(ip: str) -> tuple[str, str]:
    """The layer-2 owner of ``ip`` among n1 and n2 (the election every speaker runs), and the other."""
    owner = layer2.owner(ipaddress.ip_address(ip), ["n1", "n2"])
    assert owner is not None
    return owner, "n2" if owner == "n1" else "n1"


def both_live(sp: dict[str, SpeakerProcess]) -> bool:
    return all([v for _, v in s.samples("ironlb_membership_members")] == [2.0] for s in sp.values())


@contextmanager
def two_live_speakers(
    c: Cluster, kubeconfig: Path, tmp_path: Path
) -> Iterator[tuple[dict[str, SpeakerProcess], str, str]]:
    """Nodes n1 and n2, web on n1, both speakers running and live: yields them, web's owner, the other."""
    c.seed_web(nodes=2)
    sp = speakers(tmp_path, kubeconfig, c.ns)
    with sp["n1"], sp["n2"]:
        sp["n1"].until("both speakers live", lambda: both_live(sp), timeout=30)
        owner, other = elected("192.0.2.1")
        yield sp, owner, other


def test_objects_follow_the_owner_change_only_with_it_and_go_with_the_service(
    cluster: tuple[Cluster, Path], tmp_path: Path
) -> None:
    c, kubeconfig = cluster
    with two_live_speakers(c, kubeconfig, tmp_path) as (sp, owner, other):

        def one_object_for(svc: str) -> dict[str, Any] | None:
            objs = [
                o
                for o in status_objects(c).values()
                if o["metadata"]["labels"]["ironlb.io/service-name"] == svc
            ]
            return objs[0] if len(objs) == 1 and objs[0].get("status") else None

        web = sp["n1"].until(
            "web's ServiceL2Status on its owner",
            lambda: (o := one_object_for("web")) is not None and o["status"]["node"] == owner and o,
        )
        assert web["metadata"]["name"] == f"web.{owner}"
        assert c.announcement("web", "192.0.2.1") in sp[owner].announced()
        assert web["status"]["ips"] == ["192.0.2.1"] and web["status"]["interfaces"] == []
        assert web["metadata"]["labels"] == {
            "ironlb.io/node": owner,
            "ironlb.io/service-name": "web",
            "ironlb.io/service-namespace": c.apps,
        }
        assert web["metadata"]["ownerReferences"][0]["uid"] == c.read("web")["metadata"]["uid"]

        # Changes that change nothing a speaker announces write nothing; a Service created after
        # them is the witness that both speakers have seen and reconciled them.
        before = settled_writes(c)
        c.core.patch_namespaced_service("web", c.apps, {"metadata": {"labels": {"tier": "front"}}})
        c.core.patch_node(other, {"metadata": {"labels": {"zone": "b"}}})
        c.create_service(service("api", "192.0.2.3"))
        c.discovery.create_namespaced_endpoint_slice(c.apps, endpoint_slice("api", "n1"))
        api = sp["n1"].until("api's ServiceL2Status", lambda: one_object_for("api"))
        api_name = api["metadata"]["name"]
        new = status_writes(c)[len(before) :]
        assert sorted(new) == [
            ("create", "servicel2statuses", api_name),
            ("patch", "servicel2statuses/status", api_name),
        ], new

        # Each speaker counts its writes (ironlb_status_object_writes_total): as many as the server
        # accepted from the speakers.
        def counted() -> list[tuple[str, str, float]]:
            return [
                (labels["kind"], labels["result"], value)
                for s in sp.values()
                for labels, value in s.samples("ironlb_status_object_writes_total")
            ]

        accepted = [
            r
            for r in c.kube.audit(c.kube.user("speaker"))
            if r.write and r.rbac_resource.startswith(PLURALS) and r.code < 400
        ]
        sp["n1"].until(  # a speaker counts a write once its answer is read, a moment after the audit
            "the speakers' write counts to match the audit log",
            lambda: sum(v for _, result, v in counted() if result == "ok") == len(accepted),
            timeout=5,
        )
        assert {kind for kind, _, v in counted() if v} == {"ServiceL2Status"}

        # The owner's node is excluded from load balancers: the other node takes over; the old
        # object is deleted by its speaker, the new one created by the other's.
        c.core.patch_node(owner, {"metadata": {"labels": {EXCLUDE: ""}}})
        moved = sp["n1"].until(
            "web's object on the other node",
            lambda: (o := one_object_for("web")) is not None and o["status"]["node"] == other and o,
        )
        assert moved["metadata"]["name"] == f"web.{other}"
        assert c.announcement("web", "192.0.2.1") in sp[other].announced()
        assert f"web.{owner}" not in status_objects(c)

        # No longer a LoadBalancer: its object goes. Deleted: its object goes.
        c.core.patch_namespaced_service("web", c.apps, {"spec": {"type": "ClusterIP"}})
        sp["n1"].until(
            "web's object deleted", lambda: one_object_for("web") is None and one_object_for("api")
        )
        c.core.delete_namespaced_service("api", c.apps)
        sp["n1"].until("api's object deleted", lambda: status_objects(c) == {})
        for s in sp.values():
            assert s.stop(signal.SIGTERM) == 0, s.log()[-3000:]
            assert "Traceback" not in s.log()
    # Every status-object request was allowed and found what it wrote to.
    mine = [r for r in c.kube.audit(c.kube.user("speaker")) if r.rbac_resource.startswith(PLURALS)]
    assert mine and all(r.code < 400 for r in mine), [r for r in mine if r.code >= 400]


def test_a_stopped_speaker_deletes_its_objects_and_the_next_owner_creates_its_own(
    cluster: tuple[Cluster, Path], tmp_path: Path
) -> None:
    c, kubeconfig = cluster
    with two_live_speakers(c, kubeconfig, tmp_path) as (sp, owner, other):
        sp[owner].until("the object on the owner", lambda: list(status_objects(c)) == [f"web.{owner}"])
        assert sp[owner].stop(signal.SIGTERM) == 0
        sp[other].until("the object on the other node", lambda: list(status_objects(c)) == [f"web.{other}"])
        assert sp[other].stop(signal.SIGTERM) == 0
    assert status_objects(c) == {}
