"""Judge the ConfigMap: the config to run with, or why the last good one stays.

Pure: (ConfigMap or ``None``) in, ``ConfigVerdict`` out. An invalid or missing
config never replaces a good one; the runtime logs every error with its path,
records a Warning Event on the ConfigMap and sets ``ironlb_config_stale_bool``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ironlb.config import Config, ConfigError, config_from_configmap
from ironlb.kube_types import ConfigMap

CONFIG_KEY = "config"


@dataclass(frozen=True)
class ConfigVerdict:
    config: Config | None
    """The new config to run with; ``None`` when it is invalid or missing (keep the last good one)."""
    errors: tuple[str, ...] = ()
    """Every problem as ``"path: message"``."""

    @property
    def valid(self) -> bool:
        return self.config is not None


def judge(cm: ConfigMap | None, *, namespace: str, name: str) -> ConfigVerdict:
    if cm is None:
        return ConfigVerdict(None, (f"(root): ConfigMap {namespace}/{name} not found",))
    try:
        return ConfigVerdict(config_from_configmap(cm, CONFIG_KEY))
    except ConfigError as exc:
        return ConfigVerdict(None, exc.errors or ("(root): invalid config",))


def event_message(errors: tuple[str, ...], have_last_good: bool) -> str:
    keeping = "keeping the last good config" if have_last_good else "no valid config yet, assigning nothing"
    return f"invalid config ({keeping}): " + "; ".join(errors)
