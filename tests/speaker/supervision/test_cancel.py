"""``speaker.supervision.cancel_all``: every task ends, even one that lost its first cancel.

On Python 3.11 ``asyncio.wait_for`` loses a cancel that arrives as the future it waits on
completes (CPython gh-86296): the loop around it goes on, and a speaker that cancelled its
tasks once at SIGTERM then waited for them never exited. ``cancel_all`` cancels again
whatever still runs until all have finished, and names the ones that never do.

No figure is asserted: a task here ends because it was cancelled, never because time passed.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from speaker.supervision import cancel_all, cancel_and_wait


class Stubborn:
    """A task body that swallows the first ``swallow`` cancels it gets, then ends on the next."""

    def __init__(self, swallow: int) -> None:
        self.swallow = swallow
        self.cancels = 0
        self.release = asyncio.Event()
        """Set: it ends by itself (clean-up of a test whose task never gives in)."""

    async def run(self) -> None:
        while not self.release.is_set():
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancels += 1
                if self.cancels > self.swallow:
                    raise


def test_a_task_that_swallows_its_first_cancel_is_cancelled_again_until_it_ends() -> None:
    async def scenario() -> tuple[bool, asyncio.Task[None], int]:
        body = Stubborn(swallow=1)
        task = asyncio.create_task(body.run(), name="stubborn")
        await asyncio.sleep(0)  # it waits
        ok = await cancel_all([task])
        return ok, task, body.cancels

    ok, task, cancels = asyncio.run(scenario())
    assert ok
    assert task.cancelled()
    assert cancels == 2  # the first swallowed, the second obeyed


def test_one_cancel_then_a_wait_would_wait_for_ever_on_such_a_task() -> None:
    """Why one cancel is not enough: the task goes on after it (what gather after cancel waited on)."""

    async def scenario() -> tuple[bool, int]:
        body = Stubborn(swallow=1)
        task = asyncio.create_task(body.run(), name="stubborn")
        await asyncio.sleep(0)
        task.cancel()
        for _ in range(10):
            await asyncio.sleep(0)
        still_running = not task.done()
        cancels = body.cancels
        body.release.set()
        await task
        return still_running, cancels

    still_running, cancels = asyncio.run(scenario())
    assert still_running and cancels == 1


def _wait_for_loop() -> tuple[asyncio.Task[None], list[asyncio.Future[None]]]:
    """A loop around ``asyncio.wait_for``, as the speaker's loops are; yields each future it waits on."""
    futures: list[asyncio.Future[None]] = []

    async def run() -> None:
        while True:
            fut = asyncio.get_running_loop().create_future()
            futures.append(fut)
            await asyncio.wait_for(fut, 3600)

    return asyncio.create_task(run(), name="wait-for-loop"), futures


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="gh-86296 is fixed in 3.12 (wait_for uses timeout)")
def test_on_3_11_wait_for_loses_a_cancel_that_comes_as_its_future_completes() -> None:
    async def scenario() -> tuple[bool, int]:
        task, futures = _wait_for_loop()
        await asyncio.sleep(0)
        futures[0].set_result(None)
        task.cancel()  # in the same turn of the loop: wait_for returns the result instead
        for _ in range(10):
            await asyncio.sleep(0)
        running, waiting_on = not task.done(), len(futures)
        task.cancel()  # a second cancel, on a future still pending, is obeyed
        await asyncio.gather(task, return_exceptions=True)
        return running, waiting_on

    running, waiting_on = asyncio.run(scenario())
    assert running and waiting_on == 2  # the loop went on to its next wait


def test_cancel_all_ends_a_wait_for_loop_cancelled_as_its_future_completes() -> None:
    async def scenario() -> tuple[bool, asyncio.Task[None]]:
        task, futures = _wait_for_loop()
        await asyncio.sleep(0)
        futures[0].set_result(None)
        return await cancel_all([task]), task  # its first cancel comes in the same turn

    ok, task = asyncio.run(scenario())
    assert ok and task.cancelled()


def test_a_task_that_never_ends_is_named_and_left_after_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[bool, bool, int]:
        body = Stubborn(swallow=1_000_000)
        task = asyncio.create_task(body.run(), name="never-ends")
        quick = asyncio.create_task(asyncio.Event().wait(), name="obeys")
        await asyncio.sleep(0)
        ok = await cancel_all([task, quick], timeout=0.3)
        left_running = not task.done()
        body.release.set()
        await task
        return ok, left_running and quick.cancelled(), body.cancels

    with caplog.at_level(logging.ERROR, logger="speaker.supervision"):
        ok, as_expected, cancels = asyncio.run(scenario())
    assert not ok and as_expected
    assert cancels >= 2  # cancelled again while it ran
    assert "never-ends" in caplog.text and "obeys" not in caplog.text


def test_tasks_done_already_and_failed_ones_are_fine_and_the_failure_is_not_lost() -> None:
    async def fails() -> None:
        raise ValueError("boom")

    async def scenario() -> tuple[bool, BaseException | None]:
        done = asyncio.create_task(asyncio.sleep(0), name="done")
        failed = asyncio.create_task(fails(), name="failed")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        ok = await cancel_all([done, failed, asyncio.create_task(asyncio.Event().wait())])
        try:
            await cancel_and_wait([done, failed])  # the backends' form raises the failure
        except ValueError as exc:
            return ok, exc
        return ok, None

    ok, raised = asyncio.run(scenario())
    assert ok and isinstance(raised, ValueError)


def test_a_caller_cancelled_while_waiting_cancels_its_tasks_once_more_and_is_cancelled() -> None:
    async def scenario() -> tuple[bool, int]:
        body = Stubborn(swallow=1)
        task = asyncio.create_task(body.run(), name="stubborn")
        await asyncio.sleep(0)
        caller = asyncio.create_task(cancel_all([task], again=3600))  # no second cancel of its own
        await asyncio.sleep(0)  # the caller cancelled it once and waits
        caller.cancel()
        try:
            await caller
            caller_cancelled = False
        except asyncio.CancelledError:
            caller_cancelled = True
        await asyncio.gather(task, return_exceptions=True)  # ends: cancelled a second time
        return caller_cancelled and task.cancelled(), body.cancels

    ok, cancels = asyncio.run(scenario())
    assert ok and cancels == 2


def test_a_loop_around_asyncio_timeout_obeys_a_cancel_that_comes_as_its_future_completes() -> None:
    """The form of the speaker's loops (``async with asyncio.timeout``): one cancel ends it, on any Python."""

    async def scenario() -> tuple[bool, int]:
        futures: list[asyncio.Future[None]] = []

        async def run() -> None:
            while True:
                fut = asyncio.get_running_loop().create_future()
                futures.append(fut)
                async with asyncio.timeout(3600):
                    await fut

        task = asyncio.create_task(run())
        await asyncio.sleep(0)
        futures[0].set_result(None)
        task.cancel()
        for _ in range(10):
            await asyncio.sleep(0)
        cancelled, waits = task.cancelled(), len(futures)
        await cancel_all([task])  # clean-up, should it have gone on
        return cancelled, waits

    cancelled, waits = asyncio.run(scenario())
    assert cancelled and waits == 1
