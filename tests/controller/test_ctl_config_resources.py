"""The controller's config as ``ironlb.io`` resources, on the real API server.

Pools come from IPAddressPools alone, the ConfigMap alone, or both; a pool's
``serviceAllocation.namespaceSelectors`` admits only Services of matching namespaces, and a
Namespace relabel frees or gives IPs; an invalid change (a new IPAddressPool overlapping
another) is on the controller's ``ConfigurationState`` with the offending object and field,
as a Warning Event on that object, while the last good config keeps serving.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from kubernetes import client

from tests.controller.conftest import Env, configmap, lb
from tests.support.waiting import wait_for

GROUP, VERSION = "ironlb.io", "v1beta1"
MERGE = "application/merge-patch+json"


def pool(name: str, *addresses: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "IPAddressPool",
        "metadata": {"name": name},
        "spec": {"addresses": list(addresses), **spec},
    }


def custom(env: Env) -> Any:
    return client.CustomObjectsApi(env.api)


def create_pool(env: Env, body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = custom(env).create_namespaced_custom_object(
        GROUP, VERSION, env.ns, "ipaddresspools", body
    )
    return out


def delete_pool(env: Env, name: str) -> None:
    custom(env).delete_namespaced_custom_object(GROUP, VERSION, env.ns, "ipaddresspools", name)


def state(env: Env) -> dict[str, Any]:
    """The controller's ConfigurationState's status ({} while there is none)."""
    try:
        obj = custom(env).get_namespaced_custom_object(
            GROUP, VERSION, env.ns, "configurationstates", "controller"
        )
    except client.exceptions.ApiException:
        return {}
    return dict(obj.get("status") or {})


def within(ip: str, cidr: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)


def events(env: Env, namespace: str, reason: str, name: str) -> list[dict[str, Any]]:
    resp = env.core.list_namespaced_event(namespace, _preload_content=False)
    return [
        e
        for e in json.loads(resp.data)["items"]
        if e.get("reason") == reason and (e.get("involvedObject") or {}).get("name") == name
    ]


def test_pools_from_resources_alone_from_the_configmap_alone_and_from_both(env: Env) -> None:
    made = create_pool(env, pool("res", "192.0.2.0/28"))
    ctl = env.controller()
    env.create(lb("a"))
    (ip_a,) = wait_for(lambda: env.ips("a"), what="a's IP from the IPAddressPool alone")
    assert within(ip_a, "192.0.2.0/28")
    status = wait_for(lambda: state(env).get("result") == "Valid" and state(env), what="ConfigurationState")
    assert status["configInForce"] == "Latest" and status["inForce"]["pools"] == ["res"]
    (observed,) = status["observedInputs"]
    assert observed["kind"] == "IPAddressPool" and observed["name"] == "res"
    assert observed["generation"] == made["metadata"]["generation"]

    # Both: the ConfigMap adds a pool beside the resource's.
    env.core.create_namespaced_config_map(
        env.ns, configmap("address-pools:\n- name: cm\n  protocol: layer2\n  addresses: [198.51.100.0/28]\n")
    )
    env.create(lb("b", {"ironlb.io/address-pool": "cm"}))
    (ip_b,) = wait_for(lambda: env.ips("b"), what="b's IP from the ConfigMap's pool")
    assert within(ip_b, "198.51.100.0/28") and env.ips("a") == [ip_a]
    wait_for(lambda: sorted(state(env).get("inForce", {}).get("pools", [])) == ["cm", "res"], what="both")
    kinds = {i["kind"] for i in state(env)["observedInputs"]}
    assert kinds == {"ConfigMap", "IPAddressPool"}

    # The ConfigMap alone: the resource's pool is gone, so a moves into the ConfigMap's.
    delete_pool(env, "res")
    wait_for(lambda: env.ips("a") and within(env.ips("a")[0], "198.51.100.0/28"), what="a moved")
    env.create(lb("c"))
    (ip_c,) = wait_for(lambda: env.ips("c"), what="c's IP from the ConfigMap alone")
    assert within(ip_c, "198.51.100.0/28")
    assert ctl.config.config is not None and [p.name for p in ctl.config.config.pools] == ["cm"]


def test_namespace_selectors_admit_matching_namespaces_and_a_relabel_moves_ips(env: Env) -> None:
    create_pool(
        env,
        pool(
            "tenant-a",
            "192.0.2.0/28",
            serviceAllocation={"namespaceSelectors": [{"matchLabels": {"team": "a"}}]},
        ),
    )
    inside, outside = env.kube.namespace("sel-in"), env.kube.namespace("sel-out")
    env.core.patch_namespace(inside, {"metadata": {"labels": {"team": "a"}}})
    env.controller()
    env.create({**lb("web"), "metadata": {"name": "web", "namespace": inside}})
    env.create({**lb("web"), "metadata": {"name": "web", "namespace": outside}})
    (ip,) = wait_for(lambda: env.ips("web", inside), what="the matching namespace's Service gets an IP")
    assert within(ip, "192.0.2.0/28")
    (failed,) = wait_for(lambda: events(env, outside, "AllocationFailed", "web"), what="refused outside")
    assert "tenant-a" in failed["message"], failed["message"]
    assert env.ips("web", outside) == []

    # The other namespace gets the label: its Service is admitted now.
    env.core.patch_namespace(outside, {"metadata": {"labels": {"team": "a"}}})
    (got,) = wait_for(lambda: env.ips("web", outside), what="an IP after the relabel")
    assert within(got, "192.0.2.0/28") and got != ip
    # The first loses the label: the pool no longer admits its Service, which loses its IP.
    env.core.patch_namespace(inside, {"metadata": {"labels": {"team": "b"}}})
    wait_for(lambda: env.ips("web", inside) == [], what="the IP freed when the pool stops admitting")
    wait_for(lambda: events(env, inside, "ClearAssignment", "web"), what="ClearAssignment said why")
    assert env.ips("web", outside) == [got]


def test_an_invalid_change_is_on_configurationstate_and_the_last_good_config_keeps_serving(
    env: Env,
) -> None:
    create_pool(env, pool("main", "192.0.2.0/28"))
    env.controller()
    env.create(lb("before"))
    (kept,) = wait_for(lambda: env.ips("before"), what="an IP under the good config")
    wait_for(lambda: state(env).get("result") == "Valid", what="the good config on ConfigurationState")

    bad = create_pool(env, pool("overlap", "192.0.2.8/29"))
    status = wait_for(
        lambda: state(env).get("result") == "Invalid" and state(env), what="the invalid change reported"
    )
    assert status["configInForce"] == "LastGood" and status["inForce"]["pools"] == ["main"]
    assert status["errorCount"] == 1
    (error,) = status["errors"]
    assert error["object"] == f"IPAddressPool {env.ns}/overlap"
    assert error["fieldPath"] == "spec.addresses[0]" and "overlaps" in error["message"]
    assert [i["name"] for i in status["inForceInputs"]] == ["main"]
    assert {i["name"] for i in status["observedInputs"]} == {"main", "overlap"}
    (warning,) = wait_for(
        lambda: events(env, env.ns, "ConfigInvalid", "overlap"), what="a Warning on the offending pool"
    )
    assert warning["type"] == "Warning" and warning["involvedObject"]["kind"] == "IPAddressPool"
    assert warning["involvedObject"]["uid"] == bad["metadata"]["uid"]
    assert "keeping the last good config" in warning["message"]
    assert "spec.addresses[0]" in warning["message"]

    # The last good config still serves: IPs kept, a new Service allocated from it.
    env.create(lb("after"))
    (new,) = wait_for(lambda: env.ips("after"), what="a new Service allocated from the last good config")
    assert within(new, "192.0.2.0/28") and env.ips("before") == [kept]

    delete_pool(env, "overlap")
    status = wait_for(lambda: state(env).get("result") == "Valid" and state(env), what="valid again")
    assert status["configInForce"] == "Latest" and status["errors"] == [] and status["errorCount"] == 0


def test_a_new_controller_keeps_the_ips_its_namespace_selectors_admit(env: Env) -> None:
    """Adoption reads the namespaces' labels too: a restart (or a new leader) changes no IP a pool
    under namespace selectors gave, and writes nothing."""
    create_pool(
        env,
        pool(
            "tenant", "192.0.2.0/28", serviceAllocation={"namespaceSelectors": [{"matchLabels": {"t": "1"}}]}
        ),
    )
    tenant = env.kube.namespace("sel-keep")
    env.core.patch_namespace(tenant, {"metadata": {"labels": {"t": "1"}}})
    first = env.controller("ctl-a")
    names = [f"s{i}" for i in range(3)]
    for name in names:
        env.create({**lb(name), "metadata": {"name": name, "namespace": tenant}})
    wait_for(lambda: all(env.ips(n, tenant) for n in names), what="every Service's IP")
    before = {n: env.ips(n, tenant) for n in names}
    env.stop(first)
    # Waiting while no controller runs: allocated first by the next one, after the adoption,
    # so it must not get an IP the others hold.
    env.create({**lb("late"), "metadata": {"name": "late", "namespace": tenant}})
    second = env.controller("ctl-b")
    (late,) = wait_for(lambda: env.ips("late", tenant), what="the waiting Service's IP")
    wait_for(second.settled, what="the new controller settled")
    assert {n: env.ips(n, tenant) for n in names} == before
    assert [late] not in before.values()
    written = {r.name for r in env.writes("ctl-b") if r.rbac_resource == "services/status"}
    assert written == {"late"}
