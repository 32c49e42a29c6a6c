"""Config trouble, on the real API server: nothing is written without a valid config; an invalid
one changes nothing, is reported (Warning Event on the ConfigMap, log with paths, metric), and a
later valid one wins."""

from __future__ import annotations

import logging
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ironlb.version import python_version, version
from tests.controller.conftest import Env, lb
from tests.support.waiting import wait_for

GOOD = "address-pools:\n- name: first\n  protocol: layer2\n  addresses: [192.0.2.0/28]\n"
BAD = (
    "address-pools:\n- name: first\n  protocol: layer2\n  addresses: [192.0.2.0/33]\n"
    "- name: second\n  protocol: carrier-pigeon\n  addresses: [198.51.100.0/28]\n"
)
NEXT = "address-pools:\n- name: next\n  protocol: layer2\n  addresses: [203.0.113.0/28]\n"


def scrape(port: int | None) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def probe(port: int | None, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def config_events(env: Env) -> list[str]:
    return [str(e["message"]) for e in env.events("ConfigInvalid", "ironlb") if e["type"] == "Warning"]


def test_nothing_is_written_until_a_valid_config_arrives(env: Env) -> None:
    env.create(lb("early"))
    ctl = env.controller()
    wait_for(lambda: ctl.source.synced and ctl.is_leader(), what="listed and leading")
    wait_for(lambda: config_events(env), what="Warning about the missing config")
    assert f"ConfigMap {env.ns}/ironlb not found" in config_events(env)[0]
    assert probe(ctl.metrics_port, "/readyz") == 503 and probe(ctl.metrics_port, "/healthz") == 200
    m = scrape(ctl.metrics_port)
    assert m["ironlb_config_loaded_bool"] == 0 and m["ironlb_config_stale_bool"] == 1
    assert [r for r in env.writes("ctl-a") if r.resource == "services"] == []
    env.set_config(GOOD)
    wait_for(lambda: env.ips("early"), what="assigned once the config is valid")
    assert probe(ctl.metrics_port, "/readyz") == 200


def test_invalid_config_changes_nothing_and_a_later_valid_one_is_picked_up(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    env.set_config(GOOD)
    ctl = env.controller()
    env.create(lb("a"))
    wait_for(lambda: env.ips("a"), what="a assigned")
    wait_for(ctl.settled, what="idle")
    m = scrape(ctl.metrics_port)
    assert m["ironlb_config_loaded_bool"] == 1 and m["ironlb_config_stale_bool"] == 0
    assert m['ironlb_allocator_addresses_total{pool="first"}'] == 16
    assert m['ironlb_allocator_addresses_in_use_total{pool="first"}'] == 1
    assert m["ironlb_leader_bool"] == 1
    with urllib.request.urlopen(f"http://127.0.0.1:{ctl.metrics_port}/metrics", timeout=10) as resp:
        families = {f.name: f for f in text_string_to_metric_families(resp.read().decode())}
    (build,) = families["ironlb_build_info"].samples
    assert build.labels == {
        "version": version(),
        "python_version": python_version(),
        "program": "ironlb-controller",
    }
    assert build.value == 1
    assert m["ironlb_k8s_client_updates_total"] == 1  # the IP and its pool annotation in one write
    before = env.all_ips()

    caplog.set_level(logging.ERROR, logger="controller.runtime")
    since = time.time()
    env.set_config(BAD)
    wait_for(lambda: config_events(env), what="Warning Event on the ConfigMap")
    message = config_events(env)[0]
    assert "address-pools[0].addresses[0]" in message and "address-pools[1].protocol" in message
    event = env.events("ConfigInvalid", "ironlb")[0]
    assert event["involvedObject"]["kind"] == "ConfigMap" and event["metadata"]["namespace"] == env.ns
    wait_for(lambda: scrape(ctl.metrics_port)["ironlb_config_stale_bool"] == 1, what="stale metric")
    assert scrape(ctl.metrics_port)["ironlb_config_loaded_bool"] == 1
    logged = [r.getMessage() for r in caplog.records]
    assert any("address-pools[0].addresses[0]" in m for m in logged)
    assert any("address-pools[1].protocol" in m for m in logged)

    # Still running on the last good config: nothing changes, new Services are served from it.
    env.create(lb("b"))
    wait_for(lambda: env.ips("b"), what="b assigned from the last good config")
    wait_for(ctl.settled, what="idle")
    assert env.ips("b")[0].startswith("192.0.2.")
    assert {k: v for k, v in env.all_ips().items() if k != "b"} == before
    assert [r.name for r in env.writes("ctl-a") if r.resource == "services" and r.at >= since] == ["b"]

    env.set_config(NEXT)
    wait_for(
        lambda: all(ip.startswith("203.0.113.") for n in ("a", "b") for ip in env.ips(n) or ["x"]),
        what="Services moved to the new pool",
    )
    wait_for(lambda: scrape(ctl.metrics_port)["ironlb_config_stale_bool"] == 0, what="stale cleared")
    m = scrape(ctl.metrics_port)
    assert m['ironlb_allocator_addresses_in_use_total{pool="next"}'] == 2
    assert 'ironlb_allocator_addresses_total{pool="first"}' not in m
    assert env.service("a")["metadata"]["annotations"]["ironlb.io/ip-allocated-from-pool"] == "next"
