"""Keep the last good config: the one judge the controller, its manifest mode and the speaker share.

Pure (state, reading) -> state, so every case is a table row; the log adapter is checked
through the log records it makes. The programs' own tests show each publishing it
(Events and metrics on the real API server, the speaker's /readyz and metrics).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from controller.configfollow import event_message
from ironlb.config import parse_config
from ironlb.programs.configstate import (
    ConfigReading,
    ConfigState,
    judge,
    log_state,
    read_config,
    read_configmap,
)

GOOD = "address-pools:\n- name: a\n  protocol: layer2\n  addresses: [192.0.2.0/28]\n"
OTHER = "address-pools:\n- name: b\n  protocol: layer2\n  addresses: [198.51.100.0/28]\n"
BAD = "address-pools:\n- name: a\n  addresses: [x]\n"
WHERE: dict[str, Any] = {"namespace": "ns", "name": "ironlb"}


def cm(text: str, version: str = "1") -> Any:
    return {
        "metadata": {"name": "ironlb", "namespace": "ns", "resourceVersion": version},
        "data": {"config": text},
    }


def test_a_valid_reading_is_in_effect() -> None:
    reading = read_configmap(cm(GOOD, "7"), **WHERE)
    assert reading.config == parse_config(GOOD) and reading.problems == () and not reading.missing
    assert [(i.kind, i.namespace, i.name, i.resource_version) for i in reading.inputs] == [
        ("ConfigMap", "ns", "ironlb", "7")
    ]
    state = judge(ConfigState(), reading)
    assert state.config == parse_config(GOOD) and not state.stale and not state.keeps_last_good


def test_an_invalid_one_keeps_the_last_good_config_and_names_every_problem() -> None:
    good = judge(ConfigState(), read_configmap(cm(GOOD), **WHERE))
    bad = judge(good, read_configmap(cm(BAD, "2"), **WHERE))
    assert bad.config is good.config and bad.stale and bad.keeps_last_good
    assert [i.resource_version for i in bad.inputs] == ["2"]
    assert all(str(p.object) == "ConfigMap ns/ironlb" for p in bad.problems)
    assert any(p.path.startswith("address-pools[0].") for p in bad.problems)
    assert "keeping the last good config" in event_message(bad)
    # Fixed: in effect again, the same config object when nothing changed.
    assert judge(bad, read_configmap(cm(GOOD, "3"), **WHERE)).config is good.config
    assert judge(bad, read_configmap(cm(OTHER, "4"), **WHERE)).config == parse_config(OTHER)


def test_a_missing_configmap_is_said_so_and_keeps_the_last_good_one() -> None:
    missing = read_configmap(None, **WHERE)
    assert missing.missing and missing.config is None
    assert [p.in_object() for p in missing.problems] == ["(root): ConfigMap ns/ironlb not found"]
    nothing = judge(ConfigState(), missing)
    assert nothing.config is None and nothing.stale and not nothing.keeps_last_good
    assert "no valid config yet, assigning nothing" in event_message(nothing)
    good = judge(ConfigState(), read_configmap(cm(GOOD), **WHERE))
    assert judge(good, missing).config is good.config


def test_warnings_come_with_a_valid_config() -> None:
    reading = read_configmap(
        cm("address-pools:\n- name: a\n  protocol: layer2\n  addresses: [192.0.2.1/28]\n"), **WHERE
    )
    assert reading.config is not None
    (warning,) = reading.warnings
    assert warning.path == "address-pools[0].addresses[0]" and "192.0.2.0/28" in warning.message


def test_a_reading_without_config_or_problems_is_still_not_in_effect() -> None:
    state = judge(ConfigState(), ConfigReading(None))
    assert state.stale and state.config is None


def test_the_log_says_each_change_once(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.configstate")
    caplog.set_level(logging.INFO, logger="test.configstate")
    states = [ConfigState()]
    for reading in [
        read_configmap(None, **WHERE),
        read_configmap(cm(GOOD), **WHERE),
        read_configmap(cm(BAD, "2"), **WHERE),
        read_configmap(cm(BAD, "2"), **WHERE),  # the same version again: nothing new to say
    ]:
        states.append(judge(states[-1], reading))
        log_state(log, states[-2], states[-1], "ns/ironlb")
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines[:2] == [
        ("ERROR", "config ns/ironlb: ConfigMap ns/ironlb: (root): ConfigMap ns/ironlb not found"),
        ("ERROR", "config ns/ironlb is not usable; waiting for a valid one"),
    ]
    assert lines[2] == ("INFO", "config ns/ironlb loaded: 1 pools")
    assert lines[-1] == ("ERROR", "config ns/ironlb is not usable; keeping the last good one")
    assert [level for level, _ in lines[3:-1]] == ["ERROR"] * (len(lines) - 4)
    assert all(
        text.startswith("config ns/ironlb: ConfigMap ns/ironlb: address-pools[0]") for _, text in lines[3:-1]
    )


def resource(kind: str, name: str, spec: dict[str, Any], generation: int = 1) -> dict[str, Any]:
    meta = {
        "name": name,
        "namespace": "ns",
        "generation": generation,
        "resourceVersion": str(10 + generation),
    }
    return {"apiVersion": "ironlb.io/v1beta1", "kind": kind, "metadata": meta, "spec": spec}


POOL = resource("IPAddressPool", "res", {"addresses": ["198.51.100.0/28"]}, generation=3)
PEER = resource(
    "BGPPeer",
    "edge",
    {"myASN": 64500, "peerASN": 64501, "peerAddress": "192.0.2.254", "passwordSecret": {"name": "bgp"}},
)


def test_the_configmap_and_resources_are_read_together_with_their_generations() -> None:
    reading = read_config(cm(GOOD, "7"), [POOL], **WHERE)
    assert reading.config is not None and [p.name for p in reading.config.pools] == ["a", "res"]
    assert [(i.kind, i.name, i.generation, i.resource_version) for i in reading.inputs] == [
        ("ConfigMap", "ironlb", None, "7"),
        ("IPAddressPool", "res", 3, "13"),
    ]
    alone = read_config(None, [POOL], **WHERE)
    assert alone.config is not None and not alone.missing and [p.name for p in alone.config.pools] == ["res"]
    nothing = read_config(None, [], **WHERE)
    assert nothing.missing and nothing.config is None


def test_a_cross_object_problem_names_the_resource_and_keeps_the_last_good_config() -> None:
    good = judge(ConfigState(), read_config(cm(GOOD), [POOL], **WHERE))
    overlapping = resource("IPAddressPool", "z-new", {"addresses": ["198.51.100.8/29"]})
    bad = judge(good, read_config(cm(GOOD), [POOL, overlapping], **WHERE))
    assert bad.keeps_last_good and bad.config is good.config
    (problem,) = bad.problems
    assert (str(problem.object), problem.path) == ("IPAddressPool ns/z-new", "spec.addresses[0]")
    assert "overlaps" in problem.message


def test_the_log_names_the_offending_resource_first(caplog: pytest.LogCaptureFixture) -> None:
    """Not only its field: the overlap's message names the *other* pool, which read alone would be
    taken for the culprit."""
    caplog.set_level(logging.ERROR, logger="test.configstate")
    good = judge(ConfigState(), read_config(None, [POOL], **WHERE))
    overlapping = resource("IPAddressPool", "z-new", {"addresses": ["198.51.100.8/29"]})
    bad = judge(good, read_config(None, [POOL, overlapping], **WHERE))
    log_state(logging.getLogger("test.configstate"), good, bad, "in namespace ns")
    first = caplog.records[0].getMessage()
    assert first.startswith("config in namespace ns: IPAddressPool ns/z-new: spec.addresses[0]: "), first


def test_a_password_secret_that_cannot_be_read_is_a_problem_of_the_peer_not_a_crash() -> None:
    missing = read_config(None, [POOL, PEER], secrets=(), **WHERE)
    assert missing.config is None
    assert [p.in_object() for p in missing.problems] == ["spec.passwordSecret: Secret ns/bgp not found"]
    assert str(missing.problems[0].object) == "BGPPeer ns/edge"
    opaque = {"metadata": {"name": "bgp", "namespace": "ns"}, "type": "Opaque", "data": {"password": "eA=="}}
    wrong = read_config(None, [POOL, PEER], secrets=[opaque], **WHERE)  # type: ignore[list-item]
    assert "not kubernetes.io/basic-auth" in wrong.problems[0].message
    secret = {**opaque, "type": "kubernetes.io/basic-auth", "data": {"password": "czNjcmV0"}}
    ok = read_config(None, [POOL, PEER], secrets=[secret], **WHERE)  # type: ignore[list-item]
    assert ok.problems == () and ok.config is not None and ok.config.peers[0].password == "s3cret"
    # Without Secrets (the controller), passwords are not the reader's business.
    assert read_config(None, [POOL, PEER], **WHERE).config is not None
