"""The real programs with in-cluster credentials: a service account, HTTPS, no kubeconfig.

In a pod, ``make_api_client`` takes ``load_incluster_config``: ``https://`` +
``KUBERNETES_SERVICE_HOST``/``PORT``, the bearer token and CA from the fixed directory
``/var/run/secrets/kubernetes.io/serviceaccount``. Every other test uses a kubeconfig
over plain HTTP, so this is the only place that path runs.

Each program runs in a private mount namespace (``unshare --mount``) where a tmpfs
covers ``/var/run`` and the test's service-account directory is bind-mounted read-only
at the fixed path, so the host never gets that directory or a mount; the namespace
dies with the program. The API double serves HTTPS with a throwaway CA
(``tests.kubeapi.tls``) and knows only the service account's token.

Namespace: the controller reads its ConfigMap and Lease in ``--namespace``
(``IRONLB_NAMESPACE``, default ``ironlb-system``), never in the service account's
``namespace`` file; the manifests pass the pod's namespace through the downward API.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.config import incluster_config

from ironlb.lab import netns
from tests.kubeapi import KubeApiServer, RequestRecord, by_plural
from tests.kubeapi.tls import CertFiles, ServerTLS, make_certs, openssl_available

from .scenario import Program, wait_for

pytestmark = pytest.mark.netns

SA_DIR = os.path.dirname(incluster_config.SERVICE_TOKEN_FILENAME)  # /var/run/secrets/kubernetes.io/...
MOUNT_SOURCE = f"ironlb-in-cluster-{os.getpid()}"  # the tmpfs's name in mountinfo, to find leftovers
NAMESPACE = "ironlb-system"
SA_NAMESPACE = "tenant-lb"  # the namespace file: deliberately not where ironlb's config lives
APPS = "apps"
TIMEOUT = 20.0  # a bound for slow machines; each wait ends within about a second here
SERVICES, CONFIGMAPS, EVENTS, LEASES, SECRETS, NODES, SLICES = (
    by_plural("services"),
    by_plural("configmaps"),
    by_plural("events"),
    by_plural("leases", "coordination.k8s.io"),
    by_plural("secrets"),
    by_plural("nodes"),
    by_plural("endpointslices", "discovery.k8s.io"),
)
CONFIG = {"address-pools": [{"name": "main", "protocol": "layer2", "addresses": ["192.0.2.0/28"]}]}

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


def service_account(directory: Path, token: str, ca: CertFiles) -> Path:
    directory.mkdir()
    (directory / "token").write_text(token)  # the kubelet writes no trailing newline
    (directory / "ca.crt").write_bytes(ca.ca_cert.read_bytes())
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
    if not openssl_available():
        pytest.skip("needs the openssl command (Debian package openssl) for the test CA")
    secrets = os.path.realpath("/var/run/secrets")
    existed, mounted = os.path.lexists(secrets), our_mounts()  # in a pod: its own token's mount
    yield
    assert os.path.lexists(secrets) == existed, f"{secrets} was created or removed on the host"
    assert our_mounts() == mounted, f"mounts left on the host: {our_mounts()}"


@dataclass
class Cluster:
    server: KubeApiServer
    tls: ServerTLS
    certs: CertFiles
    tmp: Path

    def seed(self, *, service: bool = True) -> None:
        self.server.store.create(
            CONFIGMAPS,
            NAMESPACE,
            {
                "metadata": {"name": "ironlb", "namespace": NAMESPACE},
                "data": {"config": yaml.safe_dump(CONFIG)},
            },
        )
        if not service:
            return
        self.server.store.create(
            SERVICES,
            APPS,
            {
                "metadata": {"name": "web", "namespace": APPS},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
            },
        )

    def ingress(self) -> list[str]:
        status = self.server.store.get(SERVICES, APPS, "web").get("status") or {}
        return [e["ip"] for e in (status.get("loadBalancer") or {}).get("ingress") or []]

    def assigned(self) -> list[str]:
        """The status IPs once the pool annotation, the controller's second write, is there too."""
        annotations = self.server.store.get(SERVICES, APPS, "web")["metadata"].get("annotations") or {}
        return self.ingress() if "ironlb.io/ip-allocated-from-pool" in annotations else []


