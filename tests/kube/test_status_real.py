"""``ServiceWriter`` on the real API server: the IP and its pool annotation in one ``/status`` write.

The single write relies on the API server's status strategy for Services keeping metadata
(labels, annotations) sent to ``/status``; this checks it where it matters, on kube-apiserver.
"""

from __future__ import annotations

import json
from contextlib import closing
from typing import Any

from ironlb.kube.client import make_api_client
from ironlb.kube.status import ServiceWriter
from tests.support.pytest_plugin import Kube

POOL = "ironlb.io/ip-allocated-from-pool"


def _read(kube: Kube, name: str) -> Any:
    return json.loads(kube.core.read_namespaced_service(name, kube.ns, _preload_content=False).data)


def test_one_status_write_sets_and_clears_the_ip_and_its_pool(kube: Kube) -> None:
    spec = {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False, "ports": [{"port": 80}]}
    kube.core.create_namespaced_service(kube.ns, {"metadata": {"name": "web"}, "spec": spec})
    user = kube.user("writer")
    with closing(make_api_client(str(kube.kubeconfig("writer")))) as api:
        writer = ServiceWriter(api)
        written = writer.write(_read(kube, "web"), ips=["192.0.2.7"], annotations={POOL: "main"})
        stored = _read(kube, "web")
        for obj in (written, stored):
            assert obj["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.7", "ipMode": "VIP"}]
            assert obj["metadata"]["annotations"] == {POOL: "main"}
        assert writer.write(stored, ips=["192.0.2.7"], annotations={POOL: "main"}) is stored  # no request
        cleared = writer.write(stored, ips=[], annotations={POOL: None})
    assert cleared["status"]["loadBalancer"] == {} and not cleared["metadata"].get("annotations")
    writes = [(r.verb, r.rbac_resource, r.code) for r in kube.audit(user) if r.write]
    assert writes == [("patch", "services/status", 200), ("patch", "services/status", 200)]
