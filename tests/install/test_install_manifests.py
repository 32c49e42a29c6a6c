"""The rendered install has the shape issue 7 promises: hardened pods, HA controller,
host-network speaker with only NET_RAW/NET_ADMIN, probes and metrics where the programs
serve them, the membership key mounted from the Secret the controller creates.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import yaml

from tests.install.rendering import NAMESPACE, ROOT, Obj, container, env_map, one, selector_matches
from tests.install.scenario import command_line

CONTROLLER_METRICS_PORT = 7472
SPEAKER_METRICS_PORT = 7473
MEMBERSHIP_SECRET = "ironlb-memberlist"


def crd_files() -> list[Path]:
    return sorted((ROOT / "config" / "crd" / "bases").glob("*.yaml"))


def test_renders_the_expected_objects(rendered: list[Obj]) -> None:
    kinds = Counter(o["kind"] for o in rendered)
    assert kinds == {
        "CustomResourceDefinition": len(crd_files()),
        "Namespace": 1,
        "ServiceAccount": 2,
        "ClusterRole": 2,
        "ClusterRoleBinding": 2,
        "Role": 2,
        "RoleBinding": 2,
        "Deployment": 1,
        "DaemonSet": 1,
        "Service": 2,
    }
    # No ConfigMap and no config resources: the user's own must survive a re-apply.
    assert one(rendered, "Namespace", NAMESPACE)
    for o in rendered:
        if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"):
            assert o["metadata"].get("namespace") == NAMESPACE, o["metadata"]["name"]
        assert o["metadata"]["labels"]["app.kubernetes.io/name"] == "ironlb"


def test_controller_is_highly_available_and_hardened(rendered: list[Obj]) -> None:
    d = one(rendered, "Deployment", "controller")
    pod = d["spec"]["template"]["spec"]
    assert d["spec"]["replicas"] == 2
    assert pod["serviceAccountName"] == "controller"
    assert pod.get("hostNetwork", False) is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    c = container(d, "controller")
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert "privileged" not in sc
    assert "--leader-elect" in c["args"]
    assert "--no-leader-elect" not in c["args"]
    # Lease holder identity and namespace come from the downward API.
    env = env_map(c)
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["IRONLB_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"


def _port(c: Obj, name: str) -> int:
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    return int(ports[name])


def test_controller_probes_hit_healthz_and_readyz_on_the_metrics_port(rendered: list[Obj]) -> None:
    c = container(one(rendered, "Deployment", "controller"), "controller")
    assert _port(c, "metrics") == CONTROLLER_METRICS_PORT
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in (c["livenessProbe"], c["readinessProbe"]):
        port = probe["httpGet"]["port"]
        assert (_port(c, port) if isinstance(port, str) else port) == CONTROLLER_METRICS_PORT


def test_speaker_probes_hit_healthz_and_readyz_on_the_metrics_port(rendered: list[Obj]) -> None:
    """A rolling update waits for each new speaker's /readyz before the next node."""
    ds = one(rendered, "DaemonSet", "speaker")
    c = container(ds, "speaker")
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in (c["livenessProbe"], c["readinessProbe"]):
        port = probe["httpGet"]["port"]
        assert (_port(c, port) if isinstance(port, str) else port) == SPEAKER_METRICS_PORT
        assert "host" not in probe["httpGet"]  # the pod IP: the node's, the speaker listens on all
    # The speaker listens on every address (no --metrics-address, or one without a host).
    args = " ".join(c.get("args", []))
    env = env_map(c)
    assert "--metrics-address" not in args and "IRONLB_METRICS_ADDRESS" not in env
    # Liveness never hinges on a short hiccup: at least a minute of failures before a restart.
    live = c["livenessProbe"]
    assert live.get("failureThreshold", 3) * live.get("periodSeconds", 10) >= 60


