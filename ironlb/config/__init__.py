"""ironlb's configuration: ironlb.io resources and MetalLB's legacy ConfigMap format, with ironlb's additions.

Public API:

- ``load_config(configmap_text, resources)`` -- the ConfigMap and ``ironlb.io`` resources
  together to a :class:`ConfigResult`: the config, or every problem by object and field
  (the entry every program and command uses; ``ironlb.config.load``);
- ``parse_config(text)`` -- a ConfigMap manifest (``data.config``) or a bare config
  document to a validated :class:`~ironlb.config.model.Config`;
- ``config_from_configmap(cm, key="config")`` -- the same from a ConfigMap dict;
  these two log the warnings (e.g. a CIDR whose host bits were masked, as MetalLB
  silently does);
- ``parse_config_report(text)``, ``configmap_report(cm)`` -- the same, returning the
  warnings instead of logging them (the CLI prints them);
- ``ConfigError`` -- raised with *every* problem, each ``"path: message"``;
- ``warm_decoders()`` -- import the decoders now: the names above that decode load them on
  first use (the controller warms them while its first LIST runs).

Modules: ``yamlload`` (YAML read like MetalLB's yaml.v2) → ``wire`` + ``decode``
(strict pydantic models of the ConfigMap format) → ``build`` (domain types, item
by item) → ``rules`` (rules across items) → ``model`` (frozen dataclasses that
the rest of ironlb sees: pools, and the advertisements that announce them).
``fields`` holds the rules for one item's values that every input shares (the
ConfigMap here, MetalLB's CRDs in ``ironlb.metallb``); ``values`` parses scalars;
``legacy`` says what of a config the ConfigMap can hold, ``render`` writes it out.
``resources`` decodes the ``ironlb.io`` objects; ``load`` judges both inputs together into a
``result``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ironlb.config.errors import ConfigError
from ironlb.config.model import (
    AddressPool,
    AddressRange,
    BfdProfile,
    BgpAdvertisement,
    ClusterIPAdvertisement,
    Community,
    Config,
    L2Advertisement,
    LabelSelector,
    Peer,
    SecretRef,
    SelectorRequirement,
    ServiceAllocation,
)
from ironlb.config.result import ConfigProblem, ConfigResult, ObjectRef, ObjectVersion

if TYPE_CHECKING:
    from ironlb.config.load import load_config
    from ironlb.config.parse import (
        ParseResult,
        config_from_configmap,
        configmap_report,
        parse_config,
        parse_config_report,
    )

# The decoders (pydantic models of every input) take 0.06-0.09 s to import once pydantic is
# loaded. Every program imports the domain types above at start, but needs a decoder only when a
# config arrives: they load on first use (PEP 562), and the controller warms them in a thread
# while its first LIST runs. (Module imports are thread-safe; a pydantic model's deferred
# build, ``defer_build``, is so only from pydantic 2.14: the models are built at import.)
_DECODERS = {
    "load_config": "ironlb.config.load",
    "ParseResult": "ironlb.config.parse",
    "config_from_configmap": "ironlb.config.parse",
    "configmap_report": "ironlb.config.parse",
    "parse_config": "ironlb.config.parse",
    "parse_config_report": "ironlb.config.parse",
}


def __getattr__(name: str) -> Any:
    module = _DECODERS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found directly from now on
    return value


def warm_decoders() -> None:
    """Import the decoders now (a program calls this in a thread while it waits on the network)."""
    for module in sorted(set(_DECODERS.values())):
        importlib.import_module(module)


__all__ = [
    "AddressPool",
    "AddressRange",
    "BfdProfile",
    "BgpAdvertisement",
    "ClusterIPAdvertisement",
    "Community",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "ConfigResult",
    "L2Advertisement",
    "LabelSelector",
    "ObjectRef",
    "ObjectVersion",
    "ParseResult",
    "Peer",
    "SecretRef",
    "SelectorRequirement",
    "ServiceAllocation",
    "config_from_configmap",
    "configmap_report",
    "load_config",
    "parse_config",
    "parse_config_report",
    "warm_decoders",
]
