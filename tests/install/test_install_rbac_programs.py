"""Each program, started as its manifest starts it and holding only its ServiceAccount's
grants, does its whole job against the API double; its request log is then audited:
every request allowed, every grant used, cluster-wide grants only where needed.

The scenarios drive every API call the code can make (``test_install_rbac`` lists them
statically); a call that no scenario reaches shows up as an unused grant here.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ironlb.lab import netns
from tests.kubeapi import KubeApiServer, RequestRecord, by_plural

from .rbac import audit, grants_for
from .rendering import NAMESPACE, ROOT, Obj, container, one
from .scenario import (
    Program,
    accesses,
    command_line,
    free_port,
    token_grants,
    wait_for,
)

APPS = "apps"
TIMEOUT = 30.0
MERGE = "application/merge-patch+json"
SERVICES, CONFIGMAPS, EVENTS, LEASES, SECRETS = (
    by_plural("services"),
    by_plural("configmaps"),
    by_plural("events"),
    by_plural("leases", "coordination.k8s.io"),
    by_plural("secrets"),
)
MEMBERSHIP_SECRET = "ironlb-memberlist"


def _configmap(config: dict[str, Any], comment: str = "") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ironlb", "namespace": NAMESPACE},
        "data": {"config": f"# {comment}\n" + yaml.safe_dump(config)},
    }


GOOD = {"address-pools": [{"name": "default", "protocol": "layer2", "addresses": ["192.0.2.0/28"]}]}
BAD = {"address-pools": [{"name": "default", "protocol": "layer2", "addresses": ["192.0.2.0/33"]}]}


def _service(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": APPS},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }


def _events(api: KubeApiServer, namespace: str, reason: str, about: str) -> list[Obj]:
    return [
        e
        for e in api.store.list_objects(EVENTS, namespace)
        if e.get("reason") == reason and e.get("involvedObject", {}).get("name") == about
    ]


def _secret(api: KubeApiServer, name: str) -> Obj | None:
    try:
        return api.store.get(SECRETS, NAMESPACE, name)
    except Exception:
        return None


def _refused(api: KubeApiServer) -> str | None:
    denied = [r for r in api.requests() if r.code in (401, 403)]
    return f"requests refused: {denied}" if denied else None


def test_controller_needs_exactly_its_grants(rendered: list[Obj], tmp_path: Path) -> None:
    grants = grants_for(rendered, NAMESPACE, "controller")
    deployment = one(rendered, "Deployment", "controller")
    pod = "controller-5d8f7c9b4-x2x7q"
    argv, env = command_line(
        deployment, "controller", {"metadata.name": pod, "metadata.namespace": NAMESPACE}
    )
    # Same program, same flags; only the metrics port moves off 7472 so tests can run in parallel.
    port = free_port()
    argv.append(f"--metrics-address=127.0.0.1:{port}")
    probes = {
        probe["httpGet"]["path"]
        for probe in (container(deployment, "controller")[k] for k in ("livenessProbe", "readinessProbe"))
    }
    api = KubeApiServer(tokens={"controller": token_grants(grants)}).start()
    try:
        # No membership Secret yet: the leader creates it (a fresh install).
        assert _secret(api, MEMBERSHIP_SECRET) is None
        api.store.create(CONFIGMAPS, NAMESPACE, _configmap(GOOD))
        api.store.create(SERVICES, APPS, _service("web"))
        api.store.create(SERVICES, APPS, _service("outside", loadBalancerIP="198.51.100.7"))
        env["KUBECONFIG"] = str(api.write_kubeconfig(tmp_path / "kubeconfig", token="controller"))
        with Program(argv, env, tmp_path / "controller.log") as prog:

            def until(what: str, probe: Callable[[], Any]) -> Any:
                return wait_for(what, probe, TIMEOUT, prog.proc, lambda: _refused(api))

            def assigned() -> str | None:
                svc = api.store.get(SERVICES, APPS, "web")
                ingress = (svc.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
                pool = svc["metadata"].get("annotations", {}).get("ironlb.io/ip-allocated-from-pool")
                return ingress[0]["ip"] if ingress and pool == "default" else None

            with prog.explained():
                secret = until("the speakers' membership Secret", lambda: _secret(api, MEMBERSHIP_SECRET))
                assert len(base64.b64decode(secret["data"]["secretkey"])) == 64
                ip = until("web's IP in status and its pool annotation", assigned)
                assert ip.startswith("192.0.2.")
                # The kubelet's probes, on the paths the manifest names.
                for path in sorted(probes):
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
                        assert resp.status == 200, path
                until("IPAllocated", lambda: _events(api, APPS, "IPAllocated", "web"))
                until("AllocationFailed", lambda: _events(api, APPS, "AllocationFailed", "outside"))
                # Out of LoadBalancer and back: the same IP comes back with the same Event,
                # which the recorder patches (count) instead of creating again.
                api.store.patch(SERVICES, APPS, "web", MERGE, {"spec": {"type": "ClusterIP"}})
                until("ClearAssignment", lambda: _events(api, APPS, "ClearAssignment", "web"))
                api.store.patch(SERVICES, APPS, "web", MERGE, {"spec": {"type": "LoadBalancer"}})
                until(
                    "the repeated IPAllocated counted",
                    lambda: any(e.get("count", 1) >= 2 for e in _events(api, APPS, "IPAllocated", "web")),
                )
                # An invalid config, then another revision with the same errors: the second
                # Warning repeats the first, so the recorder patches its count.
                api.store.replace(CONFIGMAPS, NAMESPACE, "ironlb", _configmap(BAD, "first"))
                until(
                    "a Warning on the ConfigMap", lambda: _events(api, NAMESPACE, "ConfigInvalid", "ironlb")
                )
                api.store.replace(CONFIGMAPS, NAMESPACE, "ironlb", _configmap(BAD, "second"))
                until(
                    "the repeated Warning counted",
                    lambda: any(
                        e.get("count", 1) >= 2 for e in _events(api, NAMESPACE, "ConfigInvalid", "ironlb")
                    ),
                )
            code = prog.stop(signal.SIGTERM)
            assert code == 0, prog.output()[-4000:]
        lease = api.store.get(LEASES, NAMESPACE, "ironlb-controller")
        assert not lease["spec"].get("holderIdentity"), "the leader did not release its Lease on SIGTERM"
        log = api.requests()
    finally:
        api.stop()
    denied = [r for r in log if r.code in (401, 403)]
    assert not denied, f"requests refused: {denied}"
    result = audit(grants, accesses(log, "controller"), NAMESPACE)
    assert result.clean, result.report()


@pytest.mark.netns
def test_speaker_needs_exactly_its_grants(rendered: list[Obj], tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace (the speaker opens raw sockets)")
    daemonset = one(rendered, "DaemonSet", "speaker")
    grants = grants_for(rendered, NAMESPACE, "speaker")
    (tmp_path / "grants.json").write_text(json.dumps(token_grants(grants)))
    (tmp_path / "daemonset.json").write_text(json.dumps(daemonset))
    ns = f"ilbinst-{os.getpid()}"
    netns.add(ns)
    try:
        done = subprocess.run(
            netns.wrap(ns, [sys.executable, "-m", "tests.install.speaker_scenario", str(tmp_path)]),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        for pid in netns.pids(ns):  # only ours live in it; the scenario stops them itself
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        netns.delete(ns)
    result_file = tmp_path / "result.json"
    assert result_file.exists(), done.stderr[-4000:]
    result = json.loads(result_file.read_text())
    assert result["error"] is None, f"{result['error']}\n--- speaker output ---\n{result['output']}"
    assert result["exit"] == 0, result["output"]
    log = [RequestRecord(**r) for r in result["requests"]]
    denied = [r for r in log if r.code in (401, 403)]
    assert not denied, f"requests refused: {denied}"
    audit_result = audit(grants, accesses(log, "speaker"), NAMESPACE)
    assert audit_result.clean, audit_result.report()
