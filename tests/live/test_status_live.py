"""``ironlb status`` on the real API server, with the real controller and three real speakers.

Who announces each Service is what the speakers publish (their metrics), checked against what
each speaker's own metrics say; why a Service has no IP is the controller's Event; a speaker
that stops is shown as not answering, and the Service it owned as announced by the node that
took over.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.live.conftest import Live
from tests.live.speakers import NO_INTERFACE, Speakers
from tests.support.waiting import wait_for


def _owners(speakers: Speakers, addresses: dict[str, str]) -> dict[str, list[str]]:
    """Per IP, the nodes whose own metrics say they announce it (read here, not by ironlb status)."""
    owners: dict[str, list[str]] = {}
    for node, address in addresses.items():
        if node not in speakers.procs:
            continue
        url = f"http://{address}:{speakers.metrics_port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                text = resp.read().decode()
        except OSError:
            continue
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == "ironlb_speaker_announced" and s.value == 1:
                    owners.setdefault(s.labels["ip"], []).append(node)
    return owners


def _speaker_pod(live: Live, node: str, address: str, ready: bool) -> None:
    """A speaker Pod as the DaemonSet makes it, Ready as the kubelet would say (no kubelet runs here)."""
    core = live.kube.core
    name = f"speaker-{node[-2:]}"
    labels = {"app.kubernetes.io/name": "ironlb", "app.kubernetes.io/component": "speaker"}
    spec = {
        "nodeName": node,
        "serviceAccountName": "speaker",
        "automountServiceAccountToken": False,
        "hostNetwork": True,
        "containers": [{"name": "speaker", "image": "ironlb"}],
    }
    try:
        core.create_namespaced_pod(live.ns, {"metadata": {"name": name, "labels": labels}, "spec": spec})
    except Exception as exc:  # already there: only its status changes
        if "AlreadyExists" not in str(exc):
            raise
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    status = {"phase": "Running", "podIP": address, "hostIP": address, "conditions": [condition]}
    core.patch_namespaced_pod_status(name, live.ns, {"status": status})


def _status(live: Live, speakers: Speakers, *extra: str) -> dict[str, Any]:
    run = live.ironlb("status", "--metrics-port", str(speakers.metrics_port), "-o", "json", *extra)
    assert run.code == 0, run.stderr
    doc: dict[str, Any] = json.loads(run.stdout)
    return doc


def test_status_shows_the_owner_each_speaker_publishes_and_follows_a_failover(
    live: Live, speakers: Speakers
) -> None:
    nodes = live.add_nodes(3, prefix="127.0.0.1")  # InternalIPs 127.0.0.11, .12, .13
    addresses = {n: f"127.0.0.1{i}" for i, n in enumerate(nodes, 1)}
    pool = {"name": "l2", "protocol": "layer2", "addresses": ["10.220.0.0/30"]}
    live.set_config({"address-pools": [pool], "l2": {"interfaces": [NO_INTERFACE]}})
    names = ["a", "b", "c", "d", "e"]  # four IPs: one Service gets none
    for name in names:
        live.service(name)
    ctl = live.controller()
    live.settled(ctl, lambda ips: len(ips) == 5 and sum(bool(v) for v in ips.values()) == 4)
    ips = live.ips()
    (waiting,) = [n for n, v in ips.items() if not v]
    for node, address in addresses.items():
        speakers.start(node, address)
    wait_for(
        lambda: (o := _owners(speakers, addresses)) and len(o) == 4 and all(len(v) == 1 for v in o.values()),
        timeout=45,
        what="every IP announced by exactly one speaker",
    )
    _speaker_pod(live, nodes[0], addresses[nodes[0]], ready=True)

    # The speakers publish what they announce (ServiceL2Status): status reads that, not the config.
    doc = wait_for(
        lambda: (
            (d := _status(live, speakers))
            and all(s["source"].startswith("status objects (") for s in d["services"] if s["ips"])
            and d
        ),
        timeout=30,
        what="every Service with an IP shown from its status object",
    )
    owners = _owners(speakers, addresses)
    by_name = {s["name"]: s for s in doc["services"]}
    for name, (ip, *_) in ((n, v) for n, v in ips.items() if v):
        s = by_name[name]
        assert s["ips"] == [ip] and s["pool"] == "l2"
        assert s["announced_by"] == [
            {
                "node": owners[ip][0],
                "protocol": "layer2",
                "ips": [ip],
                "interfaces": [],  # the config's interface does not exist: answered on none
                "interfaces_source": "status object",
            }
        ]
        assert "IPAllocated" in [e["reason"] for e in s["events"]]
        assert "nodeAssigned" in [e["reason"] for e in s["events"]]
    lost = by_name[waiting]
    assert lost["ips"] == [] and "no available IPs" in lost["no_ip"]["reason"]
    assert lost["no_ip"]["source"].startswith("event AllocationFailed")
    assert {n["node"]: (n["speaker"], n["membership_members"]) for n in doc["nodes"]} == {
        n: ("ready", 3) for n in nodes
    }
    sources = {n["node"]: n["speaker_source"] for n in doc["nodes"]}
    assert sources[nodes[0]].startswith("Pod speaker-") and sources[nodes[1]] == "its /readyz"

    one = _status(live, speakers, f"{live.ns}/{names[0]}")
    assert [s["name"] for s in one["services"]] == [names[0]]
    table = live.ironlb("status", "--metrics-port", str(speakers.metrics_port))
    assert table.code == 0 and "status objects (" in table.stdout

    # The owner of the first Service stops (a graceful leave): another node takes its IP over.
    name, ip = next((n, v[0]) for n, v in sorted(ips.items()) if v)
    gone = owners[ip][0]
    speakers.stop(gone)
    if gone == nodes[0]:
        _speaker_pod(live, gone, addresses[gone], ready=False)
    wait_for(
        lambda: (o := _owners(speakers, addresses)).get(ip) and o[ip][0] != gone,
        timeout=30,
        what=f"{ip} taken over from {gone}",
    )
    new_owner = _owners(speakers, addresses)[ip]
    after = wait_for(
        lambda: (
            (d := _status(live, speakers, f"{live.ns}/{name}"))
            and [a["node"] for a in d["services"][0]["announced_by"]] == new_owner
            and d
        ),
        timeout=30,
        what="the new owner's status object shown",
    )
    (s,) = after["services"]
    assert s["source"].startswith("status objects (")
    node = {n["node"]: n for n in after["nodes"]}[gone]
    assert node["metrics_error"] and node["membership_members"] is None
    assert node["speaker"] != "ready"
    assert {n["membership_members"] for n in after["nodes"] if n["node"] != gone} == {2}
    assert live.ironlb("status", f"{live.ns}/no-such").code == 1
    assert live.ironlb("status", "no-slash").code == 2


def test_status_reads_the_config_from_the_ironlb_io_resources_too(live: Live) -> None:
    """No ConfigMap, a pool and an advertisement as resources: status names them as the config in force
    and computes from them why a Service has no IP (no controller runs, so no Event says it)."""
    from kubernetes import client

    custom = client.CustomObjectsApi(live.kube.api)
    meta = {"name": "shop", "namespace": live.ns}
    pool = {"apiVersion": "ironlb.io/v1beta1", "kind": "IPAddressPool", "metadata": meta}
    custom.create_namespaced_custom_object(
        "ironlb.io", "v1beta1", live.ns, "ipaddresspools", {**pool, "spec": {"addresses": ["10.220.0.0/30"]}}
    )
    advertisement = {"apiVersion": "ironlb.io/v1beta1", "kind": "L2Advertisement", "metadata": meta}
    custom.create_namespaced_custom_object("ironlb.io", "v1beta1", live.ns, "l2advertisements", advertisement)
    live.service("far", {"ironlb.io/loadBalancerIPs": "10.99.0.5"})
    run = live.ironlb("status", "--no-metrics", "-o", "json")
    assert run.code == 0, run.stderr
    doc = run.json()
    assert doc["config"] == f"2 ironlb.io resources in {live.ns}, 1 pool"
    (far,) = doc["services"]
    assert far["no_ip"] == {
        "reason": "requested IP 10.99.0.5 is not in any pool",
        "source": "computed from the config (no event says why)",
    }
    plan = live.ironlb("plan")
    assert f"planning the config in force (2 ironlb.io resources in {live.ns})" in plan.stderr
