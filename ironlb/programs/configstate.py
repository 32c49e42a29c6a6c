"""Keep the last good config: the one judge every program that follows a changing config uses.

Why: the controller, its manifest-directory mode and the speaker all follow a config that
can change under them, and all must keep the last good one when a new version is invalid
or missing. The rule lives here once; each program only publishes what it decides.

Pure: ``judge(state so far, reading) -> ConfigState``. A ``ConfigReading`` is what one look
at the inputs gave: the config they make, or every problem, with the objects and versions it
reflects. ``read_config`` makes it from the ConfigMap and the ``ironlb.io`` resources together
through ``ironlb.config.load.load_config`` (the one entry every input uses), each problem
naming its object and field; the speaker passes the Secrets too, so a BGPPeer whose
``passwordSecret`` cannot be read is a problem of that peer (``ironlb.config.passwords``).
The ``ConfigState`` is what a program reports: the config in effect (the latest valid one,
or the last good one kept), why the latest reading is not in effect, and the inputs it
reflects. Programs publish it through their I/O adapters: ``log_state`` (every program's
log), their ``ironlb_config_*`` metrics, the controller's Events on the offending objects,
the speaker's ``/readyz``, and each program's ``ConfigurationState`` object
(``configuration_report`` turns a state into what that object says).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ironlb.config
from ironlb.config import Config
from ironlb.config.passwords import resolve_passwords
from ironlb.config.result import ConfigProblem, ObjectRef, ObjectVersion
from ironlb.kube_types import ConfigMap, Secret
from ironlb.statusobjects.configuration import ConfigurationReport, ConfigurationTracker, InputVersion

CONFIG_KEY = "config"


@dataclass(frozen=True)
class ConfigReading:
    """What one look at the config inputs gave."""

    config: Config | None
    """The config they make; None when they make none (invalid, or nothing there)."""
    problems: tuple[ConfigProblem, ...] = ()
    warnings: tuple[ConfigProblem, ...] = ()
    inputs: tuple[InputVersion, ...] = ()
    """Every input object read, with its generation and resourceVersion (a manifest's may be empty)."""
    missing: bool = False
    """No config input exists at all (as opposed to an invalid one)."""


@dataclass(frozen=True)
class ConfigState:
    """The config in effect and what the latest reading said; the initial state has none."""

    config: Config | None = None
    """In effect: the latest valid config, or the last good one kept; None before the first."""
    problems: tuple[ConfigProblem, ...] = ()
    """Why the latest reading is not in effect; empty when it is."""
    warnings: tuple[ConfigProblem, ...] = ()
    inputs: tuple[InputVersion, ...] = ()
    """The inputs the latest reading reflects."""
    missing: bool = False

    @property
    def stale(self) -> bool:
        """The latest reading is not in effect (invalid or missing)."""
        return bool(self.problems)

    @property
    def keeps_last_good(self) -> bool:
        return self.stale and self.config is not None


def judge(previous: ConfigState, reading: ConfigReading) -> ConfigState:
    """The new state: ``reading``'s config if it made one, else ``previous``'s config kept."""
    if reading.config is None:
        problems = reading.problems or (ConfigProblem(ObjectRef("", "", ""), "", "invalid config"),)
        config = previous.config
    else:
        problems = ()
        config = previous.config if reading.config == previous.config else reading.config
    return ConfigState(config, problems, reading.warnings, reading.inputs, reading.missing)


def _input(version: ObjectVersion) -> InputVersion:
    ref = version.ref
    return InputVersion(ref.kind, ref.namespace, ref.name, version.generation, version.resource_version or "")


def read_config(
    cm: ConfigMap | None,
    resources: Sequence[Mapping[str, Any]],
    *,
    namespace: str,
    name: str,
    key: str = CONFIG_KEY,
    secrets: Sequence[Secret] | None = None,
) -> ConfigReading:
    """The reading of ironlb's ConfigMap (``None``: it does not exist) and ``ironlb.io`` resources
    together (``load_config``). With ``secrets`` (the speaker), every ``passwordSecret`` is read
    from them; a peer whose Secret cannot give its password makes the reading invalid."""
    if cm is None and not resources:
        obj = ObjectRef("ConfigMap", namespace, name)
        what = f"{obj} not found and no ironlb.io resources in namespace {namespace}"
        return ConfigReading(None, (ConfigProblem(obj, "", what),), missing=True)
    # Looked up at the call: the decoders load on first use (ironlb.config), not with this module.
    result = ironlb.config.load_config(None, resources, configmap=cm, key=key, namespace=namespace)
    inputs = tuple(_input(v) for v in result.sources)
    if cm is not None and inputs and not inputs[0].name:  # a manifest ConfigMap may leave them out
        inputs = (InputVersion("ConfigMap", namespace, name, None, inputs[0].resource_version), *inputs[1:])
    problems, config = result.errors, result.config
    if config is not None and secrets is not None:
        config, missing = resolve_passwords(config, secrets, namespace)
        if missing:
            problems, config = missing, None
    return ConfigReading(config, problems, result.warnings, inputs)


def read_configmap(
    cm: ConfigMap | None, *, namespace: str, name: str, key: str = CONFIG_KEY
) -> ConfigReading:
    """The reading of ironlb's ConfigMap alone (``None``: it does not exist)."""
    if cm is None:
        obj = ObjectRef("ConfigMap", namespace, name)
        return ConfigReading(None, (ConfigProblem(obj, "", f"{obj} not found"),), missing=True)
    return read_config(cm, (), namespace=namespace, name=name, key=key)


def configuration_report(
    tracker: ConfigurationTracker, state: ConfigState, now: dt.datetime
) -> ConfigurationReport:
    """What the program's ``ConfigurationState`` says after ``state`` (``tracker`` remembers the
    inputs and the time of the config in force)."""
    return tracker.update(
        config=state.config,
        problems=state.problems,
        warnings=state.warnings,
        inputs=state.inputs,
        now=now,
    )


def log_state(log: logging.Logger, previous: ConfigState, state: ConfigState, where: str) -> None:
    """The log adapter: what changed from ``previous`` to ``state``, every problem with its path."""
    if state == previous:
        return
    if state.stale:
        for problem in state.problems:
            log.error(
                "config %s: %s: %s", where, problem.object, problem.in_object(), extra={"error": str(problem)}
            )
        keeping = "keeping the last good one" if state.config is not None else "waiting for a valid one"
        log.error("config %s is not usable; %s", where, keeping)
        return
    if state.warnings != previous.warnings or state.config is not previous.config:
        for warning in state.warnings:
            log.warning("config %s: %s", where, warning.in_object())
    if state.config is not None and state.config is not previous.config:
        log.info("config %s loaded: %d pools", where, len(state.config.pools))