def _cluster(tmp: Path, token: str) -> Cluster:
    certs = make_certs(tmp / "pki")
    tls = ServerTLS(certs)
    return Cluster(KubeApiServer(tokens={token: None}, tls=tls), tls, certs, tmp)


def readiness(output: str) -> int:
    """HTTP status of the controller's /readyz (its port is in the log: it was started on port 0)."""
    m = re.search(r"serving /metrics, /healthz and /readyz on port (\d+)", output)
    assert m, "the controller did not say where /readyz is"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/readyz", timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _failed(log: list[RequestRecord]) -> str | None:
    bad = [r for r in log if r.code in (401, 403)]
    return f"requests refused: {bad}" if bad else None


def test_controller_authenticates_with_the_service_account(tmp_path: Path) -> None:
    token = "controller-sa-token-4f1c"
    c = _cluster(tmp_path, token)
    c.server.start()
    try:
        c.seed()
        sa = service_account(tmp_path / "sa", token, c.certs)
        argv = [sys.executable, "-m", "controller", "--metrics-address=127.0.0.1:0"]
        with Program(
            argv, program_env(tmp_path, c.server.port), tmp_path / "ctl.log", in_cluster(sa)
        ) as prog:
            with prog.explained():
                # Both writes (status, then the pool annotation) before SIGTERM, or the signal
                # may fall between them (the next leader would add the annotation).
                ips = wait_for(
                    "web's IP in status and its pool annotation",
                    c.assigned,
                    TIMEOUT,
                    prog.proc,
                    lambda: _failed(c.server.requests()),
                )
            code = prog.stop(signal.SIGTERM)
            output = prog.output()
        log = c.server.requests()
    finally:
        c.server.stop()
    assert code == 0, output[-4000:]
    assert len(ips) == 1 and ips[0].startswith("192.0.2."), ips
    svc = c.server.store.get(SERVICES, APPS, "web")
    assert svc["metadata"]["annotations"]["ironlb.io/ip-allocated-from-pool"] == "main"
    assert f"using in-cluster credentials for https://127.0.0.1:{c.server.port}" in output
    # Every request carried the token file's content (the double knows no other), over HTTPS
    # verified against ca.crt (no handshake failed), and the status write was among them.
    assert log and {r.user for r in log} == {token}, {r.user for r in log}
    assert not _failed(log)
    assert not c.tls.failures, c.tls.failures
    assert any(r.verb == "patch" and r.rbac_resource == "services/status" and r.name == "web" for r in log)
    # The namespace file is not read: config and Lease come from the --namespace default.
    assert {r.namespace for r in log if r.resource in ("configmaps", "leases")} == {NAMESPACE}
    assert SA_NAMESPACE not in {r.namespace for r in log}
    assert c.server.store.get(LEASES, NAMESPACE, "ironlb-controller")


def test_controller_refuses_a_server_its_ca_did_not_sign(tmp_path: Path) -> None:
    token = "controller-sa-token-9e2d"
    c = _cluster(tmp_path, token)
    other_ca = make_certs(tmp_path / "other-pki", name="impostor")
    c.server.start()
    try:
        c.seed()
        sa = service_account(tmp_path / "sa", token, other_ca)  # ca.crt that did not sign the server
        argv = [sys.executable, "-m", "controller", "--metrics-address=127.0.0.1:0"]
        with Program(
            argv, program_env(tmp_path, c.server.port), tmp_path / "ctl.log", in_cluster(sa)
        ) as prog:
            with prog.explained():
                wait_for(
                    "a certificate verification error in the log",
                    lambda: "CERTIFICATE_VERIFY_FAILED" in prog.output(),
                    TIMEOUT,
                    prog.proc,
                )
                wait_for(
                    "the double to see the client refuse its certificate",
                    lambda: any("UNKNOWN_CA" in f for f in c.tls.failures),
                    TIMEOUT,
                    prog.proc,
                )
                readyz = readiness(prog.output())
            code = prog.stop(signal.SIGTERM)
            output = prog.output()
        log = c.server.requests()
    finally:
        c.server.stop()
    assert code == 0, output[-4000:]
    assert readyz == 503, "the kubelet would have seen a ready controller"
    # Not one HTTP request got through, so nothing was written.
    assert log == [], log
    assert c.ingress() == []
    assert "ironlb.io/ip-allocated-from-pool" not in (
        c.server.store.get(SERVICES, APPS, "web")["metadata"].get("annotations") or {}
    )
    for rt in (LEASES, SECRETS, EVENTS):
        assert c.server.store.list_objects(rt) == [], rt.plural


