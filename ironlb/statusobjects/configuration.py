"""``ConfigurationState``: which config a program runs with, and what is wrong with the latest inputs.

One object per program (``controller``, ``speaker-NODE``) in ironlb's namespace. What it says
comes from the program's "keep the last good config" judgement (the config in force, the
problems of the latest reading) and from the versions of the inputs (the ConfigMap and the
``ironlb.io`` resources) that reading reflects:

- ``result``: ``Valid`` (the latest inputs make a config, in force now), ``Invalid`` (they do
  not; ``errors`` says why), ``Unknown`` (not read yet);
- ``configInForce``: ``Latest``, ``LastGood`` (kept while the latest inputs are invalid) or
  ``None`` (no valid config yet);
- ``errors`` / ``warnings``: each with its object (``Kind namespace/name``), field path and
  message, and ``errorSummary`` (one line each, as ``kubectl get -o wide`` shows it);
- ``observedInputs`` (the latest reading) and ``inForceInputs`` (the reading the config in force
  was made from), each input with its ``generation`` (resources) and ``resourceVersion``;
- ``inForce``: the names of the pools, peers and advertisements in force, and ``inForceSince``.

Pure: ``ConfigurationTracker.update`` is a small state machine (it remembers the inputs and the
time of the config in force); ``problem_events`` groups the errors by object for the Warning
Events on each offending object. Writing is ``ironlb.kube.configurationstate``'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ironlb.config.model import Config

Result = Literal["Valid", "Invalid", "Unknown"]
InForce = Literal["Latest", "LastGood", "None"]

MAX_ITEMS = 100
"""Errors (and warnings) listed one by one; the count and the summary still cover all."""
MAX_SUMMARY = 32768
MAX_NAMES = 1000


class ProblemLike(Protocol):
    """One error or warning (``ironlb.config.result.ConfigProblem``): the object (its text is
    ``Kind namespace/name``), where in it, and what."""

    @property
    def object(self) -> object: ...

    @property
    def path(self) -> str: ...

    @property
    def message(self) -> str: ...


@dataclass(frozen=True)
class Problem:
    object: str
    path: str
    message: str

    @classmethod
    def of(cls, p: ProblemLike) -> Problem:
        return cls(str(p.object), p.path, p.message)

    def line(self) -> str:
        where = f"{self.object}: " if self.object else ""
        return f"{where}{self.path}: {self.message}"


@dataclass(frozen=True, order=True)
class InputVersion:
    """One input object and the version of it that was read."""

    kind: str
    namespace: str
    name: str
    generation: int | None = None
    """``metadata.generation`` (resources; a ConfigMap has none)."""
    resource_version: str = ""

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> InputVersion:
        meta = obj.get("metadata") or {}
        generation = meta.get("generation")
        return cls(
            str(obj.get("kind") or ""),
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
            generation if isinstance(generation, int) else None,
            str(meta.get("resourceVersion") or ""),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "namespace": self.namespace, "name": self.name}
        if self.generation is not None:
            out["generation"] = self.generation
        if self.resource_version:
            out["resourceVersion"] = self.resource_version
        return out


def _names(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))[:MAX_NAMES]


def config_summary(config: Config) -> dict[str, list[str]]:
    """The names of what ``config`` holds."""
    return {
        "pools": _names(p.name for p in config.pools),
        "peers": _names(p.name for p in config.peers),
        "l2Advertisements": _names(a.name for a in config.l2_advertisements),
        "bgpAdvertisements": _names(a.name for a in config.bgp_advertisements),
        "clusterIPAdvertisements": _names(a.name for a in config.cluster_ip_advertisements),
    }


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _summary(problems: Sequence[Problem]) -> str:
    text = "\n".join(p.line() for p in problems)
    if len(text) <= MAX_SUMMARY:
        return text
    cut = text[: MAX_SUMMARY - 40].rsplit("\n", 1)[0]
    left = len(problems) - cut.count("\n") - 1
    return f"{cut}\n... and {left} more"


def _problem_json(p: Problem) -> dict[str, str]:
    return {"object": p.object[:600], "fieldPath": p.path[:1024], "message": p.message[:4096]}


@dataclass(frozen=True)
class ConfigurationReport:
    """What one program's ``ConfigurationState`` says."""

    component: str
    result: Result = "Unknown"
    in_force: InForce = "None"
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    observed_inputs: tuple[InputVersion, ...] = ()
    in_force_inputs: tuple[InputVersion, ...] = ()
    in_force_summary: Mapping[str, list[str]] = field(default_factory=dict)
    in_force_since: str | None = None

    def status(self) -> dict[str, Any]:
        """The object's ``status`` (every field present, so a merge patch replaces them all)."""
        return {
            "component": self.component,
            "result": self.result,
            "configInForce": self.in_force,
            "errorCount": len(self.errors),
            "errorSummary": _summary(self.errors),
            "errors": [_problem_json(p) for p in self.errors[:MAX_ITEMS]],
            "warnings": [_problem_json(p) for p in self.warnings[:MAX_ITEMS]],
            "observedInputs": [i.to_json() for i in self.observed_inputs],
            "inForceInputs": [i.to_json() for i in self.in_force_inputs],
            "inForce": dict(self.in_force_summary),
            "inForceSince": self.in_force_since,
        }


