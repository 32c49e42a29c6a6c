"""``ironlb_config_loaded_bool`` and ``ironlb_config_stale_bool``: the config state, as both programs say it.

One declaration, so that the controller and the speaker say the same thing under the same name
(they had two help texts), and one way to set them from a ``ConfigState``.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge

from ironlb.programs.configstate import ConfigState


@dataclass(frozen=True)
class ConfigGauges:
    loaded: Gauge
    stale: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry) -> ConfigGauges:
        return cls(
            loaded=Gauge(
                "ironlb_config_loaded_bool", "1 when a valid config has been loaded", registry=registry
            ),
            stale=Gauge(
                "ironlb_config_stale_bool",
                "1 when the latest config is invalid or missing and the last good one is in use",
                registry=registry,
            ),
        )

    def show(self, state: ConfigState) -> None:
        self.stale.set(1 if state.stale else 0)
        self.loaded.set(1 if state.config is not None else 0)
