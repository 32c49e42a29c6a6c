"""The controller when its leader's API calls hang (accepted by the server, never answered).

Against the API-server double: holding a request unanswered, then serving it late or dropping
it, is what a real kube-apiserver cannot be made to do on demand. Everything else about the
controller runs against the real API server (the other modules here).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from controller.options import ControllerOptions
from controller.runtime import Controller
from ironlb.kube.client import make_api_client
from tests.controller.conftest import POOLS, lb
from tests.support.kubeapi import KubeApiServer, by_plural
from tests.support.waiting import returns_within, wait_for

NS = "ironlb-system"


@dataclass
class DoubleEnv:
    server: KubeApiServer
    tmp: Path
    api: client.ApiClient
    controllers: list[Controller] = field(default_factory=list)

    @property
    def core(self) -> Any:
        return client.CoreV1Api(self.api)

    def set_config(self, text: str) -> None:
        self.core.create_namespaced_config_map(NS, {"metadata": {"name": "ironlb"}, "data": {"config": text}})

    def create(self, body: dict[str, Any]) -> None:
        self.core.create_namespaced_service("default", body)

    def ips(self, name: str) -> list[str]:
        svc = self.server.store.get(by_plural("services"), "default", name)
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        return [e["ip"] for e in ingress if e.get("ip")]

    def all_ips(self) -> dict[str, tuple[str, ...]]:
        return {
            s["metadata"]["name"]: tuple(self.ips(s["metadata"]["name"]))
            for s in self.server.store.list_objects(by_plural("services"))
        }

    def events(self, reason: str, name: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.server.store.list_objects(by_plural("events"))
            if e.get("reason") == reason and (e.get("involvedObject") or {}).get("name") == name
        ]

    def writes(self, user: str | None = None) -> list[Any]:
        return [
            r
            for r in self.server.requests()
            if r.verb in ("create", "update", "patch", "delete") and (user is None or r.user == user)
        ]

    def ingress_history(self) -> dict[str, list[tuple[str, ...]]]:
        """Every distinct non-empty ingress written per Service, in order, from the store's event log."""
        hist: dict[str, list[tuple[str, ...]]] = {}
        with self.server.store.cond:
            events = list(self.server.store._history.get(by_plural("services"), ()))
        for ev in events:
            ingress = ((ev.obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            ips = tuple(sorted(e.get("ip", "") for e in ingress))
            seen = hist.setdefault(ev.obj["metadata"]["name"], [])
            if ips and (not seen or seen[-1] != ips):
                seen.append(ips)
        return hist

    def lease_holder(self) -> str:
        try:
            lease = self.server.store.get(by_plural("leases", "coordination.k8s.io"), NS, "ironlb-controller")
        except Exception:
            return ""
        return str((lease.get("spec") or {}).get("holderIdentity") or "")

    def controller(self, token: str, **kw: Any) -> Controller:
        kubeconfig = self.tmp / f"kubeconfig-{token}"
        self.server.write_kubeconfig(kubeconfig, token=token)
        opts = ControllerOptions(
            kubeconfig=str(kubeconfig), identity=token, metrics_address="127.0.0.1:0", **kw
        )
        ctl = Controller(opts, api_client=make_api_client(opts.kubeconfig)).start()
        self.controllers.append(ctl)
        return ctl


@pytest.fixture
def env(tmp_path: Path) -> Iterator[DoubleEnv]:
    with KubeApiServer(bookmark_interval=0.5) as server:
        api = make_api_client(str(server.write_kubeconfig(tmp_path / "kubeconfig-test", token="test")))
        e = DoubleEnv(server, tmp_path, api)
        e.core.create_namespace({"metadata": {"name": NS}})
        try:
            yield e
        finally:
            server.unhang(drop=True)
            for ctl in e.controllers:
                with suppress(Exception):
                    ctl.stop()
                    ctl.api.close()
            api.close()  # type: ignore[no-untyped-call]


def reads_lease(env: DoubleEnv, token: str) -> bool:
    return any(r.resource == "leases" and r.verb == "get" and r.user == token for r in env.server.requests())


def create_batch(env: DoubleEnv, prefix: str, n: int) -> list[str]:
    names = [f"{prefix}-{i}" for i in range(n)]
    for name in names:
        env.create(lb(name, allocateLoadBalancerNodePorts=False))
    return names


# -- the leader's API calls hang (accepted, never answered) --------------------------------
# Lease of 3 s, renew deadline 1 s: the old leader must have stopped writing 2 s before the
# standby may take over. In-process controllers, each with its own token, so the double's
# log tells their requests apart.
HANG = {"lease_duration": 3.0, "renew_deadline": 1.0, "retry_period": 0.2}


def status_patches(env: DoubleEnv, user: str) -> list[Any]:
    return [
        r
        for r in env.server.requests()
        if r.user == user and r.verb == "patch" and r.rbac_resource == "services/status"
    ]


def strand_the_leader(env: DoubleEnv, a: Controller, service: str) -> None:
    """ctl-a's status write for a new Service ``service`` is caught in flight (accepted by the server,
    never answered), then its Lease renewals hang as well, until ctl-a stops counting itself leader."""
    env.server.hang("patch", "services/status", user="ctl-a", name=service)
    env.create(lb(service))
    assert env.server.wait_hung(1, 20), f"ctl-a's status patch of {service!r} is held"
    env.server.hang("update", "leases", user="ctl-a")
    assert env.server.wait_hung(2, 20), "ctl-a's renewal is held"
    wait_for(lambda: not returns_within(a.is_leader), 20, "ctl-a stops counting itself leader")


def test_leader_with_hung_lease_writes_stops_writing_before_the_standby_starts(env: DoubleEnv) -> None:
    env.set_config(POOLS)
    a = env.controller("ctl-a", **HANG)
    wait_for(a.settled, 20, "ctl-a leads")
    b = env.controller("ctl-b", **HANG)
    wait_for(lambda: reads_lease(env, "ctl-b"), 20, "ctl-b running as a standby")
    names = create_batch(env, "before", 3)
    wait_for(lambda: all(env.ips(n) for n in names), 20, "assigned by ctl-a")

    try:
        strand_the_leader(env, a, "caught")
        assert env.lease_holder() == "ctl-a" and not returns_within(b.is_leader)  # nobody may take over yet
        env.create(lb("during"))  # not hung: ctl-a must leave it to the next leader by itself

        wait_for(lambda: env.lease_holder() == "ctl-b", 20, "ctl-b takes over once the Lease expired")
        wait_for(lambda: env.ips("caught") and env.ips("during"), 20, "ctl-b assigns what ctl-a left")
        b_first = min(r.at for r in env.writes("ctl-b") if r.resource in ("services", "events"))
        # While its calls hang, nothing of ctl-a's is logged after ctl-b's first write.
        assert not [r for r in env.writes("ctl-a") if r.at >= b_first]
        assert all(r.at < b_first for r in status_patches(env, "ctl-a"))

        # The held requests arrive now, late. Each carries the resourceVersion ctl-a decided on;
        # ctl-b has written 'caught' (and the Lease) since, so none of them is applied.
        assert env.server.unhang() >= 2
        late = [r for r in env.writes("ctl-a") if r.at >= b_first]
        assert late and all(r.code == 409 for r in late), [(r.rbac_resource, r.code) for r in late]
        assert [r.code for r in status_patches(env, "ctl-a") if r.name == "caught"] == [409]
        assert not [r for r in env.writes("ctl-a") if r.name == "during"]
        # Writes never interleave: Service status writes come in one block per leader, in order.
        writers = [r.user for r in env.writes() if r.rbac_resource == "services/status" and r.code < 300]
        assert [k for k, _ in groupby(writers)] == ["ctl-a", "ctl-b"]
        wait_for(
            lambda: not a.active() and a.elector is not None and a.elector.holder == "ctl-b",
            20,
            "ctl-a a standby",
        )
        last = create_batch(env, "after", 2)
        wait_for(lambda: all(env.ips(n) for n in last), 20, "assigned by ctl-b")
        history = env.ingress_history()
        assert all(len(v) == 1 for v in history.values()), history  # no Service ever had two IPs
        final = [ips for ips in env.all_ips().values() if ips]
        assert len(final) == len(set(final)) == 7
    finally:
        env.server.unhang(drop=True)  # on failure: let hung calls end before the controllers stop


ONE_IP = """\
address-pools:
- name: main
  protocol: layer2
  addresses: [10.200.0.1/32]
"""


def test_late_write_of_the_old_leader_to_a_service_the_new_leader_left_alone_is_repaired(
    env: DoubleEnv,
) -> None:
    """The limit of the guard, shown: a write held longer than the Lease margin still lands.

    ctl-a's status patch giving the pool's only IP to 'b-first' is held. ctl-b takes over and,
    with one worker (so in order), gives that IP to 'a-second' and refuses 'b-first' without
    writing it. ctl-a's patch then arrives: its resourceVersion is still current, so it is
    applied, as kube-apiserver would (no request timeout can recall bytes already sent), and
    two Services show the same IP until ctl-b, seeing the change, clears 'b-first'.
    """
    env.set_config(ONE_IP)
    a = env.controller("ctl-a", **HANG)
    wait_for(a.settled, 20, "ctl-a leads")
    b = env.controller("ctl-b", workers=1, **HANG)
    wait_for(lambda: reads_lease(env, "ctl-b"), 20, "ctl-b running as a standby")
    try:
        strand_the_leader(env, a, "b-first")
        env.create(lb("a-second"))
        wait_for(lambda: env.ips("a-second") == ["10.200.0.1"], 20, "ctl-b gives the IP to 'a-second'")
        wait_for(lambda: env.events("AllocationFailed", "b-first"), 20, "ctl-b refuses 'b-first'")
        assert b.is_leader() and env.ips("b-first") == []
        b_first_write = min(r.at for r in env.writes("ctl-b") if r.resource == "services")
        env.server.unhang()
        late = status_patches(env, "ctl-a")[-1]
        assert (late.name, late.code) == ("b-first", 200) and late.at > b_first_write  # applied, late
        wait_for(lambda: env.ips("b-first") == [], 20, "ctl-b clears the IP ctl-a wrote late")
        repair = [r for r in status_patches(env, "ctl-b") if r.name == "b-first" and r.code == 200]
        assert repair and repair[-1].at > late.at
        assert env.ips("a-second") == ["10.200.0.1"] and env.ingress_history()["b-first"] == [("10.200.0.1",)]
    finally:
        env.server.unhang(drop=True)
