"""The controller following its ConfigMap: the last good config, and what it says about a bad one.

Each new version of the ConfigMap (by resourceVersion; "" when it is missing) is judged
once (``ironlb.programs.configstate.judge``, the rule every program shares). A valid one
becomes the config (``ConfigLoaded`` Event when it changed, as leader); an invalid or
missing one keeps the last good config and is logged with every error's path, counted in
``ironlb_config_stale_bool`` and reported by a ``ConfigInvalid`` Warning Event once per
version and term of leadership.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from controller.metrics import ControllerMetrics
from ironlb.config import Config
from ironlb.kube.events import CONFIG_INVALID, CONFIG_LOADED, EventRecorder
from ironlb.kube_types import ConfigMap
from ironlb.programs.configstate import ConfigState, judge, log_state, read_configmap

log = logging.getLogger(__name__)


def event_message(state: ConfigState) -> str:
    """The ``ConfigInvalid`` Warning's message: every problem, and what the controller does meanwhile."""
    keeping = (
        "keeping the last good config" if state.keeps_last_good else "no valid config yet, assigning nothing"
    )
    return f"invalid config ({keeping}): " + "; ".join(str(p) for p in state.problems)


class ConfigFollower:
    def __init__(
        self, namespace: str, name: str, metrics: ControllerMetrics, recorder: EventRecorder
    ) -> None:
        self.namespace, self.name = namespace, name
        self._metrics, self._recorder = metrics, recorder
        self.state = ConfigState()
        self._seen: str | None = None  # resourceVersion of the last version judged ("" = missing)
        self._reported: tuple[str | None, int] | None = None

    @property
    def config(self) -> Config | None:
        """The config in effect: the latest valid one, or the last good one."""
        return self.state.config

    def update(self, cm: ConfigMap | None, *, leading: bool) -> Config | None:
        """Judge ``cm`` if it is a version not judged yet; the new config when it changed, else None."""
        seen = str((cm.get("metadata") or {}).get("resourceVersion") or "") if cm is not None else ""
        if seen == self._seen:
            return None
        self._seen = seen
        previous = self.state
        self.state = judge(previous, read_configmap(cm, namespace=self.namespace, name=self.name))
        log_state(log, previous, self.state, f"{self.namespace}/{self.name}")
        self._metrics.config_stale.set(1 if self.state.stale else 0)
        self._metrics.config_loaded.set(1 if self.state.config is not None else 0)
        config = self.state.config
        if config is None or config is previous.config:
            return None
        if cm is not None and leading:
            self._recorder.normal(cm, CONFIG_LOADED, f"config loaded: {len(config.pools)} pools")
        return config

    def report(self, cm: ConfigMap | None, generation: int) -> None:
        """As leader: a Warning Event for an unusable version, once per version and term."""
        if not self.state.stale or (self._seen, generation) == self._reported:
            return
        self._reported = (self._seen, generation)
        target: Mapping[str, Any] = cm or {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"namespace": self.namespace, "name": self.name},
        }
        self._recorder.warning(target, CONFIG_INVALID, event_message(self.state))
