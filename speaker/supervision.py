"""Restart-with-backoff for the speaker's child daemons (ExaBGP, FRR's bfdd).

Why: the speaker runs its routing daemons as children (PID 1 in a container does
not reap orphans, and the speaker must see them die). Each backend says how to
run its child once; this module owns the one policy for all of them: run while
wanted, restart with exponential backoff (tenacity) while it keeps dying, and
start a fresh backoff sequence after a healthy run. It also holds the child
process wrapper shared by them: start in its own process group, tied to the
speaker's life (``speaker.lifeline``) and recorded in a pid file so that a later
speaker can stop it should it outlive us anyway (``speaker.leftovers``); forward
its output to our log; stop with SIGTERM then SIGKILL; always reap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import tenacity
from prometheus_client import Counter

from speaker.leftovers import forget_record, write_record

log = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0
HEALTHY_RUN = 30.0
"""A child that ran this long before dying is restarted at once, with a fresh backoff sequence."""
LIFELINE = Path(__file__).with_name("lifeline.py")


def tethered(argv: Sequence[str], *, guard: bool = False) -> list[str]:
    """``argv`` started through ``lifeline.py``, so that it dies with this process.

    ``guard`` keeps the launcher as the daemon's parent, for a daemon that changes its
    user (the kernel then clears the death signal). Otherwise the daemon keeps the PID.
    """
    mode = "guard" if guard else "exec"
    return [sys.executable, "-I", "-S", str(LIFELINE), mode, str(os.getpid()), *argv]


async def supervise(
    run_once: Callable[[], Awaitable[None]],
    *,
    what: str,
    wanted: asyncio.Event,
    stopping: asyncio.Event,
    retry_on: type[BaseException],
    max_wait: float = 10.0,
) -> None:
    """Call ``run_once`` while ``wanted`` is set, until ``stopping``.

    ``run_once`` returns after a healthy run (the next start has no delay) and
    raises ``retry_on`` when the child died early: the next start then waits
    0.2 s, 0.4 s, ... up to ``max_wait``.
    """
    while not stopping.is_set():
        await wanted.wait()
        retrying = tenacity.AsyncRetrying(
            wait=tenacity.wait_exponential(multiplier=0.2, max=max_wait),
            retry=tenacity.retry_if_exception_type(retry_on),
            before_sleep=lambda rs: log.warning(
                "%s restart in %.1fs: %s",
                what,
                rs.upcoming_sleep,
                rs.outcome.exception() if rs.outcome else "",
            ),
        )
        async for attempt in retrying:
            with attempt:
                await run_once()


def died_early(
    what: str,
    code: int | None,
    started: float,
    *,
    wanted: asyncio.Event,
    stopping: asyncio.Event,
    unwanted: str,
    restarts: Counter,
) -> bool:
    """Whether a child that exited with ``code`` (started at ``started``, monotonic) died early: its
    ``run_once`` then raises, for :func:`supervise` to back off. Not when it was stopped on purpose
    (``stopping``, or no longer ``wanted``: ``unwanted`` says why), nor after a healthy run (restart at
    once); every exit but a stop on purpose counts in ``restarts``."""
    if stopping.is_set() or not wanted.is_set():
        log.info("%s stopped (%s): %s", what, code, unwanted)
        return False
    restarts.inc()
    if time.monotonic() - started >= HEALTHY_RUN:
        log.warning("%s exited with %s after a healthy run; restarting", what, code)
        return False
    return True


CANCEL_AGAIN = 0.1
"""How often :func:`cancel_all` cancels again a task that is still running."""
CANCEL_TIMEOUT = 10.0
"""How long :func:`cancel_all` waits for its tasks before it names the stuck ones and gives up."""


async def cancel_all(
    tasks: Iterable[asyncio.Future[Any]],
    *,
    timeout: float = CANCEL_TIMEOUT,
    again: float = CANCEL_AGAIN,
) -> bool:
    """Cancel ``tasks`` and wait until each has finished; True when all have, within ``timeout``.

    One cancel is not always enough: on Python 3.11 ``asyncio.wait_for`` loses a cancel that
    arrives as the future it waits on completes (CPython gh-86296), so a loop around it goes on
    as if never cancelled, and a plain cancel-then-gather waits for it forever (a speaker that
    never exits on SIGTERM). So a task still running is cancelled again every ``again`` s.
    After ``timeout`` the ones still running are logged by name and left behind. Their results
    and exceptions are not looked at (only retrieved, so that asyncio does not warn of them).
    If the caller is cancelled meanwhile, its tasks are cancelled once more and it is re-raised.
    """
    every = list(tasks)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = {t for t in every if not t.done()}
    try:
        while pending:
            for t in pending:
                t.cancel()
            left = deadline - loop.time()
            if left <= 0:
                stuck = sorted(_name(t) for t in pending)
                log.error("still running %.1fs after being cancelled: %s", timeout, ", ".join(stuck))
                return False
            _, pending = await asyncio.wait(pending, timeout=min(again, left))
    except asyncio.CancelledError:
        for t in pending:
            t.cancel()
        raise
    finally:
        for t in every:
            if t.done() and not t.cancelled():
                t.exception()  # retrieved: not reported as "never retrieved"
    return True


def _name(t: asyncio.Future[Any]) -> str:
    return t.get_name() if isinstance(t, asyncio.Task) else repr(t)


async def cancel_and_wait(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until each has finished (a backend's long-lived loops, on stop);
    the first one that had failed raises its exception here (:func:`cancel_all` first)."""
    await cancel_all(tasks)
    for t in tasks:
        if t.done() and not t.cancelled() and (exc := t.exception()) is not None:
            raise exc


