"""Least privilege, both ways, on the real API server with what ``config/default`` installs.

What ``kubectl kustomize config/default`` renders is applied to the session's real API server
(server-side apply). Each program then runs as its manifest starts it, with a token of its own
ServiceAccount (TokenRequest) and nothing else, through its whole job. The API server's audit
log, filtered by that ServiceAccount, is then checked against the rendered rules:

- nothing missing: not one request was refused (401/403) by the real RBAC authorizer;
- nothing unused: every rule of the ServiceAccount's Roles and ClusterRoles allowed at least one
  request (``rbac.audit``), and a cluster-wide grant is needed outside ironlb's namespace.

The scenarios drive every API call the code can make (``test_install_rbac`` lists them
statically); a call that no scenario reaches shows up as an unused grant here.
"""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.install.rbac import audit, grants_for
from tests.install.rendering import DEFAULT, NAMESPACE, Obj, container, kubectl, one
from tests.install.scenario import Program, accesses, command_line
from tests.support.controlplane import ControlPlane
from tests.support.daemons import free_port
from tests.support.pytest_plugin import Kube
from tests.support.waiting import wait_while_running

TIMEOUT = 30.0
MERGE = "application/merge-patch+json"
NO_INTERFACE = "ilbinst-none"  # the speaker runs on this host: its layer 2 must touch no interface
MEMBERSHIP_SECRET = "ironlb-memberlist"


