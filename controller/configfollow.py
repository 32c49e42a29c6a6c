"""The controller following its config: the last good one, and what it says about a bad one.

The inputs are the ConfigMap and the ``ironlb.io`` config resources of ironlb's namespace,
read together (``ironlb.programs.configstate.read_config``, i.e. ``load_config``). Each new
set of versions of them is judged once (``ironlb.programs.configstate.judge``, the rule every
program shares). A valid one becomes the config (``ConfigLoaded`` Event on the ConfigMap when
it changed, as leader); an invalid or missing one keeps the last good config and is logged
with every error's object and path, counted in ``ironlb_config_stale_bool``, and reported by a
``ConfigInvalid`` Warning Event on each offending object (the ConfigMap, or the resource a
cross-object rule names) once per version and term of leadership. As leader, the controller's
``ConfigurationState`` (``controller``) says what is in force, every problem, and the inputs'
generations.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from controller.metrics import ControllerMetrics
from ironlb.config import Config
from ironlb.kube.events import CONFIG_INVALID, CONFIG_LOADED, EventRecorder
from ironlb.kube_types import ConfigMap
from ironlb.programs.configstate import ConfigState, configuration_report, judge, log_state, read_config
from ironlb.statusobjects.configuration import ConfigurationTracker, problem_events

log = logging.getLogger(__name__)

COMPONENT = "controller"
Resources = Sequence[Mapping[str, Any]]


def event_message(state: ConfigState) -> str:
    """The ``ConfigInvalid`` Warning's message: every problem, and what the controller does meanwhile."""
    keeping = (
        "keeping the last good config" if state.keeps_last_good else "no valid config yet, assigning nothing"
    )
    return f"invalid config ({keeping}): " + "; ".join(p.in_object() for p in state.problems)


def _version(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind") or ""), str(meta.get("name") or ""), str(meta.get("resourceVersion") or ""))


def inputs_seen(cm: ConfigMap | None, resources: Resources) -> tuple[tuple[str, str, str], ...]:
    """What identifies one set of input versions (a change of any input changes it)."""
    return tuple(_version(o) for o in ([cm] if cm is not None else [])) + tuple(
        _version(o) for o in resources
    )


class ConfigFollower:
    def __init__(
        self,
        namespace: str,
        name: str,
        metrics: ControllerMetrics,
        recorder: EventRecorder,
        *,
        publish: Callable[[Mapping[str, Any]], None] | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        """``publish(status)``: write the ``ConfigurationState``'s status (the leader calls it)."""
        self.namespace, self.name = namespace, name
        self._metrics, self._recorder = metrics, recorder
        self._publish, self._clock = publish, clock
        self.tracker = ConfigurationTracker(COMPONENT)
        self.state = ConfigState()
        self._seen: tuple[tuple[str, str, str], ...] | None = None  # the input versions last judged
        self._reported: tuple[object, int] | None = None

    @property
    def config(self) -> Config | None:
        """The config in effect: the latest valid one, or the last good one."""
        return self.state.config

    def update(self, cm: ConfigMap | None, resources: Resources, *, leading: bool) -> Config | None:
        """Judge the inputs if they are versions not judged yet; the new config when it changed, else None."""
        seen = inputs_seen(cm, resources)
        if seen == self._seen:
            return None
        self._seen = seen
        previous = self.state
        self.state = judge(previous, read_config(cm, resources, namespace=self.namespace, name=self.name))
        log_state(log, previous, self.state, f"in namespace {self.namespace}")
        self._metrics.config.show(self.state)
        config = self.state.config
        if config is None or config is previous.config:
            return None
        if cm is not None and leading:
            self._recorder.normal(cm, CONFIG_LOADED, f"config loaded: {len(config.pools)} pools")
        return config

    def report(self, cm: ConfigMap | None, resources: Resources, generation: int) -> None:
        """As leader: the ``ConfigurationState``, and Warning Events for an unusable version (once per
        version and term)."""
        if self._publish is not None:
            self._publish(configuration_report(self.tracker, self.state, self._clock()).status())
        if not self.state.stale or (self._seen, generation) == self._reported:
            return
        self._reported = (self._seen, generation)
        by_ref = {_ref(o): o for o in [*([cm] if cm is not None else []), *resources]}
        keeping = self.state.keeps_last_good
        warned = False
        for ref, message in problem_events(self.state.problems, keeping=keeping):
            target = by_ref.get(ref)
            if target is None and ref[0] == "ConfigMap":
                target = self._configmap_ref()
            if target is not None:
                self._recorder.warning(target, CONFIG_INVALID, message)
                warned = True
        if not warned:  # nothing there to attach it to (no input at all): the ConfigMap it looks for
            self._recorder.warning(cm or self._configmap_ref(), CONFIG_INVALID, event_message(self.state))

    def _configmap_ref(self) -> dict[str, Any]:
        return {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"namespace": self.namespace, "name": self.name},
        }


def _ref(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))
