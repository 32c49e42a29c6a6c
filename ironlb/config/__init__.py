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
- ``ConfigError`` -- raised with *every* problem, each ``"path: message"``.

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

from ironlb.config.errors import ConfigError
from ironlb.config.load import load_config
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
from ironlb.config.parse import (
    ParseResult,
    config_from_configmap,
    configmap_report,
    parse_config,
    parse_config_report,
)
from ironlb.config.result import ConfigProblem, ConfigResult, ObjectRef, ObjectVersion

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
]
