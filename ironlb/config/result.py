"""What :func:`ironlb.config.load.load_config` answers: the config, or every problem by object and field.

Every input (the ConfigMap, ironlb.io resources) is judged together, and each problem
says which object it is about (``IPAddressPool ironlb-system/public``; the ConfigMap's
problems name the ConfigMap), where in it (``spec.addresses[0]``; ConfigMap problems
keep the ConfigMap's own paths, ``address-pools[1].addresses[0]``) and what is wrong.
The programs put these on ``ConfigurationState`` and in Events, ``ironlb validate``
prints them; they read the same everywhere because they are made once, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ironlb.config.model import Config

CONFIGMAP = "ConfigMap"


@dataclass(frozen=True, order=True)
class ObjectRef:
    """One object of the configuration: ``IPAddressPool ironlb-system/public``."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        if not self.namespace and not self.name:
            return self.kind
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong (``severity`` error) or worth knowing (warning), on one object at one field."""

    object: ObjectRef
    field: str
    """``spec.addresses[0]``, ``metadata.name``; a ConfigMap's own path (``peers[0].hold-time``); empty:
    the object as a whole."""
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.object}: {self.field}" if self.field else str(self.object)
        return f"{where}: {self.message}"

    @property
    def path(self) -> str:
        """``field``, or ``(root)`` for the object as a whole: the path the programs publish."""
        return self.field or "(root)"

    def in_object(self) -> str:
        """``path: message``: the problem as said where its object is named apart (a log line's
        ``config ns/name: ...``, an Event on the object itself)."""
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, order=True)
class ObjectVersion:
    """An input object as it was read: which one, and which generation of it."""

    ref: ObjectRef
    generation: int | None = None
    resource_version: str | None = None


@dataclass(frozen=True)
class ConfigResult:
    """The config built from the inputs (``None`` when any problem is an error), and every problem."""

    config: Config | None
    errors: tuple[ConfigProblem, ...] = ()
    warnings: tuple[ConfigProblem, ...] = ()
    sources: tuple[ObjectVersion, ...] = ()
    """Every input object read (the ConfigMap when known, then each resource), in a stable order."""

    @property
    def valid(self) -> bool:
        return self.config is not None

    @property
    def problems(self) -> tuple[ConfigProblem, ...]:
        return self.errors + self.warnings
