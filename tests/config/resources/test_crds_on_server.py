"""The CRDs on a real kube-apiserver: what one object alone cannot be is refused by the server itself
(422, the message naming the field), valid objects are accepted, ``kubectl get`` shows the printer
columns, and what the server stores (defaults filled in) decodes to the config it was written from.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ironlb.config import load_config, parse_config
from ironlb.config.resources.render import render
from ironlb.config.resources.schema import API_VERSION, CONFIG_KINDS, GROUP, KINDS, VERSION, crd, plural
from tests.support.crds import install_crds
from tests.support.pytest_plugin import Kube

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "config" / "samples"

VALID: dict[str, dict[str, Any]] = {
    "IPAddressPool": {"addresses": ["192.168.10.0/24"]},
    "L2Advertisement": {},
    "BGPAdvertisement": {},
    "BGPPeer": {"myASN": 64513, "peerASN": 64512, "peerAddress": "172.30.0.1"},
    "BFDProfile": {},
    "Community": {"communities": [{"name": "lab", "value": "64512:100"}]},
    "ClusterIPAdvertisement": {"cidrs": ["10.96.0.0/12"]},
}

NOT_CHECKED = "some validation rules were not checked"


@pytest.fixture(scope="module")
def crds(control_plane: Any, _admin_api: Any) -> None:
    install_crds(_admin_api)


@pytest.fixture
def server(kube: Kube, crds: None) -> Iterator[Kube]:
    yield kube


def create(kube: Kube, kind: str, spec: dict[str, Any] | None, name: str = "x") -> tuple[int, str]:
    """Create one object; (status, message): 201 and '' when accepted."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    body: dict[str, Any] = {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}}
    if spec is not None:
        body["spec"] = spec
    try:
        client.CustomObjectsApi(kube.api).create_namespaced_custom_object(
            GROUP, VERSION, kube.ns, plural(kind), body
        )
    except ApiException as exc:
        return exc.status, json.loads(exc.body)["message"]
    return 201, ""


def with_(kind: str, **fields: Any) -> dict[str, Any]:
    spec = copy.deepcopy(VALID[kind])
    spec.update(fields)
    return spec


def sel(**kwargs: Any) -> list[dict[str, Any]]:
    return [kwargs]


