"""The real programs with in-cluster credentials: a service account, HTTPS, no kubeconfig.

In a pod, ``make_api_client`` takes ``load_incluster_config``: ``https://`` +
``KUBERNETES_SERVICE_HOST``/``PORT``, the bearer token and CA from the fixed directory
``/var/run/secrets/kubernetes.io/serviceaccount``. Every other test uses a kubeconfig,
so this is the only place that path runs.

Each program runs in a private mount namespace (``unshare --mount``) where a tmpfs
covers ``/var/run`` and the test's service-account directory is bind-mounted read-only
at the fixed path, so the host never gets that directory or a mount; the namespace
dies with the program. The API server is the session's real one; the token is a
ServiceAccount's, from the TokenRequest API, and ``ca.crt`` the CA that signed the server
(or, to be refused, another one).

Namespace: the controller reads its ConfigMap and Lease in ``--namespace``
(``IRONLB_NAMESPACE``, default ``ironlb-system``), never in the service account's
``namespace`` file; the manifests pass the pod's namespace through the downward API.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.config import incluster_config

from tests.install.scenario import Program
from tests.support.pki import TestCA
from tests.support.pytest_plugin import Kube
from tests.support.waiting import wait_while_running

pytestmark = pytest.mark.netns

SA_DIR = os.path.dirname(incluster_config.SERVICE_TOKEN_FILENAME)  # /var/run/secrets/kubernetes.io/...
MOUNT_SOURCE = f"ironlb-in-cluster-{os.getpid()}"  # the tmpfs's name in mountinfo, to find leftovers
NAMESPACE = "ironlb-system"
SA_NAMESPACE = "tenant-lb"  # the namespace file: deliberately not where ironlb's config lives
TIMEOUT = 20.0  # a bound for slow machines; each wait ends within about a second here
CONFIG = {"address-pools": [{"name": "main", "protocol": "layer2", "addresses": ["192.0.2.0/28"]}]}
NO_INTERFACE = "ilbincl-none"  # the speaker runs on this host: its layer 2 must touch no interface

# Runs in the new mount namespace: $1 the real /var/run, $2 the service-account directory.
MOUNT_SCRIPT = f"""set -e
mount -t tmpfs -o nosuid,nodev,mode=0755,size=1m {MOUNT_SOURCE} "$1"
mkdir -p "$1/{os.path.relpath(SA_DIR, "/var/run")}"
mount --bind -o ro "$2" "$1/{os.path.relpath(SA_DIR, "/var/run")}"
shift 2
exec "$@"
"""


def in_cluster(sa_dir: Path) -> list[str]:
    """argv prefix: the program sees ``sa_dir`` at the service-account path, nothing else changes.

    ``unshare`` and ``sh`` exec the program, so the child's PID is the program's."""
    return [
        "unshare", "--mount", "--propagation", "private", "--",
        "sh", "-c", MOUNT_SCRIPT, "in-cluster", os.path.realpath("/var/run"), str(sa_dir),
    ]  # fmt: skip


def service_account(directory: Path, token: str, ca: Path) -> Path:
    directory.mkdir()
    (directory / "token").write_text(token)  # the kubelet writes no trailing newline
    (directory / "ca.crt").write_bytes(ca.read_bytes())
    (directory / "namespace").write_text(SA_NAMESPACE)
    return directory


def program_env(tmp: Path, port: int) -> dict[str, str]:
    return {
        "HOME": str(tmp),  # no ~/.kube/config to fall back on; KUBECONFIG is not set at all
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(port),
    }


def our_mounts() -> list[str]:
    with open("/proc/self/mountinfo") as fh:
        return [
            line.strip() for line in fh if MOUNT_SOURCE in line or f" {os.path.realpath(SA_DIR)} " in line
        ]


@pytest.fixture(autouse=True)
def host_unchanged() -> Iterator[None]:
    """Root for mounts; afterwards neither the directory nor a mount of ours exists on the host."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a private mount namespace (unshare --mount)")
    secrets = os.path.realpath("/var/run/secrets")
    existed, mounted = os.path.lexists(secrets), our_mounts()  # in a pod: its own token's mount
    yield
    assert os.path.lexists(secrets) == existed, f"{secrets} was created or removed on the host"
    assert our_mounts() == mounted, f"mounts left on the host: {our_mounts()}"


