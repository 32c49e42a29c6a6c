"""The record of why a client cannot use the API server: one clear log line per cause, not one per retry.

Every request a client makes reports here (``client.ObservedApiClient``): a failure that
``access.classify`` names (TLS verification, 401, 403) becomes an active problem, logged at
ERROR once with what to do, repeated at most every ``repeat_every`` seconds while it
persists, counted for the metrics (``subscribe``); an answer that ``access.resolves`` it
ends it with one INFO line. The retry loops stay as they are (informers, work queue,
elector): they keep retrying with backoff and log their own per-attempt lines at DEBUG
for these causes (``errors.retry_log_level``).

A 403 is called a problem only once it has persisted for ``confirm_after`` seconds (10 s):
right after an API server starts, its RBAC cache may refuse a few requests it will allow a
moment later, and telling a user to "grant it in rbac-controller.yaml" then is wrong.

An outage (``access.outage``: the server cannot be reached, or answers 502/503/504) that
has lasted ``outage_after`` seconds (2 s: an API server shutting down answers a few 503s
between good answers, which is no outage) is one WARNING line, a reminder at most every
``repeat_every`` seconds, and one INFO line with its duration when any other answer
arrives. It is not a problem a person must fix, so it does not make a program unready.

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

from ironlb.kube.access import (
    UNAVAILABLE,
    ClientIdentity,
    Problem,
    RequestInfo,
    classify,
    describe,
    outage,
    resolves,
    summary,
)

log = logging.getLogger(__name__)

REPEAT_EVERY = 60.0
FORGET_AFTER = 180.0
CONFIRM_AFTER = 10.0
OUTAGE_AFTER = 2.0


@dataclass
class _Active:
    problem: Problem
    first: float
    last_seen: float
    last_logged: float
    failures: int = 1
    logged_failures: int = 1
    reported: bool = True  # False: a 403 not yet persistent enough to be called a problem


@dataclass
class _Outage:
    first: float
    last_logged: float
    detail: str
    failures: int = 1
    reported: bool = False


class ApiHealth:
    def __init__(
        self,
        identity: ClientIdentity,
        *,
        clock: Callable[[], float] = time.monotonic,
        repeat_every: float = REPEAT_EVERY,
        forget_after: float = FORGET_AFTER,
        confirm_after: float = CONFIRM_AFTER,
        outage_after: float = OUTAGE_AFTER,
    ) -> None:
        self.identity = identity
        self._clock = clock
        self._repeat_every = repeat_every
        self._forget_after = forget_after
        self._confirm_after = confirm_after
        self._outage_after = outage_after
        self._lock = threading.Lock()
        self._active: dict[tuple[str, ...], _Active] = {}
        self._outage: _Outage | None = None
        self._listeners: list[Callable[[Problem], None]] = []

    def subscribe(self, on_failure: Callable[[Problem], None]) -> None:
        """Call ``on_failure`` for every failed request with a named cause (to count them)."""
        with self._lock:
            self._listeners.append(on_failure)

    # -- reports from the client ---------------------------------------------------------
    def failed(self, request: RequestInfo, exc: BaseException) -> Problem | None:
        problem = classify(exc, request)
        if problem is None:
            detail = outage(exc)
            if detail is not None:
                self._unavailable(detail)
            return None
        now = self._clock()
        line: str | None = None
        with self._lock:
            self._expire(now)
            active = self._active.get(problem.key)
            if active is None:
                confirmed = problem.cause != "forbidden" or self._confirm_after <= 0
                self._active[problem.key] = _Active(problem, now, now, now, reported=confirmed)
                if confirmed:
                    line = describe(problem, self.identity)
            else:
                active.problem, active.last_seen = problem, now
                active.failures += 1
                if not active.reported:
                    if now - active.first >= self._confirm_after:
                        active.reported, active.last_logged = True, now
                        active.logged_failures = active.failures
                        line = describe(problem, self.identity)
                elif now - active.last_logged >= self._repeat_every:
                    new = active.failures - active.logged_failures
                    active.last_logged, active.logged_failures = now, active.failures
                    line = (
                        f"still failing ({new} more failed requests, {now - active.first:.0f} s since the "
                        f"first): {describe(problem, self.identity)}"
                    )
            listeners = list(self._listeners)
        if line is not None:
            log.error(line, extra=_fields(problem, self.identity))
        else:
            log.debug("%s: %s", summary(problem), problem.detail)
        for fn in listeners:
            try:
                fn(problem)
            except Exception:
                log.exception("API problem listener failed")
        return problem

    def _unavailable(self, detail: str) -> None:
        now = self._clock()
        line: str | None = None
        server = self.identity.server
        with self._lock:
            o = self._outage
            if o is None:
                o = self._outage = _Outage(now, now, detail, failures=0)
            o.failures += 1
            o.detail = detail
            if not o.reported:
                if now - o.first >= self._outage_after:
                    o.reported, o.last_logged = True, now
                    line = (
                        f"Kubernetes API server {server} cannot be reached ({detail}); retrying with "
                        "backoff, keeping what is known and changing nothing meanwhile"
                    )
            elif now - o.last_logged >= self._repeat_every:
                o.last_logged = now
                line = (
                    f"Kubernetes API server {server} still cannot be reached ({detail}): "
                    f"{o.failures} failed requests over {now - o.first:.0f} s; retrying"
                )
        if line is not None:
            log.warning(line, extra={"api_server": server, "cause": "unreachable"})
        else:
            log.debug("Kubernetes API server %s: %s", server, detail)

    def answered(self, request: RequestInfo, status: int) -> None:
        """An HTTP answer (any status) arrived: end the problems (and the outage) it shows resolved."""
        if not self._active and self._outage is None:  # the common case, without the lock
            return
        now = self._clock()
        back: _Outage | None = None
        with self._lock:
            done = [a for a in self._active.values() if resolves(a.problem, request, status)]
            for a in done:
                del self._active[a.problem.key]
            if self._outage is not None and status not in UNAVAILABLE:
                back, self._outage = self._outage, None
        if back is not None and back.reported:
            log.info(
                "Kubernetes API server %s is reachable again after %.0f s (%d failed requests)",
                self.identity.server,
                now - back.first,
                back.failures,
                extra={"api_server": self.identity.server, "cause": "unreachable"},
            )
        for a in done:
            if not a.reported:
                continue
            log.info(
                "Kubernetes API server %s: %s works again (after %d failed requests over %.0f s)",
                self.identity.server,
                summary(a.problem),
                a.failures,
                now - a.first,
                extra=_fields(a.problem, self.identity),
            )

    @property
    def unreachable(self) -> bool:
        """Whether the last requests found the API server unreachable or unavailable."""
        return self._outage is not None

    # -- state -----------------------------------------------------------------------------
    def problems(self) -> list[Problem]:
        """The problems a person must fix (a 403 once it has persisted)."""
        with self._lock:
            self._expire(self._clock())
            return [a.problem for a in self._active.values() if a.reported]

    def reason(self) -> str | None:
        """Why the API server cannot be used right now (one line per cause), or None."""
        problems = self.problems()
        return "\n".join(describe(p, self.identity) for p in problems) if problems else None

    def _expire(self, now: float) -> None:
        for key, a in list(self._active.items()):
            if now - a.last_seen >= self._forget_after:
                del self._active[key]
                if not a.reported:
                    continue
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
