"""MetalLB → ironlb mapping of whole inputs: other kinds, versions, numbering, order, YAML reading."""

from __future__ import annotations

import ipaddress
import random

from ironlb.config.model import Community
from ironlb.config.render import render_config
from ironlb.metallb import convert, manifests_from_text
from tests.metallb.helpers import bgp, l2, lines, obj, only, peer, pool, run, text

# --- input handling -------------------------------------------------------------------------------


def test_other_kinds_are_ignored_with_one_note() -> None:
    result = run(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "metallb-system"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "c"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}},
        pool("a", "10.0.0.0/24"),
        l2("l"),
    )
    assert result.config is not None
    assert "ignored 3 object(s) that are not MetalLB configuration: Deployment x2, Namespace" in only(
        lines(result, "note"), "ignored"
    )


def test_other_metallb_kinds() -> None:
    result = run(obj("ServiceL2Status", "s"), pool("a", "10.0.0.0/24"), l2("l"))
    assert result.config is not None
    assert "ServiceL2Status is not MetalLB configuration" in only(lines(result, "note"), "ServiceL2Status")


def test_unknown_fields_are_lossy_not_dropped() -> None:
    result = run(
        pool("a", "10.0.0.0/24", futureKnob=True),
        l2("l", nodeSelectors=[{"matchLabels": {}, "matchFields": 1}]),
    )
    lossy = lines(result, "lossy")
    assert "unknown IPAddressPool field" in only(lossy, "IPAddressPool/a: spec.futureKnob")
    assert only(lossy, "spec.nodeSelectors[0].matchFields")


def test_unsupported_version_duplicate_and_nameless_objects_are_errors() -> None:
    old = pool("a", "10.0.0.0/24")
    old["apiVersion"] = "metallb.io/v1alpha1"
    nameless = pool("", "10.0.1.0/24")
    result = run(old, pool("b", "10.0.2.0/24"), pool("b", "10.0.3.0/24"), nameless, l2("l"))
    errors = lines(result, "error")
    assert "apiVersion: 'metallb.io/v1alpha1' is not supported for IPAddressPool" in only(errors, "v1alpha1")
    assert "duplicate IPAddressPool 'b' (first at in.yaml:doc#2)" in only(errors, "duplicate")
    assert "metadata.name: required field is missing" in only(errors, "metadata.name: required")
    assert result.config is None


def test_type_errors_name_their_path() -> None:
    result = run(pool("a", "10.0.0.0/24", autoAssign="yes please", addresses=[{"a": 1}]), l2("l"))
    errors = lines(result, "error")
    assert "spec.autoAssign: expected true or false, got string 'yes please'" in only(errors, "autoAssign")
    assert only(errors, "spec.addresses[0]: expected a string")


def test_a_label_key_in_a_path_is_written_as_validate_writes_it() -> None:
    """``ironlb.config.errors.join_path``: a key that is not a plain word is quoted in brackets."""
    selector = {"matchLabels": {"kubernetes.io/hostname": "bad value!"}}
    errors = lines(run(pool("a", "10.0.0.0/24"), l2("l", nodeSelectors=[selector])), "error")
    assert "spec.nodeSelectors[0].matchLabels['kubernetes.io/hostname']: invalid label value" in only(
        errors, "hostname"
    )


def test_empty_input_is_an_error() -> None:
    result = convert([])
    assert result.config is None
    assert "no MetalLB configuration found" in only(lines(result, "error"), "no MetalLB")


def test_objects_in_several_namespaces_warn() -> None:
    b = pool("b", "10.0.1.0/24")
    b["metadata"]["namespace"] = "other"
    result = run(pool("a", "10.0.0.0/24"), b, l2("l"))
    assert "several namespaces (metallb-system, other)" in only(lines(result, "warning"), "namespaces")


def test_list_items_and_documents_are_numbered() -> None:
    doc = text(
        {"apiVersion": "v1", "kind": "List", "items": [pool("a", "10.0.0.0/24"), pool("b", "10.0.0.0/25")]},
        l2("l"),
    )
    manifests, _ = manifests_from_text(doc, "dir/x.yaml")
    assert [str(m.origin) for m in manifests] == [
        "dir/x.yaml:doc#1.items[0]",
        "dir/x.yaml:doc#1.items[1]",
        "dir/x.yaml:doc#2",
    ]
    result = convert(manifests)
    assert only(lines(result, "error"), "overlaps").startswith("dir/x.yaml:doc#1.items[1] IPAddressPool/b")


def test_output_does_not_depend_on_input_order() -> None:
    objs = [
        pool("a", "10.0.0.0/24"),
        pool("b", "10.0.1.0/24", labels={"t": "x"}),
        pool("c", "fd00::/120"),
        l2("l2", "a", interfaces=["eth1"]),
        bgp("b1", ipAddressPoolSelectors=[{"matchLabels": {"t": "x"}}]),
        bgp("b2", "c", localPref=9),
        bgp("b3", "b", "c", communities=["x"]),
        obj(
            "Community", "cm", {"communities": [{"name": "x", "value": "1:2"}, {"name": "a", "value": "3:4"}]}
        ),
        peer("p2", peerAddress="192.0.2.2"),
        peer("p1"),
        obj("BFDProfile", "z"),
        obj("BFDProfile", "y"),
    ]
    first = run(*objs)
    assert first.config is not None and first.findings == ()
    rendered = render_config(first.config)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = objs[:]
        rng.shuffle(shuffled)
        again = run(*shuffled)
        assert again.config is not None
        assert render_config(again.config) == rendered
    assert ipaddress.ip_address("10.0.1.1") in first.config.pools[1].ranges[0]


def test_a_broken_pool_does_not_add_a_dangling_name_warning() -> None:
    result = run(pool("a", "10.0.0.0/33"), l2("l", "a"))
    assert result.config is None
    assert lines(result, "warning") == []
    assert len(lines(result, "error")) == 1


def test_yaml_is_read_like_kubectl_reads_it() -> None:
    """Unquoted ``64512:100`` stays a community (not a base-60 number); ``password: 1234`` stays text."""
    doc = """
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c}
spec:
  communities:
  - {name: lab, value: 64512:100}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: p}
spec: {myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, password: 1234}
"""
    manifests, findings = manifests_from_text(doc, "q.yaml")
    result = convert(manifests)
    assert findings == [] and result.config is not None
    assert result.config.bgp_communities == (("lab", Community("64512:100")),)
    assert result.config.peers[0].password == "1234"


def test_each_finding_is_one_printable_line() -> None:
    result = run(pool("evil\nerror: fake", "10.0.0.0/24"))
    (warning,) = lines(result, "warning")
    assert "\n" not in warning and "IPAddressPool/evil\\nerror: fake" in warning