# -- the speaker, which needs a network namespace of its own --------------------------------------

CLONE_NEWNET = 0x40000000


def start_in_netns(server: KubeApiServer, namespace: str) -> None:
    """Start ``server`` listening inside the named network namespace.

    Hand-written with ctypes because ``os.setns`` only exists from Python 3.12. The
    switch happens in a throwaway thread (setns on a network namespace is per thread);
    the listening socket, and the threads serving it, stay in ``namespace``."""
    errors: list[BaseException] = []

    def enter_and_start() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(netns.NETNS_DIR / namespace) as fh:
                if libc.setns(fh.fileno(), CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, os.strerror(err))
            server.start()
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    t = threading.Thread(target=enter_and_start, name=f"start-in-{namespace}")
    t.start()
    t.join()
    if errors:
        raise errors[0]


def _speaker_objects(node: str) -> dict[str, Any]:
    return {
        "node": {
            "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        },
        "service": {
            "metadata": {"name": "web", "namespace": APPS},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}},
        },
        "slice": {
            "metadata": {
                "name": "web-x7k2p",
                "namespace": APPS,
                "labels": {"kubernetes.io/service-name": "web"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True}, "nodeName": node}],
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
    }


def test_speaker_authenticates_with_the_service_account(tmp_path: Path) -> None:
    token = "speaker-sa-token-71aa"
    node = "node1"
    ns = f"ilbincl-{os.getpid()}"
    c = _cluster(tmp_path, token)
    key = tmp_path / "secretkey"
    key.write_text("0123456789abcdef0123456789abcdef")
    netns.add(ns)
    try:
        start_in_netns(c.server, ns)
        c.seed(service=False)
        objs = _speaker_objects(node)
        c.server.store.create(NODES, None, objs["node"])
        c.server.store.create(SERVICES, APPS, objs["service"], keep_status=True)  # the controller's IP
        c.server.store.create(SLICES, APPS, objs["slice"])
        sa = service_account(tmp_path / "sa", token, c.certs)
        argv = [
            sys.executable, "-m", "speaker", f"--node={node}", f"--membership-key-file={key}",
            "--no-bgp", "--metrics-address=",
        ]  # fmt: skip
        prefix = netns.wrap(ns, in_cluster(sa))
        with Program(argv, program_env(tmp_path, c.server.port), tmp_path / "spk.log", prefix) as prog:

            def assigned() -> list[dict[str, Any]]:
                return [
                    e for e in c.server.store.list_objects(EVENTS, APPS) if e.get("reason") == "nodeAssigned"
                ]

            try:
                wait_for("nodeAssigned", assigned, TIMEOUT, prog.proc, lambda: _failed(c.server.requests()))
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n--- speaker output ---\n{prog.output()[-4000:]}") from None
            code = prog.stop(signal.SIGTERM)
            output = prog.output()
        log = c.server.requests()
    finally:
        with contextlib.suppress(Exception):
            c.server.stop()
        for pid in netns.pids(ns):  # only ours can live in it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        netns.delete(ns)
    assert code == 0, output[-4000:]
    assert f"using in-cluster credentials for https://127.0.0.1:{c.server.port}" in output
    assert log and {r.user for r in log} == {token}, {r.user for r in log}
    assert not _failed(log)
    assert not c.tls.failures, c.tls.failures
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
