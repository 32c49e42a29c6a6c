"""The speaker on the Kubernetes API (the double, through the real client), end to end.

A real ``python -m speaker --kubeconfig ... --no-bgp`` process; what it announces is
read from its metrics endpoint, its Events from the double. Every change below is
made through the API (or, during an outage, in the double's store, as another
client would) and must reach the speaker by its watches alone.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from ironlb.kube.client import make_api_client
from tests.kubeapi import KubeApiServer

from .harness import (
    APPS,
    CONFIGMAPS,
    NODES,
    NS,
    OLD,
    SERVICES,
    SLICES,
    WEB,
    Cluster,
    SpeakerProcess,
    config,
    endpoint_slice,
    node,
    service,
)

EXCLUDE = "node.kubernetes.io/exclude-from-external-load-balancers"
MERGE = "application/merge-patch+json"


def test_follows_services_slices_nodes_and_config_and_records_events(
    api: tuple[KubeApiServer, Path], tmp_path: Path
) -> None:
    server, kubeconfig = api
    cluster = Cluster(server)
    cluster.seed(
        nodes=[node("n1", "127.0.0.1")],
        services=[service("web", "192.0.2.1", etp="Local")],
        slices=[endpoint_slice("web", "n1")],
        cm=config(),
    )
    # The test's own writes go through the real client too, with another token.
    kube = make_api_client(str(server.write_kubeconfig(tmp_path / "tester-kubeconfig", token="tester")))
    core: Any = client.CoreV1Api(kube)  # raw dicts in: untyped
    discovery: Any = client.DiscoveryV1Api(kube)
    try:
        with SpeakerProcess(tmp_path, kubeconfig) as sp:
            sp.until("web announced", lambda: sp.announced() == {WEB})
            (event,) = sp.until("nodeAssigned recorded", cluster.events)
            web = server.store.get(SERVICES, APPS, "web")
            assert event["involvedObject"]["uid"] == web["metadata"]["uid"]
            assert event["involvedObject"]["kind"] == "Service"
            assert event["message"] == "announcing from node n1 with protocol layer2"
            assert event["type"] == "Normal" and event.get("count", 1) == 1
            assert event["source"]["host"] == "n1"

            # EndpointSlice: eTP Local, the only endpoint becomes unready -> withdrawn; ready -> back.
            unready = endpoint_slice("web", "n1", ready=False)
            discovery.replace_namespaced_endpoint_slice("web-x7k2p", APPS, unready)
            sp.until("withdrawn without a ready endpoint", lambda: sp.announced() == set())
            discovery.replace_namespaced_endpoint_slice("web-x7k2p", APPS, endpoint_slice("web", "n1"))
            sp.until("announced again", lambda: sp.announced() == {WEB})
            # Announcing again is a change: the same Event, counted (EventRecorder patches it).
            sp.until("the repeated nodeAssigned counted", lambda: cluster.events()[0].get("count") == 2)
            assert len(cluster.events()) == 1

            # Service: a new status IP (written as the controller does, through /status).
            core.patch_namespaced_service_status(
                "web", APPS, {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.2"}]}}}
            )
            sp.until("the new IP", lambda: sp.announced() == {("apps/web", "layer2", "192.0.2.2")})
            # An unrelated change to a Service records nothing new.
            core.patch_namespaced_service("web", APPS, {"metadata": {"labels": {"tier": "front"}}})
            # A second Service appears, then goes.
            core.create_namespaced_service(APPS, service("api", "192.0.2.3"))  # status is dropped...
            core.patch_namespaced_service_status(  # ... and written through /status
                "api", APPS, {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.3"}]}}}
            )
            discovery.create_namespaced_endpoint_slice(APPS, endpoint_slice("api", "n1"))
            both = {("apps/web", "layer2", "192.0.2.2"), ("apps/api", "layer2", "192.0.2.3")}
            sp.until("the second Service", lambda: sp.announced() == both)
            sp.until("its nodeAssigned", lambda: len(cluster.events()) == 2)
            web_event = next(e for e in cluster.events() if e["involvedObject"]["name"] == "web")
            assert web_event.get("count") == 2  # the IP change and the label change recorded nothing
            core.delete_namespaced_service("api", APPS)
            web2 = {("apps/web", "layer2", "192.0.2.2")}
            sp.until("the deleted Service withdrawn", lambda: sp.announced() == web2)

            # Node: excluded from load balancers -> nothing; label removed -> back.
            core.patch_node("n1", {"metadata": {"labels": {EXCLUDE: ""}}})
            sp.until("withdrawn from an excluded node", lambda: sp.announced() == set())
            core.patch_node("n1", {"metadata": {"labels": {EXCLUDE: None}}})
            sp.until("back on the node", lambda: sp.announced() == web2)

            # ConfigMap: an invalid config is refused (last good kept), a valid one applied.
            bad = config(cidr="192.0.2.0/33")
            core.replace_namespaced_config_map("ironlb", NS, bad)
            sp.until("stale config", lambda: [v for _, v in sp.samples("ironlb_config_stale_bool")] == [1.0])
            assert sp.announced() == web2
            core.replace_namespaced_config_map("ironlb", NS, config(cidr="198.51.100.0/28"))
            sp.until("IP outside every pool withdrawn", lambda: sp.announced() == set())
            assert [v for _, v in sp.samples("ironlb_config_stale_bool")] == [0.0]

            assert sp.stop(signal.SIGTERM) == 0, sp.log()[-3000:]
    finally:
        kube.close()  # type: ignore[no-untyped-call]
    # The speaker lists and watches the four kinds and writes only Events.
    calls = {(r.verb, r.rbac_resource) for r in server.requests() if r.user == "speaker"}
    kinds = ("services", "endpointslices", "nodes", "configmaps")
    reads = {(verb, kind) for verb in ("list", "watch") for kind in kinds}
    assert calls == reads | {("create", "events"), ("patch", "events")}
    assert all(r.code < 400 for r in server.requests() if r.user == "speaker")


def test_keeps_announcing_through_an_outage_and_relists_after_410(
    api: tuple[KubeApiServer, Path], tmp_path: Path
) -> None:
    server, kubeconfig = api
    cluster = Cluster(server)
    cluster.seed_web_and_old()
    with SpeakerProcess(tmp_path, kubeconfig) as sp:
        sp.until("both announced", lambda: sp.announced() == {WEB, OLD})
        sp.until("every watch open", lambda: server.open_watches() == 4)
        lists_before = sum(1 for r in server.requests() if r.verb == "list")

        server.begin_outage("refuse")
        try:
            # While the API server is gone nothing is withdrawn (sampled for a while: the
            # informers fail, back off and retry meanwhile).
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                assert sp.announced() == {WEB, OLD}, sp.log()[-3000:]
                time.sleep(0.2)
            assert sp.proc is not None and sp.proc.poll() is None
            # Meanwhile the cluster changes, and the history the watches would resume from is
            # compacted away: on reconnect the watches get 410 Gone and must list again.
            server.store.delete(SERVICES, APPS, "old")
            server.store.create(SERVICES, APPS, service("new", "192.0.2.5"), keep_status=True)
            server.store.create(SLICES, APPS, endpoint_slice("new", "n1"))
            server.store.patch(NODES, None, "n1", MERGE, {"metadata": {"labels": {"zone": "b"}}})
            server.store.patch(CONFIGMAPS, NS, "ironlb", MERGE, config(cidr="192.0.2.0/29"))
            server.compact()
        finally:
            server.end_outage()
        new = ("apps/new", "layer2", "192.0.2.5")
        sp.until("the changes made during the outage", lambda: sp.announced() == {WEB, new}, timeout=30)
        relisted = {r.resource for r in server.requests()[lists_before:] if r.verb == "list"}
        assert {"services", "endpointslices", "nodes", "configmaps"} <= relisted

        # A watch ended by ERROR 410 in the stream: relist, and later changes still arrive.
        sp.until("watches back", lambda: server.open_watches() == 4, timeout=30)
        time.sleep(0.6)  # a bookmark on each watch: the informers count it as recovered, no backoff
        server.expire_watches()
        server.store.delete(SERVICES, APPS, "new")
        sp.until("withdrawn after the 410", lambda: sp.announced() == {WEB})
        assert sp.stop(signal.SIGTERM) == 0, sp.log()[-3000:]
    log = sp.log()
    assert "Traceback" not in log, log[-3000:]


def test_unreachable_api_at_start_joins_nothing_until_it_can_read(
    api: tuple[KubeApiServer, Path], tmp_path: Path
) -> None:
    server, kubeconfig = api
    Cluster(server).seed(
        nodes=[node("n1", "127.0.0.1")],
        services=[service("web", "192.0.2.1")],
        slices=[endpoint_slice("web", "n1")],
        cm=config(),
    )
    server.begin_outage("refuse")
    with SpeakerProcess(tmp_path, kubeconfig) as sp:
        try:
            sp.until("metrics served", lambda: sp.samples("ironlb_config_loaded_bool"))
            time.sleep(1.0)  # a while unable to read the cluster
            assert sp.announced() == set()
            members = [v for _, v in sp.samples("ironlb_membership_members")]
            assert members in ([], [0.0]), "joined the membership before reading the cluster"
        finally:
            server.end_outage()
        sp.until("announced once the API answers", lambda: sp.announced() == {WEB}, timeout=30)
        assert sp.stop(signal.SIGTERM) == 0
    assert "Traceback" not in sp.log()
