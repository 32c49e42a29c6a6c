"""End to end on the real API server: Services of every kind are created, changed and deleted,
and the controller writes status, annotation and Events as a user would see them."""

from __future__ import annotations

import ipaddress
from typing import Any

from tests.controller.conftest import EVERYTHING, Env, everything_but, lb
from tests.support.waiting import wait_for

CONFIG = """\
address-pools:
- name: main
  protocol: layer2
  addresses: [192.0.2.10-192.0.2.19]
- name: v6
  protocol: layer2
  addresses: [2001:db8::/120]
- name: dual
  protocol: layer2
  auto-assign: false
  addresses: [203.0.113.0/28, 2001:db8:1::/124]
- name: manual
  protocol: layer2
  auto-assign: false
  addresses: [198.51.100.0/28]
"""

POOL = "ironlb.io/ip-allocated-from-pool"


def annots(env: Env, name: str) -> dict[str, str]:
    return dict(env.service(name)["metadata"].get("annotations") or {})


def messages(env: Env, reason: str, name: str) -> list[str]:
    return [str(e["message"]) for e in env.events(reason, name)]


def patch(env: Env, name: str, body: dict[str, Any]) -> None:
    env.core.patch_namespaced_service(name, env.ns, body, _content_type="application/merge-patch+json")


def test_every_kind_of_service_end_to_end(env: Env) -> None:
    env.set_config(CONFIG)
    env.controller()
    env.create(lb("plain"))
    env.create(lb("legacy-ip", loadBalancerIP="198.51.100.5"))
    env.create(lb("annotated-ip", annotations={"ironlb.io/loadBalancerIPs": "198.51.100.6"}))
    env.create(lb("metallb-ip", annotations={"metallb.universe.tf/loadBalancerIPs": "198.51.100.7"}))
    env.create(lb("pool", annotations={"metallb.io/address-pool": "manual"}))
    env.create(lb("six", ipFamilies=["IPv6"], ipFamilyPolicy="SingleStack"))
    env.create(lb("dual", annotations={"ironlb.io/address-pool": "dual"}, ipFamilyPolicy="RequireDualStack"))
    shared = {"ironlb.io/allow-shared-ip": "k", "ironlb.io/address-pool": "manual"}
    env.create(lb("share-a", annotations=shared, ports=[{"port": 80, "protocol": "TCP"}]))
    env.create(lb("share-b", annotations=shared, ports=[{"port": 443, "protocol": "TCP"}]))
    env.create(lb("no-pool", annotations={"ironlb.io/address-pool": "nope"}))
    env.create(lb("other-class", loadBalancerClass="example.com/other"))
    env.create({"metadata": {"name": "cluster"}, "spec": {"ports": [{"port": 80}]}})

    names = ["plain", "legacy-ip", "annotated-ip", "metallb-ip", "pool", "six", "dual", "share-a", "share-b"]
    wait_for(lambda: all(env.ips(n) for n in names), what="every Service assigned")
    wait_for(lambda: all(POOL in annots(env, n) for n in names), what="pool annotations")
    assert ipaddress.ip_address(env.ips("plain")[0]) in ipaddress.ip_network("192.0.2.0/24")
    assert annots(env, "plain")[POOL] == "main"
    assert env.ips("legacy-ip") == ["198.51.100.5"]
    assert env.ips("annotated-ip") == ["198.51.100.6"]
    assert env.ips("metallb-ip") == ["198.51.100.7"]
    assert annots(env, "pool")[POOL] == "manual"
    assert ipaddress.ip_address(env.ips("six")[0]).version == 6
    assert annots(env, "six")[POOL] == "v6"
    assert sorted(ipaddress.ip_address(ip).version for ip in env.ips("dual")) == [4, 6]
    assert env.ips("share-a") == env.ips("share-b")
    ingress = env.service("plain")["status"]["loadBalancer"]["ingress"]
    assert ingress == [{"ip": env.ips("plain")[0], "ipMode": "VIP"}]
    wait_for(lambda: messages(env, "AllocationFailed", "no-pool"), what="AllocationFailed")
    assert 'address pool "nope" does not exist' in messages(env, "AllocationFailed", "no-pool")[0]
    wait_for(lambda: messages(env, "IPAllocated", "plain"), what="IPAllocated event")
    assert env.ips("plain")[0] in messages(env, "IPAllocated", "plain")[0]
    assert env.ips("no-pool") == [] and env.ips("other-class") == [] and env.ips("cluster") == []
    assert POOL not in annots(env, "other-class")

    # Update: a new requested IP moves the Service; the old one is released.
    patch(env, "annotated-ip", {"metadata": {"annotations": {"ironlb.io/loadBalancerIPs": "198.51.100.9"}}})
    wait_for(lambda: env.ips("annotated-ip") == ["198.51.100.9"], what="moved to the new requested IP")
    wait_for(lambda: messages(env, "ClearAssignment", "annotated-ip"), what="ClearAssignment on move")

    # Update: no longer a LoadBalancer -> status and annotation cleared, Event.
    patch(env, "plain", {"spec": {"type": "ClusterIP"}})
    wait_for(lambda: env.ips("plain") == [] and POOL not in annots(env, "plain"), what="cleared")
    wait_for(lambda: messages(env, "ClearAssignment", "plain"), what="ClearAssignment")
    assert "no longer of type LoadBalancer" in messages(env, "ClearAssignment", "plain")[0]

    # (A LoadBalancer Service's class cannot change: the API server refuses it, 422.)

    # Update: the unknown pool is fixed -> assigned.
    patch(env, "no-pool", {"metadata": {"annotations": {"ironlb.io/address-pool": "manual"}}})
    wait_for(lambda: env.ips("no-pool"), what="assigned once the pool exists")

    # Delete: the IP becomes free for another Service that asks for it.
    legacy = env.ips("legacy-ip")[0]
    env.core.delete_namespaced_service("legacy-ip", env.ns)
    env.create(lb("takes-freed", loadBalancerIP=legacy))
    wait_for(lambda: env.ips("takes-freed") == [legacy], what="freed IP reused")

    # No IP was ever held by two Services that do not share it, nor written twice differently.
    held: dict[str, str] = {}
    for key, ips in env.all_ips().items():
        for ip in ips:
            assert key.endswith("share-a") or key.endswith("share-b") or ip not in held, (ip, key, held)
            held[ip] = key


