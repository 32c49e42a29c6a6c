"""Status objects of 1,000 Services on 3 nodes, on a real kube-apiserver: how fast a change is written,
and how many writes an unchanged state costs.

Run (under the heavy-run lock)::

    KUBEBUILDER_ASSETS=/root/.cache/ironlb/k8s flock /tmp/ironlb-heavy.lock \\
        .venv/bin/python benchmarks/status_objects.py [--services 1000] [--nodes 3]

A fresh etcd + kube-apiserver with ironlb's CRDs and N LoadBalancer Services (their uids are
the objects' owners). Each node is one speaker's status path exactly as the speaker runs it:
``speaker.statusobjects.ServiceStatusObjects`` (from announcements to objects) feeding its own
``ironlb.kube.statusobjects.StatusObjectPublisher`` (informers on its own objects, work queue,
worker threads) over its own API client. Each Service is answered by layer 2 from the node the
election picks among the live ones, on ``eth0``; every tenth is also announced by BGP from every
node (ECMP) to two peers. Prints, per phase, the time from ``update`` (what the speaker calls
after a reconcile) until every publisher is idle with the server holding exactly the wanted
objects, and the API writes it took:

1. cold start: every object created and its status written;
2. a node fails: its Services' layer-2 objects move to the others (deleted there, created here);
3. where changes: every layer-2 object gains an interface (one status patch each);
4. nothing changes: the same announcements handed over again, rebuilt from scratch, 20 times,
   and a watch reconnect (informers relist) -- the writes counted by the publishers and checked
   on the server (no object's resourceVersion moved). Goal: 0.

Goal for 2 and 3: within 5 s.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ctlmeasure import cpu_seconds
from kubernetes import client

from ironlb.announce import layer2
from ironlb.announce.inputs import Announcement
from ironlb.kube.statusobjects import StatusObjectPublisher
from ironlb.statusobjects.service import desired_objects
from speaker.statusobjects import ServiceStatusObjects, service_owners
from tests.support.controlplane import ControlPlane, assets_problem

ROOT = Path(__file__).resolve().parents[1]


GROUP, VERSION = "ironlb.io", "v1beta1"
PLURALS = ("servicel2statuses", "servicebgpstatuses")


def lb(name: str) -> dict[str, Any]:
    spec = {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False, "ports": [{"port": 80}]}
    return {"metadata": {"name": name}, "spec": spec}


def announcements(
    ns: str, n: int, nodes: list[str], live: list[str], interfaces: tuple[str, ...]
) -> dict[str, list[Announcement]]:
    """What each node announces: layer 2 from the elected owner, BGP from every live node for every tenth."""
    out: dict[str, list[Announcement]] = {node: [] for node in nodes}
    for i in range(n):
        ip = ipaddress.ip_address(0xC6120000 + i)  # 198.18.0.0/15
        key = f"{ns}/s-{i:05d}"
        owner = layer2.owner(ip, live)
        assert owner is not None
        out[owner].append(Announcement(key, "layer2", owner, ip, via=interfaces))
        if i % 10 == 0:
            for node in live:
                out[node].append(Announcement(key, "bgp", node, ip, via=("spine-a", "spine-b")))
    return out


def server_objects(custom: Any, ns: str) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for plural in PLURALS:
        for o in custom.list_namespaced_custom_object(GROUP, VERSION, ns, plural)["items"]:
            found[(o["kind"], o["metadata"]["name"])] = o
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--nodes", type=int, default=3)
    args = ap.parse_args()
    if assets_problem():
        print(assets_problem(), file=sys.stderr)
        return 2
    n, nodes = args.services, [f"node-{c}" for c in "abcdefgh"[: args.nodes]]
    with ControlPlane(audit=False) as cp:
        cp.install_crds(sorted((ROOT / "config" / "crd" / "bases").glob("ironlb.io_service*.yaml")))
        admin = cp.admin_client()
        core, custom = client.CoreV1Api(admin), client.CustomObjectsApi(admin)
        ns = cp.new_namespace("status")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: core.create_namespaced_service(ns, lb(f"s-{i:05d}")), range(n)))
        services = core.list_namespaced_service(ns, _preload_content=False)
        service_objects = json.loads(services.data)["items"]
        owners = service_owners(service_objects, {f"{ns}/s-{i:05d}" for i in range(n)})
        clients = [cp.admin_client() for _ in nodes]
        pubs = {
            node: StatusObjectPublisher(api, node).start() for node, api in zip(nodes, clients, strict=True)
        }
        feeds = {node: ServiceStatusObjects(pub) for node, pub in pubs.items()}
        print(f"real kube-apiserver + etcd, {n} LoadBalancer Services, {len(nodes)} nodes; 2 shared cores")

        def server_cpu() -> float:
            return sum(cpu_seconds(pid) for pid in cp.pids.values())

        def writes() -> int:
            return sum(p.writes for p in pubs.values())

        def phase(what: str, plan: dict[str, list[Announcement]]) -> float:
            before = writes()
            s0, c0, t0 = server_cpu(), time.process_time(), time.perf_counter()
            for node, announced in plan.items():
                feeds[node].update(node, announced, service_objects)
            while not all(p.settled() for p in pubs.values()):
                time.sleep(0.005)
            took = time.perf_counter() - t0
            cpu, server = time.process_time() - c0, server_cpu() - s0
            want = {
                (kind, name)
                for node, announced in plan.items()
                for (kind, _, name) in desired_objects(node, announced, owners)
            }
            got = server_objects(custom, ns)
            assert set(got) == want, f"{what}: server has {len(got)} objects, wanted {len(want)}"
            print(
                f"  {what}: {took:6.2f} s, {writes() - before} writes, {len(got)} objects on the server; "
                f"CPU: speakers {cpu:.2f} s, API server + etcd {server:.2f} s"
            )
            return took

        while not all(p.synced for p in pubs.values()):
            time.sleep(0.01)
        everyone = announcements(ns, n, nodes, nodes, ("eth0",))
        phase("1. cold start (create + status of every object)", everyone)
        lost = announcements(ns, n, nodes, nodes[1:], ("eth0",))
        lost[nodes[0]] = []
        moved = phase(f"2. {nodes[0]} fails, its objects move to the others", lost)
        wider = announcements(ns, n, nodes, nodes[1:], ("eth0", "eth1"))
        wider[nodes[0]] = []
        patched = phase("3. every layer-2 object gains an interface", wider)

        versions = {k: o["metadata"]["resourceVersion"] for k, o in server_objects(custom, ns).items()}
        before = writes()
        t0 = time.perf_counter()
        for _ in range(20):
            again = announcements(ns, n, nodes, nodes[1:], ("eth0", "eth1"))
            again[nodes[0]] = []
            for node, announced in again.items():
                feeds[node].update(node, announced, service_objects)
        rebuilt = time.perf_counter() - t0
        for pub in pubs.values():  # a watch reconnect: the informers list again
            for informer in pub.informers.values():
                informer.stop()
        reconnected = {
            node: StatusObjectPublisher(api, node).start() for node, api in zip(nodes, clients, strict=True)
        }
        for node, pub in reconnected.items():
            while not pub.synced:
                time.sleep(0.01)
            ServiceStatusObjects(pub).update(node, again[node], service_objects)
        time.sleep(2.0)
        while not all(p.settled() for p in reconnected.values()):
            time.sleep(0.01)
        idle_writes = writes() - before + sum(p.writes for p in reconnected.values())
        after = {k: o["metadata"]["resourceVersion"] for k, o in server_objects(custom, ns).items()}
        moved_rv = sum(after.get(k) != v for k, v in versions.items())
        print(
            f"  4. nothing changed (20 hand-overs, {rebuilt / 20 * 1000:.1f} ms each for all {len(nodes)} "
            f"nodes, then a restart of every publisher): {idle_writes} writes, "
            f"{moved_rv} resourceVersions moved"
        )
        print(
            f"goal: a change written within 5 s -> node failure {moved:.2f} s, "
            f"interface change {patched:.2f} s; no write when nothing changed -> {idle_writes}"
        )
        for pub in [*pubs.values(), *reconnected.values()]:
            pub.close()
        for api in [admin, *clients]:
            api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
