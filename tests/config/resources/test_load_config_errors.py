"""load_config on wrong inputs: every rule by object, field and message; warnings; all problems at once."""

from __future__ import annotations

from typing import Any

import pytest

from ironlb.config import (
    ObjectRef,
    load_config,
)
from ironlb.config.resources import schema, schemaparts
from ironlb.config.resources.items import REFUSED_PEER_FIELDS
from ironlb.config.resources.wire import field_name
from tests.config.resources.builders import CONFIGMAP, NS, obj, one_error, peer, pool, problems

# ---- one wrong thing, one message ----------------------------------------------------------------

P = f"IPAddressPool {NS}"
CASES: list[tuple[str, list[dict[str, Any]], tuple[str, str, str]]] = [
    (
        "range start after end",
        [pool("a", "10.0.0.9-10.0.0.1")],
        (
            f"{P}/a",
            "spec.addresses[0]",
            "invalid range '10.0.0.9-10.0.0.1': start 10.0.0.9 is after end 10.0.0.1",
        ),
    ),
    ("no addresses", [pool("a")], (f"{P}/a", "spec.addresses", "a pool needs at least one CIDR or range")),
    (
        "overlap between pools",
        [pool("a", "10.0.0.0/24"), pool("b", "10.0.0.128/25")],
        (
            f"{P}/b",
            "spec.addresses[0]",
            f"'10.0.0.128/25' overlaps '10.0.0.0/24' of pool 'a' (IPAddressPool {NS}/a spec.addresses[0])",
        ),
    ),
    (
        "overlap with the ConfigMap",
        [pool("a", "198.51.100.7/32")],
        (
            f"{P}/a",
            "spec.addresses[0]",
            "'198.51.100.7/32' overlaps '198.51.100.0/24' of pool 'legacy' "
            "(the ConfigMap's address-pools[0].addresses[0])",
        ),
    ),
    (
        "pool named as in the ConfigMap",
        [pool("legacy", "10.0.0.0/24")],
        (
            f"{P}/legacy",
            "metadata.name",
            "pool 'legacy' is also defined in the ConfigMap (address-pools[0]); a pool is "
            "defined once, in the ConfigMap or as a resource: rename or remove one",
        ),
    ),
    (
        "BFD profile named as in the ConfigMap",
        [obj("BFDProfile", "fast", {})],
        (
            f"BFDProfile {NS}/fast",
            "metadata.name",
            "BFD profile 'fast' is also defined in the ConfigMap (bfd-profiles[0]); "
            "a BFD profile is defined once, in the ConfigMap or as a resource: rename or remove one",
        ),
    ),
    (
        "alias named as in the ConfigMap",
        [obj("Community", "c", {"communities": [{"name": "lab", "value": "1:1"}]})],
        (
            f"Community {NS}/c",
            "spec.communities[0].name",
            "community alias 'lab' is also defined in the ConfigMap "
            "(bgp-communities['lab']); a community alias is defined once, in the ConfigMap or as a resource: "
            "rename or "
            "remove one",
        ),
    ),
    (
        "peer named as a ConfigMap peer",
        [peer("peer-172.30.0.1", "172.30.0.9")],
        (
            f"BGPPeer {NS}/peer-172.30.0.1",
            "metadata.name",
            "peer 'peer-172.30.0.1' is also defined in the ConfigMap "
            "(peers[0]); a peer is defined once, in the ConfigMap or as a resource: rename or remove one",
        ),
    ),
    (
        "duplicate of a ConfigMap peer",
        [peer("again")],
        (
            f"BGPPeer {NS}/again",
            "spec",
            "duplicate peer 172.30.0.1 port 179 (same address, port, source address and "
            "node selectors as the ConfigMap's peers[0])",
        ),
    ),
    (
        "unknown pool",
        [obj("L2Advertisement", "l2", {"ipAddressPools": ["nope", "legacy"]})],
        (
            f"L2Advertisement {NS}/l2",
            "spec.ipAddressPools[0]",
            "no pool 'nope': no IPAddressPool and no ConfigMap address pool has that name",
        ),
    ),
    (
        "unknown peer",
        [obj("BGPAdvertisement", "b", {"peers": ["nope"]})],
        (
            f"BGPAdvertisement {NS}/b",
            "spec.peers[0]",
            "no peer 'nope': no BGPPeer has that name (a ConfigMap peer is named peer-<address>)",
        ),
    ),
    (
        "unknown BFD profile",
        [peer("p", "172.30.0.9", bfdProfile="slow")],
        (
            f"BGPPeer {NS}/p",
            "spec.bfdProfile",
            "no BFDProfile 'slow': no BFDProfile and no ConfigMap bfd-profiles entry has that name",
        ),
    ),
    (
        "unknown community alias",
        [obj("BGPAdvertisement", "b", {"communities": ["nope"]})],
        (
            f"BGPAdvertisement {NS}/b",
            "spec.communities[0]",
            "unknown community alias 'nope' (not in any Community "
            "object or the ConfigMap's bgp-communities, not a well-known name)",
        ),
    ),
    (
        "aggregation wider than a selected pool",
        [obj("BGPAdvertisement", "b", {"aggregationLength": 16})],
        (
            f"BGPAdvertisement {NS}/b",
            "spec.aggregationLength",
            "16 is shorter than prefix /24 of '198.51.100.0/24' in "
            "pool 'legacy' (aggregating beyond the pool's own addresses is not allowed)",
        ),
    ),
    (
        "serviceSelectors",
        [obj("L2Advertisement", "l2", {"serviceSelectors": [{}]})],
        (f"L2Advertisement {NS}/l2", "spec.serviceSelectors", schemaparts.SERVICE_SELECTORS_RULE["message"]),
    ),
    (
        "unknown field",
        [peer("p", "172.30.0.9", peerAsn=1)],
        (f"BGPPeer {NS}/p", "spec.peerAsn", "unknown field 'peerAsn'; did you mean 'peerASN'?"),
    ),
    (
        "wrong type",
        [peer("p", "172.30.0.9", peerPort="179")],
        (f"BGPPeer {NS}/p", "spec.peerPort", "expected an integer, got string '179'"),
    ),
    (
        "ASN 0",
        [peer("p", "172.30.0.9", myASN=0)],
        (f"BGPPeer {NS}/p", "spec.myASN", "local ASN must not be 0"),
    ),
    (
        "hold time",
        [peer("p", "172.30.0.9", holdTime="2s")],
        (f"BGPPeer {NS}/p", "spec.holdTime", "invalid hold time '2s': must be 0 or at least 3s"),
    ),
    (
        "multihop iBGP",
        [peer("p", "172.30.0.9", peerASN=64513, ebgpMultiHop=True)],
        (
            f"BGPPeer {NS}/p",
            "spec.ebgpMultiHop",
            "ebgpMultiHop is only for eBGP peers (myASN equals peerASN)",
        ),
    ),
    (
        "secret elsewhere",
        [peer("p", "172.30.0.9", passwordSecret={"name": "s", "namespace": "metallb-system"})],
        (
            f"BGPPeer {NS}/p",
            "spec.passwordSecret.namespace",
            "ironlb reads Secrets from its own namespace "
            "'ironlb-system' only: create the Secret there and leave namespace out",
        ),
    ),
    (
        "password twice",
        [peer("p", "172.30.0.9", password="x", passwordSecret={"name": "s"})],
        (f"BGPPeer {NS}/p", "spec.passwordSecret", "password and passwordSecret are mutually exclusive"),
    ),
    (
        "alias twice",
        [
            obj("Community", "a", {"communities": [{"name": "x", "value": "1:1"}]}),
            obj("Community", "b", {"communities": [{"name": "x", "value": "1:2"}]}),
        ],
        (
            f"Community {NS}/b",
            "spec.communities[0].name",
            f"alias 'x' is also defined with another value by Community {NS}/a; keep one definition",
        ),
    ),
    (
        "interface",
        [obj("L2Advertisement", "l2", {"interfaces": ["eth 0"]})],
        (
            f"L2Advertisement {NS}/l2",
            "spec.interfaces[0]",
            "must be an interface name or glob (no spaces or '/')",
        ),
    ),
    (
        "cluster CIDRs overlap",
        [obj("ClusterIPAdvertisement", "c", {"cidrs": ["10.96.0.0/12", "10.96.0.0/16"]})],
        (f"ClusterIPAdvertisement {NS}/c", "spec.cidrs[1]", "10.96.0.0/16 overlaps 10.96.0.0/12 (cidrs[0])"),
    ),
    (
        "selector operator",
        [
            obj(
                "L2Advertisement",
                "l2",
                {"nodeSelectors": [{"matchExpressions": [{"key": "a", "operator": "Near"}]}]},
            )
        ],
        (
            f"L2Advertisement {NS}/l2",
            "spec.nodeSelectors[0].matchExpressions[0].operator",
            "'Near' is not a valid operator (expected one of In, NotIn, Exists, DoesNotExist)",
        ),
    ),
    (
        "namespace name",
        [pool("a", "10.0.0.0/24", serviceAllocation={"namespaces": ["Bad_NS"]})],
        (
            f"{P}/a",
            "spec.serviceAllocation.namespaces[0]",
            "'Bad_NS' is not a valid namespace name: 1-63 lower-case "
            "letters, digits and '-', starting and ending with a letter or digit",
        ),
    ),
    (
        "twice the same object",
        [pool("a", "10.0.0.0/24"), pool("a", "10.1.0.0/24")],
        (f"{P}/a", "metadata.name", "IPAddressPool 'a' is defined more than once"),
    ),
    (
        "twice the same object, once with a generation",  # found by the fuzzer: a crash sorting sources
        [pool("a", "10.0.0.0/24"), pool("a", "10.1.0.0/24", meta={"generation": 2})],
        (f"{P}/a", "metadata.name", "IPAddressPool 'a' is defined more than once"),
    ),
    (
        "another namespace",
        [pool("a", "10.0.0.0/24", meta={"namespace": "metallb-system"})],
        (
            "IPAddressPool metallb-system/a",
            "metadata.namespace",
            "'metallb-system' is not ironlb's namespace: ironlb reads its configuration from "
            "'ironlb-system' only",
        ),
    ),
    (
        "another version",
        [dict(pool("a", "10.0.0.0/24"), apiVersion="ironlb.io/v1")],
        (f"{P}/a", "apiVersion", "'ironlb.io/v1' is not supported (use ironlb.io/v1beta1)"),
    ),
    (
        "a MetalLB object",
        [dict(pool("a", "10.0.0.0/24"), apiVersion="metallb.io/v1beta1")],
        (
            f"{P}/a",
            "",
            "a MetalLB IPAddressPool: change apiVersion to ironlb.io/v1beta1 (same fields), or run "
            "`ironlb convert` on it",
        ),
    ),
    (
        "no name",
        [obj("IPAddressPool", "", {"addresses": ["10.0.0.0/24"]})],
        (f"{P}/?", "metadata.name", "required field is missing"),
    ),
]


