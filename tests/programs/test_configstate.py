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
    ConfigProblem,
    ConfigReading,
    ConfigState,
    judge,
    log_state,
    read_configmap,
)

GOOD = "address-pools:\n- name: a\n  protocol: layer2\n  addresses: [192.0.2.0/28]\n"
OTHER = "address-pools:\n- name: b\n  protocol: layer2\n  addresses: [198.51.100.0/28]\n"
BAD = "address-pools:\n- name: a\n  addresses: [x]\n"
WHERE = {"namespace": "ns", "name": "ironlb"}


def cm(text: str, version: str = "1") -> Any:
    return {
        "metadata": {"name": "ironlb", "namespace": "ns", "resourceVersion": version},
        "data": {"config": text},
    }


def test_a_valid_reading_is_in_effect() -> None:
    reading = read_configmap(cm(GOOD, "7"), **WHERE)
    assert reading.config == parse_config(GOOD) and reading.problems == () and not reading.missing
    assert reading.versions == (("ConfigMap ns/ironlb", "7"),)
    state = judge(ConfigState(), reading)
    assert state.config == parse_config(GOOD) and not state.stale and not state.keeps_last_good


def test_an_invalid_one_keeps_the_last_good_config_and_names_every_problem() -> None:
    good = judge(ConfigState(), read_configmap(cm(GOOD), **WHERE))
    bad = judge(good, read_configmap(cm(BAD, "2"), **WHERE))
    assert bad.config is good.config and bad.stale and bad.keeps_last_good
    assert bad.versions == (("ConfigMap ns/ironlb", "2"),)
    assert all(p.object == "ConfigMap ns/ironlb" for p in bad.problems)
    assert any(p.path.startswith("address-pools[0].") for p in bad.problems)
    assert "keeping the last good config" in event_message(bad)
    # Fixed: in effect again, the same config object when nothing changed.
    assert judge(bad, read_configmap(cm(GOOD, "3"), **WHERE)).config is good.config
    assert judge(bad, read_configmap(cm(OTHER, "4"), **WHERE)).config == parse_config(OTHER)


def test_a_missing_configmap_is_said_so_and_keeps_the_last_good_one() -> None:
    missing = read_configmap(None, **WHERE)
    assert missing.missing and missing.config is None
    assert [str(p) for p in missing.problems] == ["(root): ConfigMap ns/ironlb not found"]
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


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        (
            "address-pools[0].protocol: must be layer2 or bgp",
            "address-pools[0].protocol",
            "must be layer2 or bgp",
        ),
        (
            "line 3: mapping values are not allowed (column 7)",
            "line 3",
            "mapping values are not allowed (column 7)",
        ),
        ("no path at all", "(root)", "no path at all"),
    ],
)
def test_a_problem_keeps_the_parsers_text(text: str, path: str, message: str) -> None:
    problem = ConfigProblem.from_text("ConfigMap ns/ironlb", text)
    assert (problem.path, problem.message) == (path, message)
    assert str(problem) == (text if path != "(root)" else f"(root): {text}")


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
        ("ERROR", "config ns/ironlb: (root): ConfigMap ns/ironlb not found"),
        ("ERROR", "config ns/ironlb is not usable; waiting for a valid one"),
    ]
    assert lines[2] == ("INFO", "config ns/ironlb loaded: 1 pools")
    assert lines[-1] == ("ERROR", "config ns/ironlb is not usable; keeping the last good one")
    assert [level for level, _ in lines[3:-1]] == ["ERROR"] * (len(lines) - 4)
    assert all("address-pools[0]" in text for _, text in lines[3:-1])
