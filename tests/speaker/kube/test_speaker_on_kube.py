"""The speaker on the real Kubernetes API server, end to end.

A real ``python -m speaker --kubeconfig ... --no-bgp`` process; what it announces is read from
its metrics endpoint, its Events and requests from the API server. Every change below is made
through the API and must reach the speaker by its watches alone; the API server is stopped and
restarted under it (its watches then resume from a resourceVersion the new server does not
know: 410 Gone, and a relist).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.speaker.kube.harness import Cluster, SpeakerProcess, config, endpoint_slice, service
from tests.support.crds import CONFIG_RESOURCES

EXCLUDE = "node.kubernetes.io/exclude-from-external-load-balancers"
KINDS = ("services", "endpointslices", "nodes", "configmaps", *CONFIG_RESOURCES, "secrets")
STATUS_KINDS = ("servicel2statuses", "servicebgpstatuses")


def configuration_state(c: Cluster, name: str) -> dict[str, Any]:
    """The ConfigurationState ``name`` in ironlb's namespace, or {} while there is none."""
    try:
        out: dict[str, Any] = client.CustomObjectsApi(c.kube.api).get_namespaced_custom_object(
            "ironlb.io", "v1beta1", c.ns, "configurationstates", name
        )
    except client.exceptions.ApiException:
        return {}
    return out


