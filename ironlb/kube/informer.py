"""An informer: list, then watch, forever, keeping a local cache and reporting changes.

One thread per informer, because the official client blocks. The watch resumes from
the last resourceVersion seen (object or BOOKMARK) after a dropped connection or a
server-side timeout; an ERROR event or HTTP 410 means that version is gone, so it
lists again and reports only the differences (``cache.relist_changes``), so nothing
is lost and nothing already known is reported twice. Objects are raw camelCase dicts
read with ``_preload_content=False``, exactly as manifests spell them; a ``transform``
(client-go's ``SetTransform``) may cut each one down to what its user reads before it
is cached, so a cache of every Service in a cluster holds only the fields that matter.
resourceVersions are opaque strings (the API's contract): they are stored, sent back and
compared for equality, never ordered. A paged LIST asks for the next page while it decodes this
one (the API server encodes on another core meanwhile; the token is read first, without building
the items). ``synced`` turns true after the first LIST's changes were handed to ``on_change``.
A relist after 410 is routine and logged at DEBUG; a lost connection is the client's
``ApiHealth``'s to report (once), so it is DEBUG here too.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
import urllib3
from kubernetes.client.exceptions import ApiException

from ironlb.kube.cache import Change, Obj, apply_change, event_change, relist_changes, rv_of
from ironlb.kube.errors import retry_log_level
from ironlb.kube.workqueue import tenacity_backoff

log = logging.getLogger(__name__)

TOO_MANY_REQUESTS = 429

ListFn = Callable[..., Any]
PageDecoder = Callable[[bytes], tuple[list[Any], Mapping[str, Any]]]
"""Bytes of one LIST page -> its items exactly as the informer would cache them (kind and
apiVersion filled in, ``transform`` applied) and the list's metadata (e.g.
``ironlb.kube.servicepages``: straight to views, without building what the view drops)."""


class _ListMeta(msgspec.Struct):
    metadata: dict[str, Any] | None = None


_LIST_META = msgspec.json.Decoder(_ListMeta)


def continue_token(data: bytes) -> str | None:
    """The ``continue`` token of a LIST page, read without building its items (msgspec skips
    them), so the next page can be asked for before this one is decoded; None if there is none
    or the page is not what it should be (the full decoding then tells)."""
    try:
        token = (_LIST_META.decode(data).metadata or {}).get("continue")
    except msgspec.MsgspecError:
        return None
    return token if isinstance(token, str) and token else None


class _Relist(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def retry_step(failures: int, *, progressed: bool, gone: bool) -> tuple[int, bool]:
    """After a failed attempt: the new consecutive-failure count, and whether to back off.

    A watch that delivered events before failing starts the count afresh; one 410 is
    routine (list again at once), but 410 after 410 without progress backs off too,
    so a server that keeps expiring us is never hammered.
    """
    if progressed:
        failures = 0
    if gone and failures == 0:
        return 1, False
    return failures + 1, True


def iter_lines(resp: Any) -> Iterator[bytes]:
    """Split a chunked watch response into JSON lines as they arrive."""
    buf = b""
    for chunk in resp.stream(amt=None, decode_content=False):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield line
    if buf.strip():
        yield buf


class Informer:
    def __init__(
        self,
        name: str,
        list_fn: ListFn,
        *,
        kind: str,
        api_version: str,
        on_change: Callable[[Change], None] | None = None,
        list_kwargs: dict[str, Any] | None = None,
        page_size: int = 500,
        watch_timeout: int = 300,
        backoff: Callable[[int], float] | None = None,
        transform: Callable[[Obj], Obj] | None = None,
        page_decoder: PageDecoder | None = None,
    ) -> None:
        self.name = name
        self._list_fn = list_fn
        self.kind, self.api_version = kind, api_version
        self._on_change = on_change
        self._list_kwargs = list_kwargs or {}
        self._page_size = page_size
        self._watch_timeout = watch_timeout
        self._backoff = backoff or tenacity_backoff(0.1, 10.0)
        self._transform = transform
        self._page_decoder = page_decoder
        self._lock = threading.Lock()
        self._cache: dict[str, Obj] = {}
        self._rv = ""
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._resp: Any = None
        self._progress = False  # the current watch delivered an event (not an error)
        # Counters, for logs, metrics and tests.
        self.lists = 0
        self.listed_at: float | None = None
        """Monotonic time the request of the last complete LIST was sent: the cache holds every
        change made before it (and, through the watch, after it)."""
        self.watches = 0
        self.errors = 0

    # -- public -------------------------------------------------------------------
    def start(self) -> Informer:
        self._thread = threading.Thread(target=self._run, name=f"informer:{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._interrupt()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_synced(self, timeout: float | None = None) -> bool:
        return self._synced.wait(timeout)

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    @property
    def resource_version(self) -> str:
        with self._lock:
            return self._rv

    def items(self) -> list[Obj]:
        with self._lock:
            return list(self._cache.values())

    def get(self, key: str) -> Obj | None:
        with self._lock:
            return self._cache.get(key)

    def drop_connection(self) -> None:
        """Cut the current watch (as a network failure would); the informer resumes."""
        self._interrupt()

    # -- loop ---------------------------------------------------------------------
    def _interrupt(self) -> None:
        resp = self._resp
        if resp is not None:
            try:
                resp.shutdown()
            except (OSError, AttributeError):
                resp.close()

    def _run(self) -> None:
        need_list = True
        failures = 0  # consecutive failed attempts without progress, for the backoff
        while not self._stop.is_set():
            self._progress = False
            try:
                if need_list:
                    self._list()
                    need_list = False
                self._watch()
                failures = 0
                continue
            except _Relist as exc:
                need_list = True
                gone = exc.code == 410
                log.log(
                    logging.DEBUG if gone else logging.WARNING,  # 410: routine, the list catches up
                    "%s: watch error: %s; listing again",
                    self.name,
                    exc,
                )
            except ApiException as exc:
                gone = exc.status == 410
                need_list = need_list or gone
                log.log(
                    # 429: the server asks to come back later (as a fresh one does for custom
                    # resources until it serves their CRDs); retried like client-go, quietly.
                    logging.DEBUG if gone or exc.status == TOO_MANY_REQUESTS else retry_log_level(exc),
                    "%s: API error %s %s%s",
                    self.name,
                    exc.status,
                    exc.reason,
                    "; listing again" if gone else "",
                )
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                if self._stop.is_set():
                    break
                gone = False
                log.log(
                    retry_log_level(exc),
                    "%s: connection lost (%s); resuming from %s",
                    self.name,
                    exc,
                    self._rv or "0",
                )
            failures, wait = retry_step(failures, progressed=self._progress, gone=gone)
            if wait:
                self.errors += 1
                self._stop.wait(self._backoff(failures))

    def _emit(self, changes: list[Change]) -> None:
        for change in changes:
            if self._on_change is None:
                continue
            try:
                self._on_change(change)
            except Exception:
                log.exception("%s: change handler failed for %s", self.name, change.key)

    def _with_type(self, obj: Obj) -> Obj:
        # List items of built-in kinds come without kind/apiVersion; manifests have them.
        if "kind" not in obj:
            obj = {"kind": self.kind, "apiVersion": self.api_version, **obj}
        return obj if self._transform is None else self._transform(obj)

    def _list(self) -> None:
        started = time.monotonic()  # a paged LIST is one snapshot, taken at the first page
        items: list[Obj] = []
        data = self._fetch_page(None)
        ahead: ThreadPoolExecutor | None = None  # fetches the next page while this one is decoded
        try:
            while True:
                early = continue_token(data)
                if early:
                    ahead = ahead or ThreadPoolExecutor(1, thread_name_prefix=f"list:{self.name}")
                    next_page = ahead.submit(self._fetch_page, early)
                meta = self._decode_page(data, items)
                token = meta.get("continue")
                if not token:
                    break
                data = next_page.result() if token == early else self._fetch_page(token)
        finally:
            if ahead is not None:
                ahead.shutdown(wait=False, cancel_futures=True)
        self.lists += 1
        with self._lock:
            changes = relist_changes(self._cache, items)
            for change in changes:
                apply_change(self._cache, change)
            self._rv = str(meta.get("resourceVersion") or "")
            self.listed_at = started
        log.debug(
            "%s: listed %d objects at rv %s (%d changes)", self.name, len(items), self._rv, len(changes)
        )
        # Synced once the handlers have seen the whole list (client-go's HasSynced of a handler):
        # a reader woken by the sync then never races the delivery of thousands of initial changes
        # for the interpreter (the controller's first write waited 0.25 s behind them).
        self._emit(changes)
        self._synced.set()

    def _fetch_page(self, token: str | None) -> bytes:
        kwargs: dict[str, Any] = {**self._list_kwargs, "limit": self._page_size}
        if token:
            kwargs["_continue"] = token
        resp = self._list_fn(**kwargs, _preload_content=False, _request_timeout=60)
        return bytes(resp.data)

    def _decode_page(self, data: bytes, items: list[Obj]) -> Mapping[str, Any]:
        """Adds the page's objects (as cached) to ``items``; returns the list's metadata."""
        if self._page_decoder is not None:
            decoded, meta = self._page_decoder(data)
            items.extend(decoded)
            return meta
        body = json.loads(data)
        items.extend(self._with_type(o) for o in body.get("items") or [])
        return body.get("metadata") or {}

    def _watch(self) -> None:
        self.watches += 1
        resp = self._list_fn(
            **self._list_kwargs,
            watch=True,
            resource_version=self._rv,
            allow_watch_bookmarks=True,
            timeout_seconds=self._watch_timeout,
            _preload_content=False,
            _request_timeout=(10, self._watch_timeout + 30),
        )
        self._resp = resp
        drained = False
        try:
            if self._stop.is_set():
                return
            for line in iter_lines(resp):
                event = json.loads(line)
                etype, obj = event.get("type"), event.get("object") or {}
                if etype == "ERROR":
                    raise _Relist(int(obj.get("code") or 0), str(obj.get("message") or "watch error"))
                self._progress = True
                if etype == "BOOKMARK":
                    with self._lock:
                        self._rv = rv_of(obj) or self._rv
                    continue
                obj = self._with_type(obj)
                with self._lock:
                    change = event_change(self._cache, str(etype), obj)
                    if change is not None:
                        apply_change(self._cache, change)
                    self._rv = rv_of(obj) or self._rv
                if change is not None:
                    self._emit([change])
            drained = True
        finally:
            self._resp = None
            if not drained:
                # Unread bytes of an abandoned stream would be parsed as the next
                # response's status line if the connection went back to the pool.
                resp.close()
            resp.release_conn()