def test_exhausted_pool_waits_and_gets_a_freed_ip(env: Env) -> None:
    env.set_config("address-pools:\n- name: tiny\n  protocol: layer2\n  addresses: [192.0.2.0/31]\n")
    env.controller()
    for name in ("a", "b", "c"):
        env.create(lb(name))
    # Two get the pool's two IPs (in whatever order the workers took them), the third waits.
    wait_for(lambda: sum(1 for n in "abc" if env.ips(n)) == 2, what="two assigned")
    (waiting,) = wait_for(lambda: [n for n in "abc" if messages(env, "AllocationFailed", n)], what="refusal")
    assert env.ips(waiting) == []
    assert "no available IPs" in messages(env, "AllocationFailed", waiting)[0]
    holder = next(n for n in "abc" if n != waiting)
    freed = env.ips(holder)
    patch(env, holder, {"spec": {"type": "ClusterIP"}})  # frees its IP: the waiting one is reprocessed
    wait_for(lambda: env.ips(waiting) == freed, what="the waiting Service gets the freed IP")
    assert [e["count"] for e in env.events("AllocationFailed", waiting)] == [1]
    other = next(n for n in "abc" if n not in (waiting, holder))
    env.core.delete_namespaced_service(other, env.ns)
    env.create(lb("d"))
    wait_for(lambda: env.ips("d"), what="d gets the deleted Service's IP")


def test_failed_writes_are_retried_with_backoff_without_blocking_other_writes(env: Env) -> None:
    env.set_config(CONFIG)
    # ctl-a may write the status of every Service but r0 (RBAC resourceNames): r0's write is
    # refused (403) and retried with backoff while the others are written, IP and pool together.
    names = [f"r{i}" for i in range(5)]
    ctl = env.controller(
        rules=[
            *everything_but("patch", "services/status"),
            {
                "apiGroups": [""],
                "resources": ["services/status"],
                "verbs": ["patch"],
                "resourceNames": names[1:],
            },
        ]
    )
    for name in names:
        env.create(lb(name))
    wait_for(lambda: all(env.ips(n) and POOL in annots(env, n) for n in names[1:]), what="others written")
    wait_for(lambda: ctl.metrics.update_errors._value.get() >= 2, what="r0's write failed and was retried")
    assert not env.ips("r0") and POOL not in annots(env, "r0")
    refused = {r.name for r in env.writes("ctl-a") if r.rbac_resource == "services/status" and r.code == 403}
    assert refused == {"r0"}
    env.kube.set_rules(env.roles["ctl-a"], EVERYTHING)  # the grant is fixed
    wait_for(lambda: env.ips("r0") and POOL in annots(env, "r0"), what="r0 written on retry")
    assert all(len(v) == 1 for v in env.ingress_history().values())


def test_configured_class_serves_only_services_of_that_class(env: Env) -> None:
    env.set_config(CONFIG)
    ctl = env.controller(lb_class="ironlb.io/lb")
    env.create(lb("mine", loadBalancerClass="ironlb.io/lb"))
    env.create(lb("classless"))
    wait_for(lambda: env.ips("mine"), what="Service of ironlb's class assigned")
    wait_for(ctl.settled, what="idle")
    assert env.ips("classless") == [] and POOL not in annots(env, "classless")
    assert [r.name for r in env.writes("ctl-a") if r.resource == "services"] == ["mine"]
