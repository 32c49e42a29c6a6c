"""The command lines in the manifests are ones the programs accept, and mean what the
manifests assume: parsed by each program's own option parser, with the environment the
kubelet would give the pod (downward-API values filled in).
"""

from __future__ import annotations

import contextlib
import io

from tests.install.rendering import NAMESPACE, Obj, container, one
from tests.install.scenario import command_line

POD = {
    "metadata.name": "controller-5d8f7c9b4-x2x7q",
    "metadata.namespace": NAMESPACE,
    "spec.nodeName": "node1",
}


def test_controller_accepts_its_command_line(rendered: list[Obj]) -> None:
    from controller.options import parse_options
    from ironlb.probes import split_address

    argv, env = command_line(one(rendered, "Deployment", "controller"), "controller", POD)
    opts = parse_options(argv[1:], env)
    assert opts.leader_elect is True
    assert opts.namespace == NAMESPACE
    # Each process its own Lease identity: the pod's name and a UUID; Events name the pod.
    assert opts.identity.startswith(POD["metadata.name"] + "_") and opts.instance == POD["metadata.name"]
    assert opts.log_format == "json"
    c = container(one(rendered, "Deployment", "controller"), "controller")
    metrics_port = next(p["containerPort"] for p in c["ports"] if p["name"] == "metrics")
    assert split_address(opts.metrics_address)[1] == metrics_port
    # The Role names the Lease the controller elects on.
    lease_rules = [r for r in one(rendered, "Role", "controller")["rules"] if "leases" in r["resources"]]
    assert lease_rules
    for rule in lease_rules:
        assert opts.lease_name in rule.get("resourceNames", [opts.lease_name])
    _role_names_the_configmap(rendered, "controller", opts.configmap)


def _role_names_the_configmap(rendered: list[Obj], role: str, configmap: str) -> None:
    rules = [r for r in one(rendered, "Role", role)["rules"] if "configmaps" in r["resources"]]
    assert rules
    for rule in rules:
        assert configmap in rule.get("resourceNames", [configmap])


def test_speaker_accepts_its_command_line(rendered: list[Obj]) -> None:
    from speaker.options import parse_options

    ds = one(rendered, "DaemonSet", "speaker")
    argv, env = command_line(ds, "speaker", POD)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            opts = parse_options(argv[1:], env)
    except SystemExit:
        raise AssertionError(err.getvalue()) from None
    assert opts.node == "node1"
    assert opts.manifests is None  # the Kubernetes API, with in-cluster credentials
    _role_names_the_configmap(rendered, "speaker", opts.configmap)
    assert opts.config_namespace == NAMESPACE
    assert opts.log_format == "json"
    c = container(ds, "speaker")
    ports = {p["name"]: p for p in c["ports"]}
    assert int(opts.metrics_address.rpartition(":")[2]) == ports["metrics"]["containerPort"]
    assert opts.membership_port == ports["memberlist-udp"]["containerPort"]
    assert ports["memberlist-udp"]["protocol"] == "UDP"
    assert opts.membership_key_file is not None
    mounts = [m["mountPath"].rstrip("/") + "/" for m in c["volumeMounts"]]
    assert any(opts.membership_key_file.startswith(m) for m in mounts)
    if opts.bgp and opts.bgp_workdir is None:
        # ExaBGP's files go to /run/ironlb/bgp-NODE by default: it must be writable.
        assert "/run/ironlb/" in mounts


def test_speaker_reads_bgp_passwords_from_an_optional_secret(rendered: list[Obj]) -> None:
    from speaker.options import parse_options

    ds = one(rendered, "DaemonSet", "speaker")
    argv, env = command_line(ds, "speaker", POD)
    # Parse without the Kubernetes check: the password directory does not depend on it.
    opts = parse_options([*argv[1:], "--manifests=/nonexistent"], env)
    assert opts.bgp_password_dir is not None
    c = container(ds, "speaker")
    mount = next(
        m for m in c["volumeMounts"] if m["mountPath"].rstrip("/") == opts.bgp_password_dir.rstrip("/")
    )
    volume = next(v for v in ds["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["optional"] is True  # MD5 is opt-in: pods start without the Secret