def test_follows_services_slices_nodes_and_config_and_records_events(
    cluster: tuple[Cluster, Path], tmp_path: Path
) -> None:
    c, kubeconfig = cluster
    c.seed_web(etp="Local")
    core, discovery, apps = c.core, c.discovery, c.apps
    web = c.web
    with SpeakerProcess(tmp_path, kubeconfig, c.ns) as sp:
        sp.until("web announced", lambda: sp.announced() == {web})
        (event,) = sp.until("nodeAssigned recorded", c.events)
        assert event["involvedObject"]["uid"] == c.read("web")["metadata"]["uid"]
        assert event["involvedObject"]["kind"] == "Service"
        assert event["message"] == 'announcing from node "n1" with protocol "layer2"'
        assert event["type"] == "Normal" and event.get("count", 1) == 1
        assert event["source"]["host"] == "n1"
        assert {f["manager"] for f in event["metadata"]["managedFields"]} == {"ironlb-speaker"}

        # EndpointSlice: eTP Local, the only endpoint becomes unready -> withdrawn; ready -> back.
        discovery.replace_namespaced_endpoint_slice(
            "web-x7k2p", apps, endpoint_slice("web", "n1", ready=False)
        )
        sp.until("withdrawn without a ready endpoint", lambda: sp.announced() == set())
        discovery.replace_namespaced_endpoint_slice("web-x7k2p", apps, endpoint_slice("web", "n1"))
        sp.until("announced again", lambda: sp.announced() == {web})
        # Announcing again is a change: the same Event, counted (EventRecorder patches it).
        sp.until("the repeated nodeAssigned counted", lambda: c.events()[0].get("count") == 2)
        assert len(c.events()) == 1

        # Service: a new status IP (written as the controller does, through /status).
        core.patch_namespaced_service_status(
            "web", apps, {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.2"}]}}}
        )
        web2 = {c.announcement("web", "192.0.2.2")}
        sp.until("the new IP", lambda: sp.announced() == web2)
        # An unrelated change to a Service records nothing new.
        core.patch_namespaced_service("web", apps, {"metadata": {"labels": {"tier": "front"}}})
        # A second Service appears, then goes.
        c.create_service(service("api", "192.0.2.3"))
        discovery.create_namespaced_endpoint_slice(apps, endpoint_slice("api", "n1"))
        both = web2 | {c.announcement("api", "192.0.2.3")}
        sp.until("the second Service", lambda: sp.announced() == both)
        sp.until("its nodeAssigned", lambda: len(c.events()) == 2)
        web_event = next(e for e in c.events() if e["involvedObject"]["name"] == "web")
        assert web_event.get("count") == 2  # the IP change and the label change recorded nothing
        core.delete_namespaced_service("api", apps)
        sp.until("the deleted Service withdrawn", lambda: sp.announced() == web2)

        # Node: excluded from load balancers -> nothing; label removed -> back.
        core.patch_node("n1", {"metadata": {"labels": {EXCLUDE: ""}}})
        sp.until("withdrawn from an excluded node", lambda: sp.announced() == set())
        core.patch_node("n1", {"metadata": {"labels": {EXCLUDE: None}}})
        sp.until("back on the node", lambda: sp.announced() == web2)

        # ConfigMap: an invalid config is refused (last good kept), a valid one applied.
        state = sp.until("its ConfigurationState", lambda: configuration_state(c, "speaker-n1"))
        assert state["metadata"]["labels"] == {"ironlb.io/component": "speaker", "ironlb.io/node": "n1"}
        assert state["metadata"]["ownerReferences"][0]["kind"] == "Node"  # gone with the Node
        assert state["status"]["result"] == "Valid" and state["status"]["configInForce"] == "Latest"
        core.replace_namespaced_config_map("ironlb", c.ns, config(cidr="192.0.2.0/33"))
        sp.until("stale config", lambda: [v for _, v in sp.samples("ironlb_config_stale_bool")] == [1.0])
        assert sp.announced() == web2
        status = sp.until(
            "the invalid config on its ConfigurationState",
            lambda: (
                (configuration_state(c, "speaker-n1").get("status") or {}).get("result") == "Invalid"
                and configuration_state(c, "speaker-n1")["status"]
            ),
        )
        assert status["configInForce"] == "LastGood" and status["inForce"]["pools"] == ["l2"]
        (error,) = status["errors"]
        assert error["object"] == f"ConfigMap {c.ns}/ironlb"
        assert error["fieldPath"] == "address-pools[0].addresses[0]" and "192.0.2.0/33" in error["message"]
        core.replace_namespaced_config_map("ironlb", c.ns, config(cidr="198.51.100.0/28"))
        sp.until("IP outside every pool withdrawn", lambda: sp.announced() == set())
        assert [v for _, v in sp.samples("ironlb_config_stale_bool")] == [0.0]

        assert sp.stop(signal.SIGTERM) == 0, sp.log()[-3000:]
    # The speaker lists and watches its kinds and its own status objects, and writes only Events, its
    # ConfigurationState and its ServiceL2Status (created, status patched, deleted when withdrawn and
    # on stop), every request allowed, each naming the speaker.
    mine = c.kube.audit(c.kube.user("speaker"))
    reads = {(verb, kind) for verb in ("list", "watch") for kind in (*KINDS, *STATUS_KINDS)}
    writes = {("create", "events"), ("patch", "events"), ("create", "configurationstates")}
    writes |= {("patch", "configurationstates/status")}
    writes |= {
        ("create", "servicel2statuses"),
        ("patch", "servicel2statuses/status"),
        ("delete", "servicel2statuses"),
    }
    assert {(r.verb, r.rbac_resource) for r in mine} == reads | writes
    # The first status patch of its ConfigurationState finds none (404) and creates it: no read needed.
    failed = [(r.verb, r.rbac_resource, r.code) for r in mine if r.code >= 400]
    assert failed == [("patch", "configurationstates/status", 404)], failed
    assert all(r.user_agent.startswith("ironlb-speaker/") for r in mine)


def test_keeps_announcing_through_an_api_server_restart_and_relists_after_410(
    cluster: tuple[Cluster, Path], tmp_path: Path
) -> None:
    c, kubeconfig = cluster
    c.seed_web_and_old()
    web, old = c.web, c.old
    with SpeakerProcess(tmp_path, kubeconfig, c.ns) as sp:
        sp.until("both announced", lambda: sp.announced() == {web, old})
        mine = lambda: c.kube.audit(c.kube.user("speaker"))  # noqa: E731
        sp.until("every watch open", lambda: sum(r.verb == "watch" for r in mine()) >= len(KINDS))
        c.kube.cp.stop_apiserver()
        try:
            # While the API server is gone nothing is withdrawn (sampled for a while: the
            # informers fail, back off and retry meanwhile).
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                assert sp.announced() == {web, old}, sp.log()[-3000:]
                time.sleep(0.2)
            assert sp.proc is not None and sp.proc.poll() is None
            # An outage is reported once it has lasted 2 s and a retry failed after that: the
            # informers' backoff decides when, so wait for it (still announcing) rather than
            # restarting at a fixed time that a slow retry may straddle.
            sp.until("the outage reported", lambda: "cannot be reached" in sp.log(), timeout=30)
            assert sp.announced() == {web, old}, sp.log()[-3000:]
        finally:
            c.kube.cp.compact()  # etcd forgets the history too
            c.kube.cp.start_apiserver()
        restarted = time.time()
        # The cluster changes; the speaker's watches resume from a resourceVersion the new API
        # server does not know (410 Gone): they list again and see every change, through the
        # list or the watch after it.
        c.core.delete_namespaced_service("old", c.apps)
        c.create_service(service("new", "192.0.2.5"))
        c.discovery.create_namespaced_endpoint_slice(c.apps, endpoint_slice("new", "n1"))
        c.core.patch_node("n1", {"metadata": {"labels": {"zone": "b"}}})
        c.core.replace_namespaced_config_map("ironlb", c.ns, config(cidr="192.0.2.0/29"))
        new = c.announcement("new", "192.0.2.5")
        sp.until("the changes after the restart", lambda: sp.announced() == {web, new}, timeout=30)
        sp.until(
            "every kind listed again",
            lambda: (
                {r.resource for r in mine() if r.verb == "list" and r.at >= restarted} - set(STATUS_KINDS)
                == set(KINDS)
            ),
            timeout=30,
        )
        c.core.delete_namespaced_service("new", c.apps)
        sp.until("a change after the relist", lambda: sp.announced() == {web})
        assert sp.stop(signal.SIGTERM) == 0, sp.log()[-3000:]
    log = sp.log()
    assert "Traceback" not in log, log[-3000:]
    # The outage, once: lost and back, not a line per informer and retry.
    assert sum("cannot be reached" in line for line in log.splitlines()) == 1, log[-3000:]
    assert sum("reachable again" in line for line in log.splitlines()) == 1, log[-3000:]
    assert "Retrying" not in log


def test_unreachable_api_at_start_joins_nothing_until_it_can_read(
    cluster: tuple[Cluster, Path], tmp_path: Path
) -> None:
    c, kubeconfig = cluster
    c.seed_web()
    c.kube.cp.stop_apiserver()
    try:
        with SpeakerProcess(tmp_path, kubeconfig, c.ns) as sp:
            try:
                sp.until("metrics served", lambda: sp.samples("ironlb_config_loaded_bool"))
                time.sleep(1.0)  # a while unable to read the cluster
                assert sp.announced() == set()
                members = [v for _, v in sp.samples("ironlb_membership_members")]
                assert members in ([], [0.0]), "joined the membership before reading the cluster"
            finally:
                c.kube.cp.start_apiserver()
            sp.until("announced once the API answers", lambda: sp.announced() == {c.web}, timeout=30)
            assert sp.stop(signal.SIGTERM) == 0
    finally:
        if not c.kube.cp.apiserver or not c.kube.cp.apiserver.alive():
            c.kube.cp.start_apiserver()
    assert "Traceback" not in sp.log()


def test_a_taken_metrics_port_is_one_line_and_exit_1(cluster: tuple[Cluster, Path], tmp_path: Path) -> None:
    c, kubeconfig = cluster
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    with SpeakerProcess(tmp_path / "first", kubeconfig, c.ns) as first:
        first.until("the first one serving", lambda: first.get("/healthz"))
        second = SpeakerProcess(tmp_path / "second", kubeconfig, c.ns)
        second.argv[second.argv.index("--metrics-address") + 1] = f"127.0.0.1:{first.metrics_port}"
        with second:
            assert second.proc is not None
            assert second.proc.wait(30) == 1
        log = second.log()
        assert "Traceback" not in log, log
        (line,) = [line for line in log.splitlines() if " ERROR " in line]
        assert f"cannot listen on 127.0.0.1:{first.metrics_port}" in line and "--metrics-address" in line


def test_a_bgp_peer_whose_password_secret_is_missing_is_reported_and_the_last_good_config_kept(
    cluster: tuple[Cluster, Path], tmp_path: Path
) -> None:
    """A BGPPeer's ``passwordSecret`` is read from the Secret of ironlb's namespace; while it is
    missing the speaker names the peer, field and Secret on its ConfigurationState and keeps
    announcing with the last good config; once the Secret exists the config is in force."""
    c, kubeconfig = cluster
    c.seed_web_and_old()
    peer = {
        "apiVersion": "ironlb.io/v1beta1",
        "kind": "BGPPeer",
        "metadata": {"name": "edge"},
        "spec": {
            "myASN": 64500,
            "peerASN": 64501,
            "peerAddress": "192.0.2.254",
            "passwordSecret": {"name": "bgp-edge"},
        },
    }
    objects = client.CustomObjectsApi(c.kube.api)
    with SpeakerProcess(tmp_path, kubeconfig, c.ns) as sp:
        sp.until("both announced", lambda: sp.announced() == {c.web, c.old})
        objects.create_namespaced_custom_object("ironlb.io", "v1beta1", c.ns, "bgppeers", peer)

        def status(result: str) -> Any:
            got = configuration_state(c, "speaker-n1").get("status") or {}
            return got.get("result") == result and got

        invalid = sp.until("the missing Secret reported", lambda: status("Invalid"))
        assert invalid["configInForce"] == "LastGood" and invalid["inForce"]["peers"] == []
        assert invalid["errors"] == [
            {
                "object": f"BGPPeer {c.ns}/edge",
                "fieldPath": "spec.passwordSecret",
                "message": f"Secret {c.ns}/bgp-edge not found",
            }
        ]
        assert sp.announced() == {c.web, c.old} and sp.proc is not None and sp.proc.poll() is None
        c.core.create_namespaced_secret(
            c.ns,
            {
                "metadata": {"name": "bgp-edge"},
                "type": "kubernetes.io/basic-auth",
                "stringData": {"password": "not-in-any-message"},
            },
        )
        valid = sp.until("the peer in force once its Secret exists", lambda: status("Valid"))
        assert valid["inForce"]["peers"] == ["edge"] and valid["errors"] == []
        assert sp.stop(signal.SIGTERM) == 0, sp.log()[-3000:]
    assert "not-in-any-message" not in sp.log()
    assert "Traceback" not in sp.log(), sp.log()[-3000:]
