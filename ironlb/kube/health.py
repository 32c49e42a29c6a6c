"""The record of why a client cannot use the API server: one clear log line per cause, not one per retry.

Every request a client makes reports here (``client.ObservedApiClient``): a failure that
``access.classify`` names (TLS verification, 401, 403) becomes an active problem, logged at
ERROR once with what to do, repeated at most every ``repeat_every`` seconds while it
persists, counted for the metrics (``subscribe``); an answer that ``access.resolves`` it
ends it with one INFO line. The retry loops stay as they are (informers, work queue,
elector): they keep retrying with backoff and log their own per-attempt lines at DEBUG
for these causes (``errors.retry_log_level``).

A problem no request has hit for ``forget_after`` seconds is dropped: every retrying path
hits it again well within that time (their backoff is capped at 30 s), so only a one-off
request (an Event write given up on) ages out, and it must not keep a program unready.
The clock is injectable so the throttling is tested without sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ironlb.kube.access import ClientIdentity, Problem, RequestInfo, classify, describe, resolves, summary

log = logging.getLogger(__name__)

REPEAT_EVERY = 60.0
FORGET_AFTER = 180.0


@dataclass
class _Active:
    problem: Problem
    first: float
    last_seen: float
    last_logged: float
    failures: int = 1
    logged_failures: int = 1


class ApiHealth:
    def __init__(
        self,
        identity: ClientIdentity,
        *,
        clock: Callable[[], float] = time.monotonic,
        repeat_every: float = REPEAT_EVERY,
        forget_after: float = FORGET_AFTER,
    ) -> None:
        self.identity = identity
        self._clock = clock
        self._repeat_every = repeat_every
        self._forget_after = forget_after
        self._lock = threading.Lock()
        self._active: dict[tuple[str, ...], _Active] = {}
        self._listeners: list[Callable[[Problem], None]] = []

    def subscribe(self, on_failure: Callable[[Problem], None]) -> None:
        """Call ``on_failure`` for every failed request with a named cause (to count them)."""
        with self._lock:
            self._listeners.append(on_failure)

    # -- reports from the client ---------------------------------------------------------
    def failed(self, request: RequestInfo, exc: BaseException) -> Problem | None:
        problem = classify(exc, request)
        if problem is None:
            return None
        now = self._clock()
        line: str | None = None
        with self._lock:
            self._expire(now)
            active = self._active.get(problem.key)
            if active is None:
                self._active[problem.key] = _Active(problem, now, now, now)
                line = describe(problem, self.identity)
            else:
                active.problem, active.last_seen = problem, now
                active.failures += 1
                if now - active.last_logged >= self._repeat_every:
                    new = active.failures - active.logged_failures
                    active.last_logged, active.logged_failures = now, active.failures
                    line = (
                        f"still failing ({new} more failed requests, {now - active.first:.0f} s since the "
                        f"first): {describe(problem, self.identity)}"
                    )
            listeners = list(self._listeners)
        if line is not None:
            log.error(line, extra=_fields(problem, self.identity))
        for fn in listeners:
            try:
                fn(problem)
            except Exception:
                log.exception("API problem listener failed")
        return problem

    def answered(self, request: RequestInfo, status: int) -> None:
        """An HTTP answer (any status) arrived: end the problems it shows resolved."""
        if not self._active:  # the common case, without the lock
            return
        now = self._clock()
        with self._lock:
            done = [a for a in self._active.values() if resolves(a.problem, request, status)]
            for a in done:
                del self._active[a.problem.key]
        for a in done:
            log.info(
                "Kubernetes API server %s: %s works again (after %d failed requests over %.0f s)",
                self.identity.server,
                summary(a.problem),
                a.failures,
                now - a.first,
                extra=_fields(a.problem, self.identity),
            )

    # -- state -----------------------------------------------------------------------------
    def problems(self) -> list[Problem]:
        with self._lock:
            self._expire(self._clock())
            return [a.problem for a in self._active.values()]

    def reason(self) -> str | None:
        """Why the API server cannot be used right now (one line per cause), or None."""
        problems = self.problems()
        return "\n".join(describe(p, self.identity) for p in problems) if problems else None

    def _expire(self, now: float) -> None:
        for key, a in list(self._active.items()):
            if now - a.last_seen >= self._forget_after:
                del self._active[key]
                log.info(
                    "Kubernetes API server %s: no request hit %s for %.0f s; no longer reporting it",
                    self.identity.server,
                    summary(a.problem),
                    now - a.last_seen,
                )


def _fields(problem: Problem, ident: ClientIdentity) -> dict[str, object]:
    """Structured fields for the JSON log format."""
    out: dict[str, object] = {"api_server": ident.server, "cause": problem.cause}
    r = problem.request
    if r is not None:
        out.update(verb=r.verb, resource=r.resource, namespace=r.namespace or "")
    return out
