"""Pure parts of the lab system: which Service IPs a node serves, Node objects, the services table."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import yaml

from ironlb.cluster.manifests import ManifestSource
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.lab.fixture import topology_path
from ironlb.lab.nodeagent import served
from ironlb.lab.system import kubernetes_nodes, node_object, services_table
from ironlb.lab.topology import load_topology
from tests.e2e.helpers import service

ip = ipaddress.ip_address


def snapshot(*objs: dict[str, Any]) -> ClusterSnapshot:
    return ClusterSnapshot(
        services=tuple(o for o in objs if o["kind"] == "Service"),  # type: ignore[misc]
        endpoint_slices=tuple(o for o in objs if o["kind"] == "EndpointSlice"),  # type: ignore[misc]
    )


def with_ingress(objs: list[dict[str, Any]], *ips: str) -> list[dict[str, Any]]:
    objs[0]["status"] = {"loadBalancer": {"ingress": [{"ip": i} for i in ips]}}
    return objs


def test_cluster_policy_serves_lb_and_cluster_ips_on_every_node() -> None:
    snap = snapshot(*with_ingress(service("web", "10.96.0.10", ["node2"]), "198.51.100.1"))
    for node in ("node1", "node2"):
        assert served(node, snap) == {
            (ip("198.51.100.1"), 80): "default/web",
            (ip("10.96.0.10"), 80): "default/web",
        }


def test_local_policies_serve_only_where_an_endpoint_is_ready() -> None:
    objs = with_ingress(
        service("web", "10.96.0.10", ["node2"], spec={"externalTrafficPolicy": "Local",
                                                     "internalTrafficPolicy": "Local"}),
        "198.51.100.1",
    )  # fmt: skip
    assert served("node1", snapshot(*objs)) == {}
    assert set(served("node2", snapshot(*objs))) == {(ip("198.51.100.1"), 80), (ip("10.96.0.10"), 80)}


def test_no_ready_endpoint_or_no_ip_serves_nothing_extra() -> None:
    objs = service("web", "10.96.0.10", ["node1"])
    objs[1]["endpoints"][0]["conditions"]["ready"] = False
    assert served("node1", snapshot(*objs)) == {}
    pending = service("web", "10.96.0.10", ["node1"])  # no LoadBalancer IP yet: only the ClusterIP
    assert served("node1", snapshot(*pending)) == {(ip("10.96.0.10"), 80): "default/web"}


def test_kubernetes_nodes_come_from_the_topology_label() -> None:
    for name in ("bgp-ecmp", "bgp-ecmp-bird", "dual-stack", "layer2"):
        path = topology_path(name)
        assert kubernetes_nodes(load_topology(path)) == ["node1", "node2", "node3"], name
        assert (path.parent / "ironlb" / "config.yaml").is_file(), name  # the lab's own ConfigMap


def test_node_object_lists_internal_ips_and_is_ready() -> None:
    node = node_object("node1", [ip("172.30.0.11"), ip("fd00:30::11")])
    assert node["status"]["addresses"] == [
        {"type": "InternalIP", "address": "172.30.0.11"},
        {"type": "InternalIP", "address": "fd00:30::11"},
    ]
    assert node["metadata"]["name"] == "node1"


def test_services_table_shows_pending_and_assigned(tmp_path: Path) -> None:
    objs = [*service("web", "10.96.0.10", []), *with_ingress(service("db", "10.96.0.11", []), "198.51.100.7")]
    (tmp_path / "s.yaml").write_text(yaml.safe_dump_all(objs))
    lines = services_table(ManifestSource([tmp_path])).splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"]
    assert lines[1].split() == ["default", "db", "LoadBalancer", "10.96.0.11", "198.51.100.7", "80/TCP"]
    assert lines[2].split() == ["default", "web", "LoadBalancer", "10.96.0.10", "<pending>", "80/TCP"]
