"""The pure reconciler, rule by rule, with plain Service dicts (no API, no threads)."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import pytest

from controller.options import parse_options
from controller.reconciler import POOL_ANNOTATION, reconcile
from ironlb.allocator import Allocator
from ironlb.config import parse_config
from ironlb.kube_types import Service
from ironlb.probes import split_address

CONFIG = parse_config(
    "address-pools:\n- name: p\n  protocol: layer2\n  addresses: [192.0.2.0/31]\n"
    "- name: q\n  protocol: layer2\n  auto-assign: false\n  addresses: [198.51.100.0/30]\n"
)


def service(
    name: str = "s",
    *,
    ips: tuple[str, ...] = (),
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> Service:
    obj: dict[str, Any] = {
        "kind": "Service",
        "metadata": {"name": name, "namespace": "ns", "annotations": annotations or {}},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }
    if ips:
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"} for ip in ips]}}
    return obj  # type: ignore[return-value]


def reasons(decision: Any) -> list[str]:
    return [e.reason for e in decision.events]


def test_pending_service_gets_an_ip_pool_annotation_and_ipallocated() -> None:
    alloc = Allocator(CONFIG)
    d = reconcile("ns/s", service(), alloc, None)
    assert d.ingress == ("192.0.2.0",) and d.annotations == {POOL_ANNOTATION: "p"}
    assert reasons(d) == ["IPAllocated"] and d.events[0].message == 'Assigned IP ["192.0.2.0"]'
    assert d.sync == "done" and d.refusal is None
    again = reconcile("ns/s", service(ips=("192.0.2.0",)), alloc, None)
    assert again.ingress == ("192.0.2.0",) and again.events == ()


def test_existing_status_is_kept_without_events() -> None:
    alloc = Allocator(CONFIG)
    d = reconcile("ns/s", service(ips=("192.0.2.1",)), alloc, None)
    assert d.ingress == ("192.0.2.1",) and d.events == ()
    assert alloc.assignment("ns/s") is not None


def test_deleted_service_frees_its_ip_and_asks_for_reprocessing() -> None:
    alloc = Allocator(CONFIG)
    reconcile("ns/s", service(), alloc, None)
    assert reconcile("ns/s", None, alloc, None).sync == "reprocess-all"
    assert alloc.assignment("ns/s") is None
    assert reconcile("ns/other", None, alloc, None).sync == "done"


def test_service_no_longer_a_load_balancer_is_cleared() -> None:
    alloc = Allocator(CONFIG)
    reconcile("ns/s", service(), alloc, None)
    d = reconcile(
        "ns/s", service(ips=("192.0.2.0",), annotations={POOL_ANNOTATION: "p"}, type="ClusterIP"), alloc, None
    )
    assert d.ingress == () and d.annotations == {POOL_ANNOTATION: None}
    assert reasons(d) == ["ClearAssignment"] and d.sync == "reprocess-all"
    assert "no longer of type LoadBalancer" in d.events[0].message


def test_other_class_status_is_not_touched_unless_ironlb_wrote_it() -> None:
    alloc = Allocator(CONFIG)
    theirs = service(ips=("192.0.2.0",), loadBalancerClass="example.com/x")
    assert reconcile("ns/s", theirs, alloc, None) == reconcile("ns/s", theirs, alloc, None)
    d = reconcile("ns/s", theirs, alloc, None)
    assert d.ingress is None and d.annotations == {} and d.events == ()
    # After a restart: ironlb's annotation and an IP from ironlb's pools -> ironlb wrote it.
    ours = service(ips=("192.0.2.0",), annotations={POOL_ANNOTATION: "p"}, loadBalancerClass="example.com/x")
    d = reconcile("ns/s", ours, alloc, None)
    assert d.ingress == () and reasons(d) == ["ClearAssignment"]
    # With a configured class, class-less Services are not ironlb's.
    assert reconcile("ns/t", service("t"), alloc, "ironlb.io/lb").ingress is None


def test_refusal_is_reported_once_per_reason() -> None:
    alloc = Allocator(CONFIG)
    d = reconcile("ns/s", service(annotations={"ironlb.io/address-pool": "nope"}), alloc, None)
    assert d.ingress is None and reasons(d) == ["AllocationFailed"] and d.events[0].type == "Warning"
    assert 'address pool "nope" does not exist' in d.events[0].message and d.refusal
    again = reconcile(
        "ns/s",
        service(annotations={"ironlb.io/address-pool": "nope"}),
        alloc,
        None,
        previous_refusal=d.refusal,
    )
    assert again.events == () and again.refusal == d.refusal


def test_malformed_service_is_refused_with_the_field_named() -> None:
    d = reconcile("ns/s", service(loadBalancerIP="300.1.2.3"), Allocator(CONFIG), None)
    assert reasons(d) == ["AllocationFailed"] and "spec.loadBalancerIP" in d.events[0].message


def test_lost_ip_that_cannot_be_replaced_clears_status_and_says_so() -> None:
    alloc = Allocator(CONFIG)
    reconcile("ns/a", service("a"), alloc, None)
    reconcile("ns/b", service("b"), alloc, None)  # the pool is now full
    d = reconcile(
        "ns/c", service("c", ips=("203.0.113.7",), annotations={POOL_ANNOTATION: "old"}), alloc, None
    )
    assert d.ingress == () and d.annotations == {POOL_ANNOTATION: None}
    assert reasons(d) == ["ClearAssignment", "AdditionalAssignFailed"]
    assert "203.0.113.7" in d.events[1].message


def test_changed_request_moves_the_ip_and_frees_the_old_one() -> None:
    alloc = Allocator(CONFIG)
    reconcile("ns/s", service(), alloc, None)
    d = reconcile("ns/s", service(ips=("192.0.2.0",), loadBalancerIP="198.51.100.1"), alloc, None)
    assert d.ingress == ("198.51.100.1",) and d.annotations == {POOL_ANNOTATION: "q"}
    assert reasons(d) == ["ClearAssignment", "IPAllocated"] and d.sync == "reprocess-all"


def test_options_flags_env_and_defaults() -> None:
    o = parse_options([], env={})
    assert (o.namespace, o.configmap, o.metrics_address, o.leader_elect) == (
        "ironlb-system",
        "ironlb",
        ":7472",
        True,
    )
    assert (o.lease_duration, o.renew_deadline, o.retry_period, o.log_format) == (15.0, 10.0, 2.0, "text")
    o = parse_options(
        ["--namespace", "x", "--no-leader-elect"], env={"IRONLB_NAMESPACE": "y", "POD_NAME": "p"}
    )
    assert (o.namespace, o.leader_elect, o.instance) == ("x", False, "p")
    # The Lease identity is unique per process, as client-go's callers make it: POD_NAME_<uuid>.
    prefix, _, unique = o.identity.partition("_")
    assert prefix == "p" and str(uuid.UUID(unique)) == unique
    assert parse_options([], env={"POD_NAME": "p"}).identity != o.identity
    assert parse_options([], env={}).identity.startswith(socket.gethostname() + "_")
    assert parse_options(["--identity", "mine"], env={"POD_NAME": "p"}).identity == "mine"  # verbatim
    assert parse_options([], env={"IRONLB_IDENTITY": "theirs"}).identity == "theirs"
    assert parse_options([], env={"IRONLB_NAMESPACE": "y"}).namespace == "y"
    with pytest.raises(SystemExit):
        parse_options(["--lease-duration", "5", "--renew-deadline", "6"], env={})
    # ":PORT" is every address: both families where the kernel has IPv6, as for the speaker
    assert split_address(":7472") == ("", 7472) and split_address("[::1]:80") == ("::1", 80)


def test_a_dual_stack_ipallocated_reads_as_metallbs() -> None:
    """MetalLB writes ``Assigned IP %q`` of its IP list: Go's slice format, quoted, no comma."""
    dual = parse_config(
        "address-pools:\n- name: d\n  protocol: layer2\n  addresses: [192.0.2.0/31, 2001:db8::/127]\n"
    )
    d = reconcile(
        "ns/s", service(ipFamilyPolicy="RequireDualStack", ipFamilies=["IPv4", "IPv6"]), Allocator(dual), None
    )
    assert [e.message for e in d.events] == ['Assigned IP ["192.0.2.0" "2001:db8::"]']