class ChildProcess:
    """One run of a child daemon (foreground, own process group); created per start, never reused.

    It dies with the speaker whatever kills the speaker (``tethered``): ``start`` must run
    in a thread that lives as long as the child (the kernel's death signal follows the
    forking thread), which the event loop's thread does. ``record``: a pid file naming it
    while it runs (``speaker.leftovers``).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
        guard: bool = False,
        record: Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.name = name
        self.env = dict(env) if env is not None else None
        self.guard = guard
        self.record = record
        self._proc: asyncio.subprocess.Process | None = None
        self._log_task: asyncio.Task[None] | None = None
        self._reaped = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            *tethered(self.argv, guard=self.guard),
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        if self.record is not None:
            write_record(self.record, self._proc.pid)
        self._log_task = asyncio.create_task(self._forward_logs(), name=f"{self.name}-logs")
        log.info("started %s (pid %s)", self.name, self._proc.pid)

    async def _forward_logs(self) -> None:
        """Copy the child's output to our log, line by line, whatever the line length."""
        assert self._proc is not None and self._proc.stdout is not None
        pending = b""
        while True:
            chunk = await self._proc.stdout.read(1 << 16)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                log.info("%s: %s", self.name, line.decode("utf-8", "replace").rstrip()[:2000])
        if pending:
            log.info("%s: %s", self.name, pending.decode("utf-8", "replace").rstrip()[:2000])

    async def wait(self) -> int:
        assert self._proc is not None
        code = await self._proc.wait()
        if not self._reaped:
            self._reaped = True
            if self.guard:  # a daemon whose guard alone was killed has no death signal left: it goes too
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self._proc.pid, signal.SIGKILL)  # a group ID is not reused while a member lives
            if self.record is not None:
                forget_record(self.record, self._proc.pid)
        if self._log_task is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):  # not wait_for: see cancel_all
                    await self._log_task
        return code

    def kill(self) -> None:
        """SIGKILL to the child's whole process group."""
        if self.running and self._proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)

    async def stop(self, *, kill: bool = False) -> None:
        """Stop and reap: SIGTERM (or SIGKILL with ``kill``), wait, then SIGKILL."""
        if self._proc is None:
            return
        if self.running:
            if kill:
                self.kill()
            else:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_TIMEOUT):  # not wait_for: see cancel_all
                    await self._proc.wait()
            except TimeoutError:
                self.kill()
        await self.wait()