def test_speaker_has_host_network_and_only_net_raw_and_net_admin(rendered: list[Obj]) -> None:
    ds = one(rendered, "DaemonSet", "speaker")
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    assert pod["serviceAccountName"] == "speaker"
    c = container(ds, "speaker")
    sc = c["securityContext"]
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sorted(sc["capabilities"]["add"]) == ["NET_ADMIN", "NET_RAW"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert "privileged" not in sc
    assert _port(c, "metrics") == SPEAKER_METRICS_PORT
    assert ds["spec"]["updateStrategy"]["type"] == "RollingUpdate"


def test_bfd_install_is_the_default_plus_the_two_capabilities_bfdd_needs(
    rendered: list[Obj], rendered_bfd: list[Obj]
) -> None:
    def key(o: Obj) -> tuple[str, str]:
        return o["kind"], o["metadata"]["name"]

    bfd = {key(o): o for o in rendered_bfd}
    assert set(bfd) == {key(o) for o in rendered}
    for o in rendered:
        if key(o) != ("DaemonSet", "speaker"):
            assert bfd[key(o)] == o, key(o)
    caps = container(bfd[("DaemonSet", "speaker")], "speaker")["securityContext"]["capabilities"]
    assert caps["drop"] == ["ALL"]
    assert sorted(caps["add"]) == ["NET_ADMIN", "NET_BIND_SERVICE", "NET_RAW", "SYS_ADMIN"]


def test_speaker_runs_on_control_plane_nodes_too(rendered: list[Obj]) -> None:
    pod = one(rendered, "DaemonSet", "speaker")["spec"]["template"]["spec"]
    tolerated = {(t["key"], t.get("operator"), t.get("effect")) for t in pod["tolerations"]}
    for key in ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"):
        assert (key, "Exists", "NoSchedule") in tolerated


def test_speaker_knows_its_node_and_reads_the_membership_key_from_the_secret(rendered: list[Obj]) -> None:
    ds = one(rendered, "DaemonSet", "speaker")
    pod = ds["spec"]["template"]["spec"]
    c = container(ds, "speaker")
    assert env_map(c)["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    volumes = {v["name"]: v for v in pod["volumes"]}
    secret_volumes = [
        v for v in volumes.values() if v.get("secret", {}).get("secretName") == MEMBERSHIP_SECRET
    ]
    assert len(secret_volumes) == 1
    # Not optional: without the key the speaker cannot authenticate membership traffic.
    assert not secret_volumes[0]["secret"].get("optional", False)
    mount = next(m for m in c["volumeMounts"] if m["name"] == secret_volumes[0]["name"])
    assert mount["readOnly"] is True
    key_args = [a for a in c["args"] if a.startswith("--membership-key-file=")]
    assert len(key_args) == 1
    key_path = key_args[0].split("=", 1)[1]
    assert key_path.startswith(mount["mountPath"].rstrip("/") + "/")


def test_speaker_gets_time_for_a_clean_handoff(rendered: list[Obj]) -> None:
    pod = one(rendered, "DaemonSet", "speaker")["spec"]["template"]["spec"]
    assert 5 <= pod["terminationGracePeriodSeconds"] <= 30


def test_metrics_services_select_the_pods_and_their_metrics_ports(rendered: list[Obj]) -> None:
    for svc_name, workload in (("controller-metrics", "Deployment"), ("speaker-metrics", "DaemonSet")):
        svc = one(rendered, "Service", svc_name)
        w = next(o for o in rendered if o["kind"] == workload)
        labels = w["spec"]["template"]["metadata"]["labels"]
        assert selector_matches(svc["spec"]["selector"], labels)
        # The selector picks only this workload's pods.
        others = [o for o in rendered if o["kind"] in ("Deployment", "DaemonSet") and o is not w]
        assert not any(
            selector_matches(svc["spec"]["selector"], o["spec"]["template"]["metadata"]["labels"])
            for o in others
        )
        names = {p["name"] for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for p in svc["spec"]["ports"]:
            assert p["targetPort"] in names


def test_podmonitor_sample_targets_the_rendered_pods(
    rendered: list[Obj], rendered_prometheus: list[Obj]
) -> None:
    monitors = [o for o in rendered_prometheus if o["kind"] == "PodMonitor"]
    assert {m["apiVersion"] for m in monitors} == {"monitoring.coreos.com/v1"}
    assert len(monitors) == 2
    workloads = [o for o in rendered if o["kind"] in ("Deployment", "DaemonSet")]
    for m in monitors:
        assert m["spec"]["namespaceSelector"]["matchNames"] == [NAMESPACE]
        picked = [
            w
            for w in workloads
            if selector_matches(
                m["spec"]["selector"]["matchLabels"], w["spec"]["template"]["metadata"]["labels"]
            )
        ]
        assert len(picked) == 1, m["metadata"]["name"]
        ports = {
            p["name"] for c in picked[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])
        }
        for ep in m["spec"]["podMetricsEndpoints"]:
            assert ep["port"] in ports
    # Kept out of the default install, which must not need the Prometheus Operator's CRDs.
    assert not any(o["apiVersion"].startswith("monitoring.coreos.com/") for o in rendered)


def test_containers_run_console_scripts_of_the_package(rendered: list[Obj]) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for kind, name in (("Deployment", "controller"), ("DaemonSet", "speaker")):
        c = container(one(rendered, kind, name), name)
        assert c["command"] == [f"ironlb-{name}"]
        assert c["command"][0] in scripts


def test_makefile_builds_the_image_the_manifests_run(rendered: list[Obj]) -> None:
    makefile = (ROOT / "Makefile").read_text()
    m = re.search(r"^IMG \?= (\S+)$", makefile, re.M)
    assert m is not None
    images = {
        c["image"]
        for o in rendered
        if o["kind"] in ("Deployment", "DaemonSet")
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert images == {m.group(1)}


def test_the_controller_creates_the_membership_secret_the_speaker_mounts(rendered: list[Obj]) -> None:
    from controller.options import parse_options
    from ironlb.kube.membership_secret import DEFAULT_KEY

    deployment = one(rendered, "Deployment", "controller")
    argv, env = command_line(
        deployment, "controller", {"metadata.name": "controller-0", "metadata.namespace": NAMESPACE}
    )
    name = parse_options(argv[1:], env).membership_secret
    assert name == MEMBERSHIP_SECRET
    ds = one(rendered, "DaemonSet", "speaker")
    volume = next(
        v for v in ds["spec"]["template"]["spec"]["volumes"] if v.get("secret", {}).get("secretName") == name
    )
    c = container(ds, "speaker")
    mount = next(mt for mt in c["volumeMounts"] if mt["name"] == volume["name"])
    assert f"--membership-key-file={mount['mountPath'].rstrip('/')}/{DEFAULT_KEY}" in c["args"]
    # The controller reads only that Secret (create cannot be limited by name).
    secret_rules = [r for r in one(rendered, "Role", "controller")["rules"] if "secrets" in r["resources"]]
    assert {v for r in secret_rules for v in r["verbs"]} == {"get", "create"}
    for rule in secret_rules:
        if rule["verbs"] != ["create"]:
            assert rule.get("resourceNames") == [name]
    # Nothing else makes it any more: `make deploy` is a plain apply.
    assert "create secret" not in (ROOT / "Makefile").read_text()


def test_installs_every_crd_of_config_crd(rendered: list[Obj]) -> None:
    """config/default installs exactly the CRDs config/crd lists, and config/crd lists every file it holds."""
    listed = yaml.safe_load((ROOT / "config" / "crd" / "kustomization.yaml").read_text())["resources"]
    assert sorted(ROOT / "config" / "crd" / name for name in listed) == crd_files()
    wanted = {yaml.safe_load(path.read_text())["metadata"]["name"] for path in crd_files()}
    assert {o["metadata"]["name"] for o in rendered if o["kind"] == "CustomResourceDefinition"} == wanted