@pytest.fixture(scope="module")
def installed(control_plane: ControlPlane, rendered: list[Obj]) -> list[Obj]:
    """The rendered default install, applied to the session's API server once."""
    exe = kubectl()
    assert exe is not None
    subprocess.run(
        [exe, "--kubeconfig", str(control_plane.admin_kubeconfig), "apply", "--server-side",
         "--field-manager", "ironlb-install-test", "-k", str(DEFAULT)],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return rendered


@pytest.fixture
def ironlb_system(kube: Kube, installed: list[Obj]) -> Iterator[Kube]:
    """``ironlb-system`` as installed; what a test leaves there (config, Lease, Secret,
    ConfigurationStates) goes after it. ConfigurationStates another test left go before it too:
    a program creates its own on a fresh install, and that ``create`` must be seen."""
    _delete_configuration_states(kube)
    try:
        yield kube
    finally:
        core = kube.core
        for delete in (
            lambda: core.delete_namespaced_config_map("ironlb", NAMESPACE),
            lambda: core.delete_namespaced_secret(MEMBERSHIP_SECRET, NAMESPACE),
            lambda: kube.coordination.delete_namespaced_lease("ironlb-controller", NAMESPACE),
        ):
            with suppress(Exception):
                delete()
        _delete_configuration_states(kube)


def _delete_configuration_states(kube: Kube) -> None:
    from kubernetes import client

    with suppress(Exception):
        client.CustomObjectsApi(kube.api).delete_collection_namespaced_custom_object(
            "ironlb.io", "v1beta1", NAMESPACE, "configurationstates"
        )


def _configmap(config: dict[str, Any], comment: str = "") -> Obj:
    return {
        "metadata": {"name": "ironlb", "namespace": NAMESPACE},
        "data": {"config": f"# {comment}\n" + yaml.safe_dump(config)},
    }


GOOD = {"address-pools": [{"name": "default", "protocol": "layer2", "addresses": ["192.0.2.0/28"]}]}
BAD = {"address-pools": [{"name": "default", "protocol": "layer2", "addresses": ["192.0.2.0/33"]}]}


def _service(name: str, **spec: Any) -> Obj:
    return {
        "metadata": {"name": name},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }


def _events(kube: Kube, namespace: str, reason: str, about: str) -> list[Obj]:
    items = json.loads(kube.core.list_namespaced_event(namespace, _preload_content=False).data)["items"]
    return [
        e for e in items if e.get("reason") == reason and e.get("involvedObject", {}).get("name") == about
    ]


def _read(fn: Callable[[], Any]) -> Obj | None:
    try:
        out: Obj = json.loads(fn().data)
    except Exception:
        return None
    return out


def _refused(kube: Kube, user: str) -> str | None:
    denied = [r for r in kube.audit(user) if r.code in (401, 403)]
    return f"requests refused: {denied}" if denied else None


def _least_privilege(kube: Kube, rendered: list[Obj], account: str) -> None:
    user = f"system:serviceaccount:{NAMESPACE}:{account}"
    log = kube.audit(user)
    assert log, f"no request of {user} in the audit log"
    assert not [r for r in log if r.code in (401, 403)], _refused(kube, user)
    result = audit(grants_for(rendered, NAMESPACE, account), accesses(log, user), NAMESPACE)
    assert result.clean, result.report()
    program = {"controller": "ironlb-controller", "speaker": "ironlb-speaker"}[account]
    assert {r.user_agent.split("/")[0] for r in log} == {program}


def test_controller_needs_exactly_its_grants(
    ironlb_system: Kube, installed: list[Obj], tmp_path: Path
) -> None:
    kube, apps = ironlb_system, ironlb_system.ns
    user = f"system:serviceaccount:{NAMESPACE}:controller"
    deployment = one(installed, "Deployment", "controller")
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
    core = kube.core
    # No membership Secret yet: the leader creates it (a fresh install).
    assert (
        _read(lambda: core.read_namespaced_secret(MEMBERSHIP_SECRET, NAMESPACE, _preload_content=False))
        is None
    )
    core.create_namespaced_config_map(NAMESPACE, _configmap(GOOD))
    core.create_namespaced_service(apps, _service("web"))
    core.create_namespaced_service(apps, _service("outside", loadBalancerIP="198.51.100.7"))
    env["KUBECONFIG"] = str(kube.cp.kubeconfig_for(NAMESPACE, "controller", path=tmp_path / "kubeconfig"))
    with Program(argv, env, tmp_path / "controller.log") as prog:

        def until(what: str, probe: Callable[[], Any]) -> Any:
            return wait_while_running(what, probe, TIMEOUT, prog.proc, lambda: _refused(kube, user))

        def assigned() -> str | None:
            svc = _read(lambda: core.read_namespaced_service("web", apps, _preload_content=False)) or {}
            ingress = (svc.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
            pool = svc.get("metadata", {}).get("annotations", {}).get("ironlb.io/ip-allocated-from-pool")
            return ingress[0]["ip"] if ingress and pool == "default" else None

        def secret() -> Obj | None:
            return _read(
                lambda: core.read_namespaced_secret(MEMBERSHIP_SECRET, NAMESPACE, _preload_content=False)
            )

        with prog.explained():
            made = until("the speakers' membership Secret", secret)
            assert len(base64.b64decode(made["data"]["secretkey"])) == 64
            ip = until("web's IP in status and its pool annotation", assigned)
            assert ip.startswith("192.0.2.")
            # The kubelet's probes, on the paths the manifest names.
            for path in sorted(probes):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
                    assert resp.status == 200, path
            until("IPAllocated", lambda: _events(kube, apps, "IPAllocated", "web"))
            until("AllocationFailed", lambda: _events(kube, apps, "AllocationFailed", "outside"))
            # Out of LoadBalancer and back: the same IP comes back with the same Event,
            # which the recorder patches (count) instead of creating again.
            core.patch_namespaced_service("web", apps, {"spec": {"type": "ClusterIP"}}, _content_type=MERGE)
            until("ClearAssignment", lambda: _events(kube, apps, "ClearAssignment", "web"))
            core.patch_namespaced_service(
                "web", apps, {"spec": {"type": "LoadBalancer"}}, _content_type=MERGE
            )
            until(
                "the repeated IPAllocated counted",
                lambda: any(e.get("count", 1) >= 2 for e in _events(kube, apps, "IPAllocated", "web")),
            )
            # An invalid config, then another revision with the same errors: the second
            # Warning repeats the first, so the recorder patches its count.
            core.replace_namespaced_config_map("ironlb", NAMESPACE, _configmap(BAD, "first"))
            until("a Warning on the ConfigMap", lambda: _events(kube, NAMESPACE, "ConfigInvalid", "ironlb"))
            core.replace_namespaced_config_map("ironlb", NAMESPACE, _configmap(BAD, "second"))
            until(
                "the repeated Warning counted",
                lambda: any(
                    e.get("count", 1) >= 2 for e in _events(kube, NAMESPACE, "ConfigInvalid", "ironlb")
                ),
            )
        code = prog.stop(signal.SIGTERM)
        assert code == 0, prog.output()[-4000:]
    lease = _read(
        lambda: kube.coordination.read_namespaced_lease(
            "ironlb-controller", NAMESPACE, _preload_content=False
        )
    )
    assert lease is not None and not lease["spec"].get("holderIdentity"), (
        "the Lease was not released on SIGTERM"
    )
    assert lease["spec"]["leaseTransitions"] == 0
    _least_privilege(kube, installed, "controller")


def _speaker_config(bgp_port: int) -> Obj:
    """Layer 2 on no real interface; BGP to a loopback port nobody listens on (the routes are
    decided, and the ServiceBGPStatus written, whether the session is up or not)."""
    routed = {"name": "routed", "protocol": "bgp", "addresses": ["198.51.100.0/28"]}
    peer = {"peer-address": "127.0.0.2", "peer-port": bgp_port, "peer-asn": 64512, "my-asn": 64513}
    config = {
        "address-pools": [*GOOD["address-pools"], routed],
        "peers": [peer],
        "l2": {"interfaces": [NO_INTERFACE]},
    }
    return {
        "metadata": {"name": "ironlb", "namespace": NAMESPACE},
        "data": {"config": yaml.safe_dump(config)},
    }


def _slice(*, ready: bool, service: str = "web") -> Obj:
    return {
        "metadata": {"name": f"{service}-x7k2p", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": ready}, "nodeName": "node1"}],
        "ports": [{"port": 80, "protocol": "TCP"}],
    }


def test_speaker_needs_exactly_its_grants(ironlb_system: Kube, installed: list[Obj], tmp_path: Path) -> None:
    """The speaker runs on this host (not in a pod): its config names no real interface, its
    membership and metrics listen on loopback, its ExaBGP files go to the test's directory."""
    kube, apps = ironlb_system, ironlb_system.ns
    user = f"system:serviceaccount:{NAMESPACE}:speaker"
    daemonset = one(installed, "DaemonSet", "speaker")
    argv, env = command_line(
        daemonset, "speaker", {"spec.nodeName": "node1", "metadata.namespace": NAMESPACE}
    )
    key = tmp_path / "secretkey"
    key.write_text("0123456789abcdef0123456789abcdef")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        membership_port = s.getsockname()[1]
    metrics_port = free_port()
    argv += [f"--membership-key-file={key}", f"--bgp-workdir={tmp_path / 'bgp'}"]
    argv += [f"--bfd-workdir={tmp_path / 'bfd'}", "--membership-bind=127.0.0.1"]
    argv += [f"--membership-port={membership_port}", f"--metrics-address=127.0.0.1:{metrics_port}"]
    probes = sorted(
        container(daemonset, "speaker")[k]["httpGet"]["path"] for k in ("livenessProbe", "readinessProbe")
    )
    core, discovery = kube.core, kube.discovery
    kube.create_node(
        {
            "metadata": {"name": "node1", "labels": {"kubernetes.io/hostname": "node1"}},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
    )
    core.create_namespaced_config_map(NAMESPACE, _speaker_config(free_port()))
    core.create_namespaced_service(apps, _service("web", externalTrafficPolicy="Local"))
    core.patch_namespaced_service_status(
        "web", apps, {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}
    )
    discovery.create_namespaced_endpoint_slice(apps, _slice(ready=True))
    core.create_namespaced_service(apps, _service("routed"))
    core.patch_namespaced_service_status(
        "routed", apps, {"status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.1"}]}}}
    )
    discovery.create_namespaced_endpoint_slice(apps, _slice(ready=True, service="routed"))
    env["KUBECONFIG"] = str(kube.cp.kubeconfig_for(NAMESPACE, "speaker", path=tmp_path / "kubeconfig"))

    def assigned() -> list[Obj]:
        return _events(kube, apps, "nodeAssigned", "web")

    def status_objects() -> dict[tuple[str, str], Obj]:
        custom = client.CustomObjectsApi(kube.api)
        found = {}
        for plural in ("servicel2statuses", "servicebgpstatuses"):
            listed = custom.list_namespaced_custom_object("ironlb.io", "v1beta1", apps, plural)
            found.update({(o["kind"], o["metadata"]["name"]): o for o in listed["items"]})
        return found

    def announced() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as resp:
                text = resp.read().decode()
        except OSError:
            return False
        return any(
            line.startswith("ironlb_speaker_announced{")
            and 'ip="192.0.2.1"' in line
            and line.endswith(" 1.0")
            for line in text.splitlines()
        )

    with Program(argv, env, tmp_path / "speaker.log") as prog:

        def until(what: str, probe: Callable[[], Any]) -> Any:
            return wait_while_running(what, probe, TIMEOUT, prog.proc, lambda: _refused(kube, user))

        with prog.explained():
            until("192.0.2.1 announced", announced)
            until("nodeAssigned", assigned)
            # What this node announces, and where: one status object per Service and protocol.
            objs = until("both status objects", lambda: len(status_objects()) == 2 and status_objects())
            bgp_key = ("ServiceBGPStatus", "routed.node1")
            l2, bgp = objs[("ServiceL2Status", "web.node1")], objs[bgp_key]
            assert (l2["status"]["ips"], l2["status"].get("interfaces")) == (["192.0.2.1"], [])
            # No router answers at 127.0.0.2: the route is sent to no peer (peers: sessions up only).
            assert (bgp["status"]["ips"], bgp["status"]["peers"]) == (["198.51.100.1"], [])
            for path in probes:  # the kubelet's probes, on the paths the manifest names
                with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}{path}", timeout=5) as resp:
                    assert resp.status == 200, path
            # Endpoint gone (eTP Local): withdrawn; back: announced again, same Event, patched.
            discovery.replace_namespaced_endpoint_slice("web-x7k2p", apps, _slice(ready=False))
            until("the announcement withdrawn", lambda: not announced())
            until("its status object deleted", lambda: list(status_objects()) == [bgp_key])
            discovery.replace_namespaced_endpoint_slice("web-x7k2p", apps, _slice(ready=True))
            until(
                "the repeated nodeAssigned counted", lambda: any(e.get("count", 1) >= 2 for e in assigned())
            )
        code = prog.stop(signal.SIGTERM)
        assert code == 0, prog.output()[-4000:]
    assert status_objects() == {}, "a stopped speaker's status objects are deleted"
    _least_privilege(kube, installed, "speaker")
