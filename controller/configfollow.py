"""The controller following its ConfigMap: the last good config, and what it says about a bad one.

Each new version of the ConfigMap (by resourceVersion; "" when it is missing) is judged
once (``configstate.judge``). A valid one becomes the config (``ConfigLoaded`` Event
when it changed, as leader); an invalid or missing one keeps the last good config and is
logged with every error's path, counted in ``ironlb_config_stale_bool`` and reported by
a ``ConfigInvalid`` Warning Event once per version and term of leadership.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from controller.configstate import event_message, judge
from controller.metrics import ControllerMetrics
from ironlb.config import Config
from ironlb.kube.events import CONFIG_INVALID, CONFIG_LOADED, EventRecorder
from ironlb.kube_types import ConfigMap

log = logging.getLogger(__name__)


class ConfigFollower:
    def __init__(
        self, namespace: str, name: str, metrics: ControllerMetrics, recorder: EventRecorder
    ) -> None:
        self.namespace, self.name = namespace, name
        self._metrics, self._recorder = metrics, recorder
        self.config: Config | None = None
        self._seen: str | None = None  # resourceVersion of the last version judged ("" = missing)
        self._errors: tuple[str, ...] = ()
        self._reported: tuple[str | None, int] | None = None

    def update(self, cm: ConfigMap | None, *, leading: bool) -> Config | None:
        """Judge ``cm`` if it is a version not judged yet; the new config when it changed, else None."""
        seen = str((cm.get("metadata") or {}).get("resourceVersion") or "") if cm is not None else ""
        if seen == self._seen:
            return None
        self._seen = seen
        where = f"{self.namespace}/{self.name}"
        verdict = judge(cm, namespace=self.namespace, name=self.name)
        if verdict.config is None:
            self._errors = verdict.errors
            self._metrics.config_stale.set(1)
            for error in verdict.errors:
                log.error("config %s: %s", where, error, extra={"error": error})
            keeping = "keeping the last good one" if self.config is not None else "waiting for a valid one"
            log.error("config %s is not usable; %s", where, keeping)
            return None
        self._errors = ()
        self._metrics.config_stale.set(0)
        self._metrics.config_loaded.set(1)
        if verdict.config == self.config:
            return None
        self.config = verdict.config
        log.info("config %s loaded: %d pools", where, len(verdict.config.pools))
        if cm is not None and leading:
            self._recorder.normal(cm, CONFIG_LOADED, f"config loaded: {len(verdict.config.pools)} pools")
        return verdict.config

    def report(self, cm: ConfigMap | None, generation: int) -> None:
        """As leader: a Warning Event for an unusable version, once per version and term."""
        if not self._errors or (self._seen, generation) == self._reported:
            return
        self._reported = (self._seen, generation)
        target: Mapping[str, Any] = cm or {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"namespace": self.namespace, "name": self.name},
        }
        self._recorder.warning(target, CONFIG_INVALID, event_message(self._errors, self.config is not None))