@pytest.mark.parametrize(("objects", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_wrong_thing_one_message(objects: list[dict[str, Any]], expected: tuple[str, str, str]) -> None:
    assert one_error(load_config(CONFIGMAP, objects)) == expected


@pytest.mark.parametrize("attr", sorted(REFUSED_PEER_FIELDS))
def test_refused_metallb_fields_read_as_the_crd_rules_read(attr: str) -> None:
    """A file (never checked by the API server) gets the words the server would say."""
    value: Any = {"local_asn": 65000, "dual_stack_address_family": True}.get(attr, "x")
    name = field_name(attr)
    found = one_error(load_config(None, [peer("p", **{name: value})]))
    rules = schema.crd("BGPPeer")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    cel = {r["fieldPath"]: r["message"] for r in rules["x-kubernetes-validations"] if "fieldPath" in r}
    assert found == (f"BGPPeer {NS}/p", f"spec.{name}", cel[f".{name}"])


def test_empty_or_false_metallb_fields_are_accepted() -> None:
    result = load_config(
        None, [peer("p", vrf="", dynamicASN="", dualStackAddressFamily=False, disableMP=True)]
    )
    assert result.errors == () and result.warnings == ()


def test_warnings_do_not_block() -> None:
    result = load_config(
        None,
        [pool("a", "10.0.0.7/24"), peer("p", holdTime="90s", keepaliveTime="10s", connectTime="5s")],
    )
    assert result.config is not None
    assert problems(result, "warning") == [
        (
            f"{P}/a",
            "spec.addresses[0]",
            "'10.0.0.7/24' has host bits set; using 10.0.0.0/24 (as MetalLB does)",
        ),
        (
            f"BGPPeer {NS}/p",
            "spec.connectTime",
            "'5s' is accepted but not honoured: ironlb has no connect time setting; "
            "ExaBGP's connect retry is used",
        ),
        (
            f"BGPPeer {NS}/p",
            "spec.keepaliveTime",
            "10s is ignored: the ExaBGP backend has no keepalive setting and "
            "sends keepalives every third of the negotiated hold time (30s with holdTime 90s)",
        ),
    ]


def test_configmap_problems_keep_their_paths_and_name_the_configmap() -> None:
    cm = {
        "metadata": {"name": "ironlb", "namespace": NS},
        "data": {"config": "peers:\n- {peer-address: x}\n"},
    }
    result = load_config(None, [], configmap=cm)
    assert problems(result)[:2] == [
        (f"ConfigMap {NS}/ironlb", "peers[0].my-asn", "required field is missing (local ASN)"),
        (f"ConfigMap {NS}/ironlb", "peers[0].peer-asn", "required field is missing (peer ASN)"),
    ]


def test_a_broken_configmap_does_not_make_references_into_it_errors() -> None:
    broken = "address-pools:\n- {name: legacy, protocol: bgpp, addresses: [198.51.100.0/24]}\n"
    result = load_config(broken, [obj("L2Advertisement", "l2", {"ipAddressPools": ["legacy"]})])
    assert problems(result) == [
        ("ConfigMap", "address-pools[0].protocol", "unknown protocol 'bgpp' (expected layer2 or bgp)")
    ]


def test_every_problem_of_every_object_is_reported_at_once() -> None:
    result = load_config(None, [pool("a", "10.0.0.0/33", autoAssign="no"), peer("p", myASN=0, peerPort=0)])
    assert problems(result) == [
        (f"{P}/a", "spec.autoAssign", "expected true or false, got string 'no'"),
        (f"{P}/a", "spec.addresses[0]", "'10.0.0.0/33' is not a valid CIDR or address range"),
        (f"BGPPeer {NS}/p", "spec.myASN", "local ASN must not be 0"),
        (f"BGPPeer {NS}/p", "spec.peerPort", "0 is out of range (1..65535)"),
    ]


def test_problem_text_names_object_field_and_message() -> None:
    (problem,) = load_config(None, [pool("a")]).errors
    assert problem.object == ObjectRef("IPAddressPool", NS, "a")
    assert str(problem) == f"{P}/a: spec.addresses: a pool needs at least one CIDR or range"