# (kind, spec, field path, words of the message). One wrong thing per object: the server skips the CEL
# rules of an object whose schema already failed, so a CEL case must be otherwise valid.
REFUSED: list[tuple[str, dict[str, Any] | None, str, str]] = [
    # IPAddressPool
    ("IPAddressPool", None, "spec", "Required value"),
    ("IPAddressPool", {"addresses": []}, "spec.addresses", "at least 1 items"),
    (
        "IPAddressPool",
        with_("IPAddressPool", addresses=["10.0.0.0/33"]),
        "spec.addresses[0]",
        "must be a CIDR",
    ),
    (
        "IPAddressPool",
        with_("IPAddressPool", addresses=["10.0.0.300/24"]),
        "spec.addresses[0]",
        "must be a CIDR",
    ),
    (
        "IPAddressPool",
        with_("IPAddressPool", addresses=["10.0.0.1-fc00::1"]),
        "spec.addresses[0]",
        "one address family",
    ),
    ("IPAddressPool", with_("IPAddressPool", addresses=["a-b"]), "spec.addresses[0]", "must be a CIDR"),
    ("IPAddressPool", with_("IPAddressPool", autoAssign="yes"), "spec.autoAssign", "must be of type boolean"),
    (
        "IPAddressPool",
        with_("IPAddressPool", serviceAllocation={"priority": -1}),
        "spec.serviceAllocation.priority",
        "greater than or equal to 0",
    ),
    (
        "IPAddressPool",
        with_("IPAddressPool", serviceAllocation={"namespaces": ["Bad_NS"]}),
        "spec.serviceAllocation.namespaces[0]",
        "must be a namespace name",
    ),
    (
        "IPAddressPool",
        with_(
            "IPAddressPool",
            serviceAllocation={
                "namespaceSelectors": sel(matchExpressions=[{"key": "a", "operator": "Near"}])
            },
        ),
        "spec.serviceAllocation.namespaceSelectors[0].matchExpressions[0].operator",
        'Unsupported value: "Near"',
    ),
    (
        "IPAddressPool",
        with_(
            "IPAddressPool",
            serviceAllocation={"serviceSelectors": sel(matchExpressions=[{"key": "a", "operator": "In"}])},
        ),
        "spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].values",
        "need at least one value",
    ),
    (
        "IPAddressPool",
        with_("IPAddressPool", serviceAllocation={"serviceSelectors": sel(matchLabels={"bad key!": "x"})}),
        "spec.serviceAllocation.serviceSelectors[0].matchLabels",
        "every key must be a label key",
    ),
    # L2Advertisement
    ("L2Advertisement", {"interfaces": ["eth 0"]}, "spec.interfaces[0]", "must be an interface name or glob"),
    ("L2Advertisement", {"interfaces": ["eth0", "eth0"]}, "spec.interfaces[1]", "Duplicate value"),
    ("L2Advertisement", {"ipAddressPools": [""]}, "spec.ipAddressPools[0]", "at least 1 chars"),
    (
        "L2Advertisement",
        {"serviceSelectors": sel(matchLabels={"app": "web"})},
        "spec.serviceSelectors",
        "serviceSelectors is not supported by ironlb",
    ),
    (
        "L2Advertisement",
        {"nodeSelectors": sel(matchExpressions=[{"key": "zone", "operator": "Exists", "values": ["a"]}])},
        "spec.nodeSelectors[0].matchExpressions[0].values",
        "Exists and DoesNotExist take none",
    ),
    # BGPAdvertisement
    ("BGPAdvertisement", {"aggregationLength": 33}, "spec.aggregationLength", "less than or equal to 32"),
    (
        "BGPAdvertisement",
        {"aggregationLengthV6": 129},
        "spec.aggregationLengthV6",
        "less than or equal to 128",
    ),
    ("BGPAdvertisement", {"localPref": 4294967296}, "spec.localPref", "less than or equal to 4294967295"),
    ("BGPAdvertisement", {"communities": ["65536:1"]}, "spec.communities[0]", "16-bit halves"),
    ("BGPAdvertisement", {"communities": ["1:2:3:4"]}, "spec.communities[0]", "must be a community"),
    ("BGPAdvertisement", {"serviceSelectors": sel()}, "spec.serviceSelectors", "not supported by ironlb"),
    ("BGPAdvertisement", {"peers": ["a", "a"]}, "spec.peers[1]", "Duplicate value"),
    # BGPPeer: schema
    ("BGPPeer", {"myASN": 1, "peerASN": 2}, "spec.peerAddress", "Required value"),
    ("BGPPeer", with_("BGPPeer", myASN=0), "spec.myASN", "greater than or equal to 1"),
    ("BGPPeer", with_("BGPPeer", peerASN=4294967296), "spec.peerASN", "less than or equal to 4294967295"),
    ("BGPPeer", with_("BGPPeer", peerPort=70000), "spec.peerPort", "less than or equal to 65535"),
    # BGPPeer: CEL
    ("BGPPeer", with_("BGPPeer", peerAddress="1.2.3"), "spec.peerAddress", "must be an IP address"),
    ("BGPPeer", with_("BGPPeer", routerID="fc00::1"), "spec.routerID", "must be an IPv4 address"),
    ("BGPPeer", with_("BGPPeer", holdTime="2s"), "spec.holdTime", "0 or at least 3s"),
    ("BGPPeer", with_("BGPPeer", holdTime="90"), "spec.holdTime", "such as 90s"),
    ("BGPPeer", with_("BGPPeer", keepaliveTime="abc"), "spec.keepaliveTime", "must be a duration"),
    (
        "BGPPeer",
        with_("BGPPeer", holdTime="9s", keepaliveTime="10s"),
        "spec.keepaliveTime",
        "must not exceed holdTime",
    ),
    ("BGPPeer", with_("BGPPeer", connectTime="0s"), "spec.connectTime", "from 1s to 65535s"),
    ("BGPPeer", with_("BGPPeer", sourceAddress="fc00::1"), "spec.sourceAddress", "of one address family"),
    (
        "BGPPeer",
        with_("BGPPeer", peerASN=64513, ebgpMultiHop=True),
        "spec.ebgpMultiHop",
        "only for eBGP peers",
    ),
    (
        "BGPPeer",
        with_("BGPPeer", password="x", passwordSecret={"name": "s"}),
        "spec.passwordSecret",
        "mutually exclusive",
    ),
    ("BGPPeer", with_("BGPPeer", vrf="red"), "spec.vrf", "vrf is not supported by ironlb"),
    ("BGPPeer", with_("BGPPeer", interface="eth0"), "spec.interface", "unnumbered BGP"),
    ("BGPPeer", with_("BGPPeer", dynamicASN="external"), "spec.dynamicASN", "set peerASN"),
    ("BGPPeer", with_("BGPPeer", localASN=65000), "spec.localASN", "localASN is not supported"),
    (
        "BGPPeer",
        with_("BGPPeer", dualStackAddressFamily=True),
        "spec.dualStackAddressFamily",
        "not supported",
    ),
    # BFDProfile
    ("BFDProfile", {"receiveInterval": 5}, "spec.receiveInterval", "greater than or equal to 10"),
    ("BFDProfile", {"detectMultiplier": 300}, "spec.detectMultiplier", "less than or equal to 255"),
    ("BFDProfile", {"minimumTtl": 0}, "spec.minimumTtl", "greater than or equal to 1"),
    ("BFDProfile", {"echoMode": "on"}, "spec.echoMode", "must be of type boolean"),
    # Community
    (
        "Community",
        {"communities": [{"name": "a", "value": "1:2"}, {"name": "a", "value": "1:3"}]},
        "spec.communities[1]",
        "Duplicate value",
    ),
    (
        "Community",
        {"communities": [{"name": "a:b", "value": "1:2"}]},
        "spec.communities[0].name",
        "without ':'",
    ),
    (
        "Community",
        {"communities": [{"name": "a", "value": "x"}]},
        "spec.communities[0].value",
        "must be a community",
    ),
    ("Community", {"communities": [{"name": "a"}]}, "spec.communities[0].value", "Required value"),
    # ClusterIPAdvertisement
    ("ClusterIPAdvertisement", {"cidrs": []}, "spec.cidrs", "at least 1 items"),
    ("ClusterIPAdvertisement", {"cidrs": ["fd00::/300"]}, "spec.cidrs[0]", "must be a CIDR"),
    (
        "ClusterIPAdvertisement",
        with_("ClusterIPAdvertisement", localRoutes="true"),
        "spec.localRoutes",
        "boolean",
    ),
]


