"""The work queue: de-duplication, one worker per key, per-key backoff (fake clock)."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from ironlb.kube.workqueue import WorkQueue, tenacity_backoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_duplicate_adds_collapse() -> None:
    q: WorkQueue[str] = WorkQueue()
    for key in ("a", "b", "a", "a", "b"):
        q.add(key)
    assert [q.get(0), q.get(0), q.get(0)] == ["a", "b", None]


def test_key_added_while_processing_is_requeued_after_done_only() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    assert q.get(0) == "a"
    q.add("a")
    q.add("a")
    assert q.get(0) is None  # not handed to a second worker
    q.done("a")
    assert q.get(0) == "a"
    q.done("a")
    assert q.get(0) is None and q.idle()


def test_rate_limited_requeue_waits_for_backoff_without_blocking_others() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock=clock, backoff=tenacity_backoff(1.0, 8.0))
    q.add("bad")
    assert q.get(0) == "bad"
    assert q.add_rate_limited("bad") == 1.0
    q.done("bad")
    q.add("good")
    assert q.get(0) == "good"  # other keys flow while "bad" waits
    q.done("good")
    assert q.get(0) is None
    clock.now += 1.0
    assert q.get(0) == "bad"
    assert [q.add_rate_limited("bad") for _ in range(4)] == [2.0, 4.0, 8.0, 8.0]
    q.forget("bad")
    assert q.failures("bad") == 0


def test_shutdown_releases_waiters() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.shutdown()
    assert q.get() is None
    q.add("x")
    assert q.get(0) is None


ops = st.lists(st.tuples(st.sampled_from(["add", "get", "done"]), st.sampled_from("abc")), max_size=60)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_no_key_is_processed_twice_at_once_and_no_add_is_lost(script: list[tuple[str, str]]) -> None:
    q: WorkQueue[str] = WorkQueue()
    processing: set[str] = set()
    owed: set[str] = set()  # keys added since their processing last started
    for op, key in script:
        if op == "add":
            q.add(key)
            owed.add(key)
        elif op == "get":
            got = q.get(0)
            if got is not None:
                assert got not in processing
                processing.add(got)
                owed.discard(got)
        elif key in processing:
            q.done(key)
            processing.discard(key)
    for key in list(processing):
        q.done(key)
    drained = set()
    while (got := q.get(0)) is not None:
        drained.add(got)
        q.done(got)
    assert owed <= drained


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from("abcde"), max_size=6),  # taken (in work) before the batch
    st.lists(st.sampled_from("abcdef"), max_size=12),  # the batch
)
def test_add_all_queues_what_adding_one_by_one_queues(in_work: list[str], batch: list[str]) -> None:
    def drained(q: WorkQueue[str]) -> list[str]:
        out = []
        while (key := q.get(timeout=0)) is not None:
            out.append(key)
        return out

    one_by_one: WorkQueue[str] = WorkQueue()
    at_once: WorkQueue[str] = WorkQueue()
    for q in (one_by_one, at_once):
        for key in in_work:
            q.add(key)
        while q.get(timeout=0) is not None:  # taken by workers, not done yet
            pass
    for key in batch:
        one_by_one.add(key)
    at_once.add_all(batch)
    assert drained(at_once) == drained(one_by_one)


def test_add_all_wakes_as_many_workers_as_keys_it_queued() -> None:
    q: WorkQueue[str] = WorkQueue()
    got: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        key = q.get(timeout=30)
        with lock:
            got.append(key or "")

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    q.add_all(["a", "b", "c"])
    for t in threads:
        t.join(30)
    assert sorted(got) == ["a", "b", "c"]