@pytest.fixture
def system(kube: Kube) -> Iterator[Kube]:
    """``ironlb-system`` with ironlb's config; afterwards what the programs left there goes."""
    with contextlib.suppress(Exception):
        kube.core.create_namespace({"metadata": {"name": NAMESPACE}})
    cm = {"metadata": {"name": "ironlb"}, "data": {"config": yaml.safe_dump(CONFIG)}}
    kube.core.create_namespaced_config_map(NAMESPACE, cm)
    try:
        yield kube
    finally:
        for delete in (
            lambda: kube.core.delete_namespaced_config_map("ironlb", NAMESPACE),
            lambda: kube.core.delete_namespaced_secret("ironlb-memberlist", NAMESPACE),
            lambda: kube.coordination.delete_namespaced_lease("ironlb-controller", NAMESPACE),
        ):
            with contextlib.suppress(Exception):
                delete()


def _read(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        out: dict[str, Any] = json.loads(fn().data)
    except Exception:
        return {}
    return out


def _web(kube: Kube, *, status_ip: str | None = None) -> None:
    body = {"metadata": {"name": "web"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    kube.core.create_namespaced_service(kube.ns, body)
    if status_ip:
        status = {"status": {"loadBalancer": {"ingress": [{"ip": status_ip}]}}}
        kube.core.patch_namespaced_service_status("web", kube.ns, status)


def _assigned(kube: Kube) -> list[str]:
    """The status IPs once the pool annotation, the controller's second write, is there too."""
    svc = _read(lambda: kube.core.read_namespaced_service("web", kube.ns, _preload_content=False))
    ingress = (svc.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
    annotated = "ironlb.io/ip-allocated-from-pool" in (svc.get("metadata", {}).get("annotations") or {})
    return [e["ip"] for e in ingress] if annotated else []


def readiness(output: str) -> int:
    """HTTP status of the controller's /readyz (its port is in the log: it was started on port 0)."""
    m = re.search(r"serving /metrics, /healthz and /readyz on port (\d+)", output)
    assert m, "the controller did not say where /readyz is"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/readyz", timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _refused(kube: Kube, user: str) -> str | None:
    bad = [r for r in kube.audit(user) if r.code in (401, 403)]
    return f"requests refused: {bad}" if bad else None


def test_controller_authenticates_with_the_service_account(system: Kube, tmp_path: Path) -> None:
    kube, cp = system, system.cp
    _web(kube)
    cp.service_account(kube.ns, "controller")
    cp.bind_cluster_role(kube.ns, "controller", "cluster-admin")
    user = kube.user("controller")
    sa = service_account(tmp_path / "sa", cp.token(kube.ns, "controller"), cp.ca_file)
    argv = [sys.executable, "-m", "controller", "--metrics-address=127.0.0.1:0"]
    with Program(argv, program_env(tmp_path, cp.port), tmp_path / "ctl.log", in_cluster(sa)) as prog:
        with prog.explained():
            # Both writes (status, then the pool annotation) before SIGTERM, or the signal
            # may fall between them (the next leader would add the annotation).
            ips = wait_while_running(
                "web's IP and pool annotation", lambda: _assigned(kube), TIMEOUT, prog.proc,
                lambda: _refused(kube, user),
            )  # fmt: skip
        code = prog.stop(signal.SIGTERM)
        output = prog.output()
    assert code == 0, output[-4000:]
    assert len(ips) == 1 and ips[0].startswith("192.0.2."), ips
    assert f"using in-cluster credentials for https://127.0.0.1:{cp.port}" in output
    # Every request carried the token file's ServiceAccount, over HTTPS verified against ca.crt,
    # and the status write was among them.
    log = kube.audit(user)
    assert log and not _refused(kube, user)
    assert any(r.verb == "patch" and r.rbac_resource == "services/status" and r.name == "web" for r in log)
    # The namespace file is not read: config and Lease come from the --namespace default.
    assert {r.namespace for r in log if r.resource in ("configmaps", "leases")} == {NAMESPACE}
    assert SA_NAMESPACE not in {r.namespace for r in log}
    assert _read(
        lambda: kube.coordination.read_namespaced_lease(
            "ironlb-controller", NAMESPACE, _preload_content=False
        )
    )


def test_controller_refuses_a_server_its_ca_did_not_sign(system: Kube, tmp_path: Path) -> None:
    kube, cp = system, system.cp
    _web(kube)
    cp.service_account(kube.ns, "controller")
    cp.bind_cluster_role(kube.ns, "controller", "cluster-admin")
    other_ca = TestCA(tmp_path / "other-pki", "impostor").cert_file
    sa = service_account(
        tmp_path / "sa", cp.token(kube.ns, "controller"), other_ca
    )  # did not sign the server
    argv = [sys.executable, "-m", "controller", "--metrics-address=127.0.0.1:0"]
    with Program(argv, program_env(tmp_path, cp.port), tmp_path / "ctl.log", in_cluster(sa)) as prog:
        with prog.explained():
            wait_while_running(
                "a certificate verification error in the log",
                lambda: "CERTIFICATE_VERIFY_FAILED" in prog.output(),
                TIMEOUT,
                prog.proc,
            )
            readyz = readiness(prog.output())
        code = prog.stop(signal.SIGTERM)
        output = prog.output()
    assert code == 0, output[-4000:]
    assert readyz == 503, "the kubelet would have seen a ready controller"
    # Not one HTTP request got through, so nothing was written.
    assert kube.audit(kube.user("controller")) == []
    assert _assigned(kube) == []
    assert not _read(
        lambda: kube.coordination.read_namespaced_lease(
            "ironlb-controller", NAMESPACE, _preload_content=False
        )
    )


def test_speaker_authenticates_with_the_service_account(system: Kube, tmp_path: Path) -> None:
    """The speaker runs on this host: its config names no real interface, membership listens on
    loopback, no metrics port, its ExaBGP files in the test's directory."""
    kube, cp = system, system.cp
    config = {**CONFIG, "l2": {"interfaces": [NO_INTERFACE]}}
    kube.core.replace_namespaced_config_map(
        "ironlb", NAMESPACE, {"metadata": {"name": "ironlb"}, "data": {"config": yaml.safe_dump(config)}}
    )
    kube.create_node(
        {
            "metadata": {"name": "node1", "labels": {"kubernetes.io/hostname": "node1"}},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
    )
    _web(kube, status_ip="192.0.2.1")  # the controller's IP
    kube.discovery.create_namespaced_endpoint_slice(
        kube.ns,
        {
            "metadata": {"name": "web-x7k2p", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True}, "nodeName": "node1"}],
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
    )
    cp.service_account(kube.ns, "speaker")
    cp.bind_cluster_role(kube.ns, "speaker", "cluster-admin")
    user = kube.user("speaker")
    sa = service_account(tmp_path / "sa", cp.token(kube.ns, "speaker"), cp.ca_file)
    key = tmp_path / "secretkey"
    key.write_text("0123456789abcdef0123456789abcdef")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [
        sys.executable, "-m", "speaker", "--node=node1", f"--membership-key-file={key}", "--no-bgp",
        "--metrics-address=", "--membership-bind=127.0.0.1", f"--membership-port={port}",
    ]  # fmt: skip
    with Program(argv, program_env(tmp_path, cp.port), tmp_path / "spk.log", in_cluster(sa)) as prog:

        def assigned() -> list[dict[str, Any]]:
            items = json.loads(kube.core.list_namespaced_event(kube.ns, _preload_content=False).data)["items"]
            return [e for e in items if e.get("reason") == "nodeAssigned"]

        with prog.explained():
            wait_while_running("nodeAssigned", assigned, TIMEOUT, prog.proc, lambda: _refused(kube, user))
        code = prog.stop(signal.SIGTERM)
        output = prog.output()
    assert code == 0, output[-4000:]
    assert f"using in-cluster credentials for https://127.0.0.1:{cp.port}" in output
    log = kube.audit(user)
    assert log and not _refused(kube, user)
    assert any(r.verb == "create" and r.resource == "events" for r in log)
    assert {r.namespace for r in log if r.resource == "configmaps"} == {NAMESPACE}


def test_mount_prefix_is_a_private_view(tmp_path: Path) -> None:
    """The wrapper itself: the program reads the files at the fixed path; the host does not."""
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("abc")
    argv = ["cat", incluster_config.SERVICE_TOKEN_FILENAME]
    with Program(argv, {}, tmp_path / "cat.log", in_cluster(sa)) as prog:
        assert prog.proc is not None
        prog.proc.wait(timeout=10)
        assert prog.proc.returncode == 0, prog.output()
        assert prog.output() == "abc"
    with contextlib.suppress(OSError):  # absent on the host, or (in a pod) the pod's own token
        assert Path(incluster_config.SERVICE_TOKEN_FILENAME).read_text() != "abc"