@pytest.mark.parametrize(
    ("kind", "spec", "path", "words"),
    REFUSED,
    ids=[f"{kind}-{path}-{i}" for i, (kind, _, path, _) in enumerate(REFUSED)],
)
def test_the_server_refuses_what_one_object_cannot_be(
    server: Kube, kind: str, spec: dict[str, Any] | None, path: str, words: str
) -> None:
    status, message = create(server, kind, spec)
    assert status == 422, message
    assert f"{path}: " in message, message
    assert words in message, message


def test_every_kind_is_refused_for_something() -> None:
    assert {kind for kind, *_ in REFUSED} == set(CONFIG_KINDS)


@pytest.mark.parametrize("kind", CONFIG_KINDS)
def test_a_valid_object_is_accepted_with_the_defaults_filled_in(server: Kube, kind: str) -> None:
    from kubernetes import client

    assert create(server, kind, VALID[kind]) == (201, "")
    stored = client.CustomObjectsApi(server.api).get_namespaced_custom_object(
        GROUP, VERSION, server.ns, plural(kind), "x"
    )
    result = load_config(None, [stored], namespace=server.ns)
    assert result.errors == ()


def test_metallb_fields_with_no_effect_are_accepted(server: Kube) -> None:
    """What ``kubectl get -o yaml`` of a MetalLB 0.16 BGPPeer shows by default passes (with ironlb's
    apiVersion)."""
    spec = with_(
        "BGPPeer",
        disableMP=False,
        dualStackAddressFamily=False,
        vrf="",
        holdTime="1m30s",
        keepaliveTime="30s",
    )
    assert create(server, "BGPPeer", spec) == (201, "")


def _kubectl(kube: Kube, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kube.cp.admin_kubeconfig), "-n", kube.ns, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def kubectl_on_path() -> None:
    import shutil

    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")


def test_kubectl_apply_refuses_a_bad_pool_naming_the_field(server: Kube, kubectl_on_path: None) -> None:
    manifest = (
        f"apiVersion: {API_VERSION}\nkind: IPAddressPool\nmetadata:\n  name: bad\n"
        "spec:\n  addresses: [192.168.10.0/24, 10.0.0.0/33]\n"
    )
    done = _kubectl(server, "apply", "-f", "-", stdin=manifest)
    assert done.returncode != 0
    assert 'spec.addresses[1]: Invalid value: "10.0.0.0/33": must be a CIDR' in done.stderr, done.stderr


@pytest.mark.parametrize("kind", CONFIG_KINDS)
def test_kubectl_get_shows_the_printer_columns(server: Kube, kubectl_on_path: None, kind: str) -> None:
    assert create(server, kind, VALID[kind]) == (201, "")
    done = _kubectl(server, "get", plural(kind), "-o", "wide")
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0]
    for column in crd(kind)["spec"]["versions"][0]["additionalPrinterColumns"]:
        assert column["name"].upper() in header, header
    assert len(done.stdout.splitlines()) == 2


def test_kubectl_get_ironlb_lists_every_kind(server: Kube, kubectl_on_path: None) -> None:
    for kind in CONFIG_KINDS:
        assert create(server, kind, VALID[kind]) == (201, "")
    done = _kubectl(server, "get", "ironlb")
    assert done.returncode == 0, done.stderr
    for kind in CONFIG_KINDS:
        assert f"{kind.lower()}.{GROUP}/x" in done.stdout, done.stdout


