"""The speaker's RBAC scenario, run inside a network namespace of the test's own.

``python -m tests.install.speaker_scenario WORKDIR`` (under ``ip netns exec``): starts the
API double on the namespace's loopback with a token holding only the speaker's grants
(``WORKDIR/grants.json``), seeds a Node, the config, a Service with its IP and a ready
endpoint, runs the speaker as the rendered DaemonSet starts it (``WORKDIR/daemonset.json``),
drives it through an announcement, a withdrawal and the same announcement again (the
repeated Event is patched), stops it with SIGTERM and writes the double's request log
to ``WORKDIR/result.json``. In its own namespace the speaker's raw sockets, membership
port and metrics port touch nothing outside.
"""

from __future__ import annotations

import json
import signal
import sys
import traceback
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from tests.kubeapi import KubeApiServer, by_plural

from .rendering import NAMESPACE, Obj
from .scenario import Program, command_line, wait_for

APPS = "apps"
NODE = "node1"
IP = "192.0.2.1"
TIMEOUT = 30.0
MERGE = "application/merge-patch+json"
CONFIG = {"address-pools": [{"name": "default", "protocol": "layer2", "addresses": ["192.0.2.0/28"]}]}


def _objects() -> dict[str, list[Obj]]:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE}},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ironlb", "namespace": NAMESPACE},
        "data": {"config": yaml.safe_dump(CONFIG)},
    }
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": APPS},
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": IP}]}},
    }
    return {"node": [node], "configmap": [cm], "service": [svc], "endpointslice": [_slice(ready=True)]}


def _slice(*, ready: bool) -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "web-x7k2p", "namespace": APPS, "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": ready}, "nodeName": NODE}],
        "ports": [{"port": 80, "protocol": "TCP"}],
    }


def run(workdir: Path) -> dict[str, Any]:
    grants = [tuple(g) for g in json.loads((workdir / "grants.json").read_text())]
    daemonset = json.loads((workdir / "daemonset.json").read_text())
    argv, env = command_line(daemonset, "speaker", {"spec.nodeName": NODE, "metadata.namespace": NAMESPACE})
    key = workdir / "secretkey"
    key.write_text("0123456789abcdef0123456789abcdef")
    argv.append(f"--membership-key-file={key}")  # the Secret's file, elsewhere
    # ExaBGP's files: the default /run/ironlb/bgp-NODE is shared by every netns on this host.
    argv.append(f"--bgp-workdir={workdir / 'bgp'}")
    metrics_port = int(
        next(
            p["containerPort"]
            for c in daemonset["spec"]["template"]["spec"]["containers"]
            for p in c["ports"]
            if p["name"] == "metrics"
        )
    )
    container = next(c for c in daemonset["spec"]["template"]["spec"]["containers"] if c["name"] == "speaker")
    probes = sorted(container[k]["httpGet"]["path"] for k in ("livenessProbe", "readinessProbe"))
    slices = by_plural("endpointslices", "discovery.k8s.io")
    events = by_plural("events")
    api = KubeApiServer(tokens={"speaker": grants}).start()
    out: dict[str, Any] = {"error": None, "output": ""}
    try:
        objs = _objects()
        api.store.create(by_plural("nodes"), None, objs["node"][0])
        api.store.create(by_plural("configmaps"), NAMESPACE, objs["configmap"][0])
        api.store.create(by_plural("services"), APPS, objs["service"][0], keep_status=True)
        api.store.create(slices, APPS, objs["endpointslice"][0])
        env["KUBECONFIG"] = str(api.write_kubeconfig(workdir / "kubeconfig", token="speaker"))

        def assigned() -> list[Obj]:
            return [e for e in api.store.list_objects(events, APPS) if e.get("reason") == "nodeAssigned"]

        def announced() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as resp:
                    text = resp.read().decode()
            except OSError:
                return False
            return any(
                line.startswith("ironlb_speaker_announced{")
                and f'ip="{IP}"' in line
                and line.endswith(" 1.0")
                for line in text.splitlines()
            )

        def refused() -> str | None:
            denied = [r for r in api.requests() if r.code in (401, 403)]
            return f"requests refused: {denied}" if denied else None

        with Program(argv, env, workdir / "speaker.log") as prog:
            try:
                wait_for(f"{IP} announced", announced, TIMEOUT, prog.proc, refused)
                wait_for("nodeAssigned", assigned, TIMEOUT, prog.proc, refused)
                # The kubelet's probes, on the paths and port the manifest names.
                for path in probes:
                    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}{path}", timeout=5) as resp:
                        assert resp.status == 200, path
                # Endpoint gone (eTP Local): withdrawn; back: announced again, same Event, patched.
                api.store.replace(slices, APPS, "web-x7k2p", _slice(ready=False))
                wait_for("the announcement withdrawn", lambda: not announced(), TIMEOUT, prog.proc, refused)
                api.store.replace(slices, APPS, "web-x7k2p", _slice(ready=True))
                wait_for(
                    "the repeated nodeAssigned counted",
                    lambda: any(e.get("count", 1) >= 2 for e in assigned()),
                    TIMEOUT,
                    prog.proc,
                    refused,
                )
                out["exit"] = prog.stop(signal.SIGTERM)
            finally:
                out["output"] = prog.output()[-6000:]
    except Exception:
        out["error"] = traceback.format_exc()
    finally:
        out["requests"] = [asdict(r) for r in api.requests()]
        api.stop()
    return out


def main(argv: list[str]) -> int:
    workdir = Path(argv[0])
    result = run(workdir)
    (workdir / "result.json").write_text(json.dumps(result))
    return 0 if result["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