class ConfigurationTracker:
    """Follows one program's judgements; remembers the inputs and the time of the config in force."""

    def __init__(self, component: str) -> None:
        self.component = component
        self.report = ConfigurationReport(component)
        self._config: Config | None = None

    def update(
        self,
        *,
        config: Config | None,
        problems: Iterable[ProblemLike],
        warnings: Iterable[ProblemLike] = (),
        inputs: Iterable[InputVersion],
        now: dt.datetime,
    ) -> ConfigurationReport:
        """After a reading: ``config`` is the config in force (the latest one when ``problems`` is
        empty, else the last good one kept, or None), ``inputs`` the versions the reading saw."""
        errors = tuple(Problem.of(p) for p in problems)
        observed = tuple(sorted(set(inputs)))
        previous = self.report
        if not errors and config is not None:
            since = previous.in_force_since if config == self._config else _stamp(now)
            self._config = config
            in_force_inputs = observed
            result: Result = "Valid"
            in_force: InForce = "Latest"
        else:
            since = previous.in_force_since if config is not None else None
            in_force_inputs = previous.in_force_inputs if config is not None else ()
            result = "Invalid"
            in_force = "LastGood" if config is not None else "None"
            if not errors:
                errors = (Problem("", "(root)", "no config"),)
        self.report = ConfigurationReport(
            component=self.component,
            result=result,
            in_force=in_force,
            errors=errors,
            warnings=tuple(Problem.of(p) for p in warnings),
            observed_inputs=observed,
            in_force_inputs=in_force_inputs,
            in_force_summary=config_summary(config) if config is not None else {},
            in_force_since=since,
        )
        return self.report


ObjectRef = tuple[str, str, str]
"""(kind, namespace, name)."""


def object_ref(text: str) -> ObjectRef | None:
    """``"IPAddressPool ironlb-system/main"`` -> ``("IPAddressPool", "ironlb-system", "main")``."""
    kind, sep, rest = text.strip().partition(" ")
    if not sep or not kind or not rest:
        return None
    namespace, slash, name = rest.partition("/")
    if not slash:
        namespace, name = "", rest
    return (kind, namespace, name) if name else None


def problem_events(problems: Iterable[ProblemLike], *, keeping: bool) -> list[tuple[ObjectRef, str]]:
    """One Warning per offending object: its problems, and what the program does meanwhile.

    Problems that name no object (a missing input) are left out: there is nothing to attach
    them to but the ``ConfigurationState``."""
    by_object: dict[ObjectRef, list[str]] = {}
    for p in problems:
        ref = object_ref(str(p.object))
        if ref is not None:
            by_object.setdefault(ref, []).append(f"{p.path}: {p.message}")
    then = "keeping the last good config" if keeping else "no valid config yet"
    return [(ref, f"invalid config ({then}): " + "; ".join(lines)) for ref, lines in by_object.items()]
