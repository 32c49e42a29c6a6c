"""Property and fuzz tests: generated valid configs round-trip; nothing but ConfigError ever escapes."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ironlb.config import Config, ConfigError, config_from_configmap, parse_config
from ironlb.config.render import config_to_wire, render_config, render_configmap
from tests.config.strategies import config_trees, configs

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "config" / "samples").glob("*.yaml"))
SAMPLE_TEXTS = [p.read_text() for p in SAMPLES]

PROPERTY = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY
@given(configs())
def test_generated_configs_round_trip(config: Config) -> None:
    assert parse_config(render_config(config)) == config
    assert parse_config(render_configmap(config)) == config


@PROPERTY
@given(configs())
def test_rendering_is_a_fixed_point(config: Config) -> None:
    once = render_config(config)
    assert render_config(parse_config(once)) == once


@PROPERTY
@given(configs(), st.data())
def test_breaking_one_rule_is_reported_with_its_path(config: Config, data: st.DataObject) -> None:
    """Take a valid generated config, break one thing, and the error names exactly that place."""
    wire = config_to_wire(config)
    candidates: list[tuple[str, Any]] = []
    for i in range(len(wire.get("address-pools", []))):
        candidates.append(
            (f"address-pools[{i}].addresses[0]", ("address-pools", i, "addresses", 0, "1.2.3.4/33"))
        )
        candidates.append((f"address-pools[{i}].protocol", ("address-pools", i, "protocol", None, "l3")))
        if i > 0:
            first = wire["address-pools"][0]["name"]
            candidates.append((f"address-pools[{i}].name", ("address-pools", i, "name", None, first)))
    for i, _ in enumerate(wire.get("peers", [])):
        candidates.append((f"peers[{i}].hold-time", ("peers", i, "hold-time", None, "2s")))
        candidates.append((f"peers[{i}].peer-asn", ("peers", i, "peer-asn", None, 0)))
        candidates.append((f"peers[{i}].bogus", ("peers", i, "bogus", None, 1)))
    if not candidates:
        return
    path, (section, index, key, sub, value) = data.draw(st.sampled_from(candidates))
    item = wire[section][index]
    if sub is None:
        item[key] = value
    else:
        item[key][sub] = value
    try:
        parse_config(yaml.safe_dump(wire))
    except ConfigError as exc:
        assert any(e.startswith(f"{path}: ") for e in exc.errors), exc.errors
    else:
        raise AssertionError(f"breaking {path} was not noticed")


def _only_config_errors(text: str) -> None:
    try:
        result = parse_config(text)
    except ConfigError as exc:
        assert exc.errors, "a ConfigError must carry at least one error"
        for line in exc.errors:
            assert isinstance(line, str) and ": " in line, line
    else:
        assert isinstance(result, Config)


@FUZZ
@given(st.text(max_size=300))
@example("peers: [{")
@example("address-pools: [{name: a, protocol: bgp, addresses: ['10.0.0.0/8'], bgp-advertisements: [{}]}]")
@example("kind: ConfigMap\ndata: {config: 'peers: 5'}\n")
@example("? [a]\n: 1\n")
@example("*unknown")
@example('p: "\\U99999999"')
def test_fuzz_random_text(text: str) -> None:
    _only_config_errors(text)


@FUZZ
@given(config_trees)
def test_fuzz_config_shaped_trees(tree: Any) -> None:
    try:
        text = yaml.safe_dump(tree)
    except (yaml.YAMLError, ValueError):
        return
    _only_config_errors(text)
    _only_config_errors(yaml.safe_dump({"kind": "ConfigMap", "data": {"config": text}}))
    with contextlib.suppress(ConfigError):
        config_from_configmap(
            {"kind": "ConfigMap", "data": tree if isinstance(tree, dict) else {"config": tree}}
        )


def _mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(5)
        pos = rng.randrange(len(chars) + 1)
        if op == 0 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op == 1:
            chars.insert(pos, rng.choice(" -:[]{}\n\t#&*!|>'\"0123456789/.abcxyz"))
        elif op == 2 and chars:
            chars[min(pos, len(chars) - 1)] = rng.choice(" -:[]{}\n0123456789/.")
        elif op == 3:
            lines = "".join(chars).split("\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            chars = list("\n".join(lines))
        else:
            lines = "".join(chars).split("\n")
            i = rng.randrange(len(lines))
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
            chars = list("\n".join(lines))
    return "".join(chars)


@FUZZ
@given(st.sampled_from(SAMPLE_TEXTS), st.randoms(use_true_random=False))
def test_fuzz_mutated_samples(text: str, rng: random.Random) -> None:
    _only_config_errors(_mutate(text, rng))
