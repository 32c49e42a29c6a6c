"""Keep the last good config: the one judge every program that follows a changing config uses.

Why: the controller, its manifest-directory mode and the speaker all follow a config that
can change under them, and all must keep the last good one when a new version is invalid
or missing. The rule lives here once; each program only publishes what it decides.

Pure: ``judge(state so far, reading) -> ConfigState``. A ``ConfigReading`` is what one look
at the inputs gave: the config they make, or every problem, with the object and versions it
reflects. Today the input is one ConfigMap (``read_configmap``); a reading of the
ConfigMap and ``ironlb.io`` resources together (issue 15's ``load_config``) becomes a
``ConfigReading`` the same way, each problem naming its object. The ``ConfigState`` is
what a program reports: the config in effect (the latest valid one, or the last good one
kept), why the latest reading is not in effect, and the versions it reflects. Programs
publish it through their I/O adapters: ``log_state`` (every program's log), their
``ironlb_config_*`` metrics, the controller's Events on the ConfigMap, the speaker's
``/readyz``; a ``ConfigurationState`` object later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ironlb.config import Config, ConfigError, configmap_report
from ironlb.kube_types import ConfigMap

CONFIG_KEY = "config"


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the inputs: in which object, where in it, and what."""

    object: str
    """``ConfigMap ironlb-system/ironlb`` (later also ``IPAddressPool ironlb-system/main``...)."""
    path: str
    """Where in the object: ``address-pools[0].addresses[0]``, ``line 3``, ``(root)``."""
    message: str

    @classmethod
    def from_text(cls, obj: str, text: str) -> ConfigProblem:
        """From the config parser's ``"path: message"``."""
        path, sep, message = text.partition(": ")
        return cls(obj, path, message) if sep else cls(obj, "(root)", text)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class ConfigReading:
    """What one look at the config inputs gave."""

    config: Config | None
    """The config they make; None when they make none (invalid, or nothing there)."""
    problems: tuple[ConfigProblem, ...] = ()
    warnings: tuple[ConfigProblem, ...] = ()
    versions: tuple[tuple[str, str], ...] = ()
    """(object, resourceVersion) of every input read; versions of a manifest may be ""."""
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
    versions: tuple[tuple[str, str], ...] = ()
    """The inputs' versions the latest reading reflects."""
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
        problems = reading.problems or (ConfigProblem("", "(root)", "invalid config"),)
        config = previous.config
    else:
        problems = ()
        config = previous.config if reading.config == previous.config else reading.config
    return ConfigState(config, problems, reading.warnings, reading.versions, reading.missing)


def read_configmap(
    cm: ConfigMap | None, *, namespace: str, name: str, key: str = CONFIG_KEY
) -> ConfigReading:
    """The reading of ironlb's ConfigMap (``None``: it does not exist)."""
    obj = f"ConfigMap {namespace}/{name}"
    if cm is None:
        return ConfigReading(None, (ConfigProblem(obj, "(root)", f"{obj} not found"),), missing=True)
    versions = ((obj, str((cm.get("metadata") or {}).get("resourceVersion") or "")),)
    try:
        result = configmap_report(cm, key)
    except ConfigError as exc:
        problems = tuple(ConfigProblem.from_text(obj, e) for e in exc.errors)
        return ConfigReading(None, problems, versions=versions)
    warnings = tuple(ConfigProblem.from_text(obj, w) for w in result.warnings)
    return ConfigReading(result.config, warnings=warnings, versions=versions)


def log_state(log: logging.Logger, previous: ConfigState, state: ConfigState, where: str) -> None:
    """The log adapter: what changed from ``previous`` to ``state``, every problem with its path."""
    if state == previous:
        return
    if state.stale:
        for problem in state.problems:
            log.error("config %s: %s", where, problem, extra={"error": str(problem)})
        keeping = "keeping the last good one" if state.config is not None else "waiting for a valid one"
        log.error("config %s is not usable; %s", where, keeping)
        return
    if state.warnings != previous.warnings or state.config is not previous.config:
        for warning in state.warnings:
            log.warning("config %s: %s", where, warning)
    if state.config is not None and state.config is not previous.config:
        log.info("config %s loaded: %d pools", where, len(state.config.pools))
