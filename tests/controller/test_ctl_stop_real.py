"""The controller on the real API server, stopped with SIGTERM amid a backlog: no Event is lost.

Each allocation is one write (IP and pool annotation together) followed by its
``IPAllocated`` Event; a graceful stop sends the Events still queued before the process
exits, so every Service that shows an IP also has its Event.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.controller.conftest import free_port
from tests.support.pytest_plugin import Kube
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
POOL = "ironlb.io/ip-allocated-from-pool"
BACKLOG = 400


def _services(kube: Kube) -> dict[str, dict[str, Any]]:
    items = json.loads(kube.core.list_namespaced_service(kube.ns, _preload_content=False).data)["items"]
    return {o["metadata"]["name"]: o for o in items}


def _allocated(kube: Kube) -> dict[str, dict[str, Any]]:
    return {n: o for n, o in _services(kube).items() if (o.get("status") or {}).get("loadBalancer")}


def test_sigterm_amid_a_backlog_loses_no_event_and_writes_once_per_allocation(kube: Kube) -> None:
    lb_class = f"ironlb.io/{kube.ns}"  # only this test's Services: the server is shared
    config = "address-pools:\n- name: main\n  protocol: layer2\n  addresses: [198.18.0.0/16]\n"
    kube.core.create_namespaced_config_map(
        kube.ns, {"metadata": {"name": "ironlb"}, "data": {"config": config}}
    )
    spec = {"type": "LoadBalancer", "loadBalancerClass": lb_class, "allocateLoadBalancerNodePorts": False}

    def create(i: int) -> None:
        body = {"metadata": {"name": f"s-{i:03d}"}, "spec": {**spec, "ports": [{"port": 80}]}}
        kube.core.create_namespaced_service(kube.ns, body, _preload_content=False).read()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(BACKLOG)))
    log = open(kube.tmp / "controller.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller",
            f"--kubeconfig={kube.kubeconfig('controller')}",
            f"--namespace={kube.ns}",
            f"--lb-class={lb_class}",
            f"--metrics-address=127.0.0.1:{free_port()}",
            "--identity=stop-test",
            "--membership-secret=",
        ],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: len(_allocated(kube)) >= BACKLOG // 2, 120, "half the backlog allocated")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    allocated = _allocated(kube)
    assert allocated, (kube.tmp / "controller.log").read_text()
    assert all(o["metadata"]["annotations"][POOL] == "main" for o in allocated.values())
    events = json.loads(kube.core.list_namespaced_event(kube.ns, _preload_content=False).data)["items"]
    announced = {e["involvedObject"]["name"] for e in events if e["reason"] == "IPAllocated"}
    assert set(allocated) <= announced, f"{len(set(allocated) - announced)} Events lost on SIGTERM"
    user = kube.user("controller")
    writes = [r for r in kube.audit(user) if r.write and r.resource == "services"]
    assert sorted(r.name for r in writes) == sorted(allocated)  # one write per allocation
    assert {r.rbac_resource for r in writes} == {"services/status"}
