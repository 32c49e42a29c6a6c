"""When a speaker is ready (``/readyz``) and alive (``/healthz``): pure decisions on a small status.

Why: a DaemonSet rolling update (``maxUnavailable: 1``) moves to the next node once the
new speaker is *available*; without a readiness probe that is as soon as it runs, so a
release that cannot read its config or the API would roll over every node. Ready means it
can do its job: the cluster-state source delivered its first full snapshot, a valid config
is loaded, the membership has started, and the API server can be used (no TLS, 401 or 403
problem, ``ironlb.kube.health``). A config that later turns invalid or disappears keeps
the last good one: the speaker stays ready (stale, not broken; ``ironlb_config_stale_bool``).

Alive means the asyncio loop still runs: a heartbeat the loop refreshes, older than
``STALE_AFTER`` is a hung loop and the kubelet should restart the container. Liveness never
depends on the API server: speakers that cannot reach it keep announcing what they knew,
and restarting them would only make that worse. A failed long-lived task (a backend, the
membership) already ends the process; ``failed`` covers the moments while it shuts down.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

BEAT_EVERY = 1.0
STALE_AFTER = 30.0
"""Generous: a loop busy for seconds (a big snapshot, a slow backend) is slow, not dead."""


@dataclass(frozen=True)
class SpeakerStatus:
    snapshot: bool
    """The source has delivered its first full snapshot (every informer listed)."""
    config_loaded: bool
    """A valid config is in use (possibly stale)."""
    config_problem: str | None
    """Why the latest config is not in use (missing, invalid), if it is not."""
    membership_started: bool
    api_problem: str | None
    """``ApiHealth.reason()``: why the API server cannot be used (None: no problem, or no API)."""
    configmap: str
    """``namespace/name`` of the ConfigMap, for the reason."""


def readiness(status: SpeakerStatus) -> str | None:
    """None when ready, else why not (the first reason that applies, the most actionable first)."""
    if status.api_problem is not None:
        return status.api_problem
    if not status.snapshot:
        return "waiting for the first full read of the cluster state (Services, EndpointSlices, Nodes)"
    if not status.config_loaded:
        why = status.config_problem or "not read yet"
        return f"no valid config in ConfigMap {status.configmap}: {why}"
    if not status.membership_started:
        return "membership not started yet"
    return None


def liveness(
    last_beat: float, now: float, *, failed: str | None = None, stale_after: float = STALE_AFTER
) -> str | None:
    """None while alive; else why not (the loop has not beaten for ``stale_after`` s, or a task failed)."""
    if failed is not None:
        return f"unhealthy: speaker task {failed} failed"
    age = now - last_beat
    if age > stale_after:
        return f"unhealthy: the speaker's event loop has not run for {age:.0f} s"
    return None


class Heartbeat:
    """A timestamp the event loop refreshes; read from the probe server's thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.last = clock()  # a float assignment: atomic, no lock needed between the threads

    def beat(self) -> None:
        self.last = self._clock()

    async def run(self, every: float = BEAT_EVERY) -> None:
        while True:
            self.beat()
            await asyncio.sleep(every)


class Judged(Protocol):
    """What the probes read of the speaker (``speaker.main.Speaker``)."""

    @property
    def failed(self) -> str | None: ...

    def status(self, api_problem: str | None = None) -> SpeakerStatus: ...


class Probes:
    """What ``/readyz`` and ``/healthz`` answer, from the speaker once it exists and the heartbeat.

    Called from the probe server's thread: only plain attribute reads of the speaker.
    """

    def __init__(self, heartbeat: Heartbeat) -> None:
        self.heartbeat = heartbeat
        self.speaker: Judged | None = None
        self.api_problem: Callable[[], str | None] = lambda: None

    def readiness(self) -> str | None:
        speaker = self.speaker
        if speaker is None:
            return self.api_problem() or "starting: opening the cluster-state source"
        return readiness(speaker.status(self.api_problem()))

    def liveness(self) -> str | None:
        speaker = self.speaker
        return liveness(self.heartbeat.last, time.monotonic(), failed=speaker.failed if speaker else None)
