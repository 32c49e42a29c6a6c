"""controller.heap: after a burst of work, once idle, young objects are collected, then frozen."""

from __future__ import annotations

import gc
import threading

from controller.heap import HeapKeeper, StartUpPause, freeze


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.idle = True

    def keeper(self, burst: int = 3) -> HeapKeeper:
        return HeapKeeper(
            lambda: self.idle,
            burst=burst,
            collect=lambda: self.calls.append("collect"),
            freeze=lambda: self.calls.append("freeze"),
        )


def test_nothing_happens_before_a_burst_even_when_idle() -> None:
    r = Recorder()
    keeper = r.keeper(burst=3)
    keeper.processed()
    keeper.processed()
    assert r.calls == []
    assert keeper.freezes == 0


def test_after_a_burst_an_idle_queue_collects_then_freezes_once() -> None:
    r = Recorder()
    keeper = r.keeper(burst=3)
    for _ in range(3):
        keeper.processed()
    assert r.calls == ["collect", "freeze"]  # garbage collected first, so it is not frozen
    keeper.processed()
    keeper.processed()
    assert r.calls == ["collect", "freeze"]  # the count starts again
    keeper.processed()
    assert r.calls == ["collect", "freeze"] * 2
    assert keeper.freezes == 2


def test_a_busy_queue_waits_for_the_next_idle_moment() -> None:
    r = Recorder()
    r.idle = False
    keeper = r.keeper(burst=2)
    for _ in range(5):
        keeper.processed()
    assert r.calls == []
    r.idle = True
    keeper.processed()
    assert r.calls == ["collect", "freeze"]


def test_freeze_moves_live_objects_out_of_collections() -> None:
    try:
        kept = [{"n": i} for i in range(1000)]
        freeze()
        assert gc.get_freeze_count() >= len(kept)
        assert all(o is not obj for obj in gc.get_objects() for o in kept[:3])
    finally:
        gc.unfreeze()


class Switch:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self, limit: float = 60.0) -> StartUpPause:
        return StartUpPause(
            limit=limit, disable=lambda: self.calls.append("off"), enable=lambda: self.calls.append("on")
        )


def test_start_up_pause_turns_collections_off_once_and_back_on_once() -> None:
    s = Switch()
    pause = s.pause()
    pause.begin()
    assert pause.paused
    pause.begin()
    pause.end()
    pause.end()
    assert s.calls == ["off", "on"]
    assert not pause.paused
    pause.begin()  # a pause that ended does not start again
    assert s.calls == ["off", "on"]


def test_start_up_pause_ended_before_it_began_never_turns_collections_off() -> None:
    s = Switch()
    pause = s.pause()
    pause.end()
    pause.begin()
    assert s.calls == []


def test_start_up_pause_ends_by_itself_at_its_limit() -> None:
    s = Switch()
    ended = threading.Event()
    pause = StartUpPause(
        limit=0.01, disable=lambda: s.calls.append("off"), enable=lambda: (s.calls.append("on"), ended.set())
    )
    pause.begin()
    assert ended.wait(10.0)  # the bound, not a figure: waits for the timer however slow the machine
    assert s.calls == ["off", "on"]
    assert not pause.paused