@pytest.mark.parametrize("sample", ["layer2", "bgp", "ecmp-clusterip", "dual-stack", "metallb-legacy"])
def test_converted_samples_are_accepted_and_read_back_to_the_same_config(server: Kube, sample: str) -> None:
    """The sample ConfigMaps as resources (what ``ironlb convert`` writes): the server takes them, and
    what it stores -- defaults filled in -- decodes to the config the ConfigMap holds."""
    from kubernetes import client

    config = parse_config((SAMPLES / f"{sample}.yaml").read_text())
    rendered = render(config, namespace=server.ns)
    api = client.CustomObjectsApi(server.api)
    for obj in rendered.objects:
        api.create_namespaced_custom_object(GROUP, VERSION, server.ns, plural(obj["kind"]), obj)
    stored = [
        item
        for kind in KINDS
        for item in api.list_namespaced_custom_object(GROUP, VERSION, server.ns, plural(kind))["items"]
    ]
    result = load_config(None, stored, namespace=server.ns)
    assert result.errors == ()
    assert result.config is not None
    renamed = {(r.kind, r.new): r.old for r in rendered.renames}
    back = result.config
    assert sorted(p.name for p in back.pools) == sorted(p.name for p in config.pools)
    assert {p.name: p for p in back.pools} == {p.name: p for p in config.pools}
    assert {renamed.get(("BGPPeer", p.name), p.name): p.peer_address for p in back.peers} == {
        p.name: p.peer_address for p in config.peers
    }
    assert sorted(a.name for a in back.bgp_advertisements) == sorted(
        a.name for a in config.bgp_advertisements
    )
    assert {a.name: a for a in back.l2_advertisements} == {a.name: a for a in config.l2_advertisements}


def test_the_resource_samples_are_accepted_and_read_back_to_the_same_config(server: Kube) -> None:
    """config/samples/resources/ as a user applies it: the server takes every object (schema and CEL),
    and what it stores decodes to the config ``ironlb validate`` reads from the files."""
    import yaml
    from kubernetes import client

    objects = [
        doc
        for path in sorted((SAMPLES / "resources").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    api = client.CustomObjectsApi(server.api)
    for obj in objects:
        body = copy.deepcopy(obj)
        body["metadata"]["namespace"] = server.ns
        api.create_namespaced_custom_object(GROUP, VERSION, server.ns, plural(obj["kind"]), body)
    stored = [
        item
        for kind in KINDS
        for item in api.list_namespaced_custom_object(GROUP, VERSION, server.ns, plural(kind))["items"]
    ]
    assert len(stored) == len(objects)
    result = load_config(None, stored, namespace=server.ns)
    assert result.errors == ()
    assert result.config == load_config(None, objects).config


METALLB_V1BETA2_PEER = """\
apiVersion: ironlb.io/v1beta2
kind: BGPPeer
metadata:
  name: sample
spec:
  myASN: 64500
  peerASN: 64501
  peerAddress: 10.0.0.1
  holdTime: "90s"
"""
"""MetalLB's documented BGPPeer (``metallb.io/v1beta2`` since 0.14) with only the group changed."""


def test_a_metallb_v1beta2_bgppeer_needs_only_the_new_group(server: Kube) -> None:
    """The server takes it at v1beta2, the programs read it at v1beta1, and ``load_config`` (what
    ``ironlb validate`` runs on the file) takes the file as written."""
    import yaml
    from kubernetes import client

    obj = yaml.safe_load(METALLB_V1BETA2_PEER)
    api = client.CustomObjectsApi(server.api)
    api.create_namespaced_custom_object(GROUP, "v1beta2", server.ns, "bgppeers", obj)
    stored = api.list_namespaced_custom_object(GROUP, VERSION, server.ns, "bgppeers")["items"]
    assert [item["apiVersion"] for item in stored] == [API_VERSION]
    result = load_config(None, stored, namespace=server.ns)
    assert result.errors == () and result.config is not None
    assert [str(p.peer_address) for p in result.config.peers] == ["10.0.0.1"]
    from_file = load_config(None, [obj], namespace=server.ns)
    assert from_file.errors == () and from_file.config == result.config
    other = {**obj, "kind": "IPAddressPool", "spec": {"addresses": ["10.0.0.0/24"]}}
    refused = load_config(None, [other], namespace=server.ns)
    assert [(e.field, e.message) for e in refused.errors] == [
        ("apiVersion", "'ironlb.io/v1beta2' is not supported (use ironlb.io/v1beta1)")
    ]
