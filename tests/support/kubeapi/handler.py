"""The HTTP request handler of the API-server double: kube-apiserver's wire protocol.

JSON over HTTP/1.1 with keep-alive; errors as ``Status`` objects; watches streamed as
chunked JSON lines; the request log written before each answer (so its order is the
order clients saw); ``/_kubeapi/...`` control endpoints for a double run as a process.
State and fault injection live in ``server.KubeApiServer`` and ``store.Store``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.support.kubeapi.errors import ApiError, bad_request, gone
from tests.support.kubeapi.resources import ParsedPath, by_plural, parse_path
from tests.support.kubeapi.selectors import exact_name, field_selector, label_selector
from tests.support.kubeapi.store import Event, Obj, strip_type_meta

if TYPE_CHECKING:
    from tests.support.kubeapi.server import KubeApiServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestRecord:
    verb: str  # RBAC verb: get list watch create update patch delete
    group: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None
    code: int  # 0: held by ``hang`` and dropped unanswered
    user: str | None
    body: str | None = None  # JSON text of the request body of create/update/patch
    at: float = 0.0  # wall-clock time the answer was sent (time.time()); for a held request: its release

    @property
    def rbac_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def _rbac_verb(method: str, parsed: ParsedPath, watch: bool) -> str:
    if method == "GET":
        if watch:
            return "watch"
        return "get" if parsed.name else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(
        method, "delete" if parsed.name else "deletecollection"
    )


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: KubeApiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that closes a kept-alive connection (a process killed, a pool trimmed) is
        # normal for an API server; socketserver would print a traceback for each one.
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("%s: connection closed by the client", client_address)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms delayed-ACK stalls
    server: _HTTPServer
    _pending_log: RequestRecord | None = None

    def setup(self) -> None:
        super().setup()
        self.server.api._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.api._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing -------------------------------------------------------------
    def _log_request(self, code: int) -> None:
        """Log before answering, so the log's order is the order the clients saw answers."""
        base, self._pending_log = self._pending_log, None
        if base is not None:
            self.server.api._log(replace(base, code=code, at=time.time()))

    def _send_json(self, code: int, body: Any) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self._log_request(code)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise bad_request(f"invalid JSON body: {exc}") from exc

    def _dispatch(self, method: str) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            body = self._read_body()
        except ApiError as exc:
            self._send_json(exc.code, exc.status())
            return
        if url.path.startswith("/_kubeapi/"):
            self._control(method, url.path, query, body)
            return
        if api.unavailable_mode == "503":
            err = ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
            self._send_json(503, err.status())
            return
        discovery = api._discovery(url.path)
        if discovery is not None:
            self._send_json(200, discovery)
            return
        parsed = parse_path(url.path)
        if parsed is None:
            err = ApiError(404, "NotFound", "the server could not find the requested resource")
            self._send_json(404, err.status())
            return
        watch = _truthy(query.get("watch"))
        verb = _rbac_verb(method, parsed, watch)
        user = api._user(self.headers.get("Authorization"))
        rt = parsed.resource
        logged_body = json.dumps(body, separators=(",", ":")) if method in ("POST", "PUT", "PATCH") else None
        # As kube-apiserver's RequestInfo: a list/watch on ``metadata.name=<n>`` names <n>
        # (what lets RBAC ``resourceNames`` grant it).
        name = parsed.name or (exact_name(query.get("fieldSelector")) if verb in ("list", "watch") else None)
        record = RequestRecord(
            verb, rt.group, rt.plural, parsed.subresource, parsed.namespace, name, 0, user, logged_body
        )
        self._pending_log = record
        code = 200
        held = None
        try:
            held = api._hold(verb, record.rbac_resource, user, name)
            if held is not None and not held.serve:
                code = 0  # dropped by ``unhang(drop=True)``: never applied, never answered
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if watch and method == "GET":
                code = self._watch(parsed, query)
            else:
                code = self._serve(method, parsed, query, body)
        except ApiError as exc:
            code = exc.code
            try:
                self._send_json(exc.code, exc.status())
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # e.g. a held request whose client gave up meanwhile
        finally:
            self._log_request(code)
            if held is not None:
                held.done.set()

    def _serve(self, method: str, p: ParsedPath, query: dict[str, str], body: Any) -> int:
        store = self.server.api.store
        rt = p.resource
        if method != "GET" and p.subresource not in (None, "status"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if p.subresource == "status" and not rt.has_status:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if method == "GET" and p.name:
            self._send_json(200, store.get_shared(rt, p.namespace, p.name))
            return 200
        if method == "GET":
            pred_l = label_selector(query.get("labelSelector"))
            pred_f = field_selector(query.get("fieldSelector"))
            limit = int(query["limit"]) if query.get("limit") else None
            items, rv, token = store.list_shared(
                rt,
                p.namespace,
                lambda o: pred_l(o) and pred_f(o),
                resource_version=query.get("resourceVersion"),
                rv_match=query.get("resourceVersionMatch"),
                limit=limit,
                continue_token=query.get("continue"),
            )
            meta: dict[str, Any] = {"resourceVersion": rv}
            if token:
                meta["continue"] = token
            self._send_json(
                200,
                {
                    "kind": f"{rt.kind}List",
                    "apiVersion": rt.api_version,
                    "metadata": meta,
                    "items": [strip_type_meta(o) for o in items],
                },
            )
            return 200
        if method == "POST":
            if p.name:
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            if not isinstance(body, dict):
                raise bad_request("body must be a JSON object")
            self._send_json(201, store.create(rt, p.namespace, body))
            return 201
        if p.name is None and method == "DELETE":
            pred_l = label_selector(query.get("labelSelector"))
            pred_f = field_selector(query.get("fieldSelector"))
            removed = store.delete_collection(rt, p.namespace, lambda o: pred_l(o) and pred_f(o))
            self._send_json(
                200,
                {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": {}, "items": removed},
            )
            return 200
        if p.name is None:
            raise ApiError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        if method == "PUT":
            if not isinstance(body, dict):
                raise bad_request("body must be a JSON object")
            self._send_json(200, store.replace(rt, p.namespace, p.name, body, p.subresource))
            return 200
        if method == "PATCH":
            ctype = self.headers.get("Content-Type") or ""
            self._send_json(200, store.patch(rt, p.namespace, p.name, ctype, body, p.subresource))
            return 200
        if method == "DELETE":
            pre = body.get("preconditions") if isinstance(body, dict) else None
            deleted = store.delete(rt, p.namespace, p.name, pre)
            if rt.plural in ("services", "namespaces", "pods", "nodes") and not rt.group:
                self._send_json(200, deleted)
            else:
                self._send_json(
                    200,
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "metadata": {},
                        "status": "Success",
                        "details": {
                            "name": p.name,
                            "group": rt.group,
                            "kind": rt.plural,
                            "uid": deleted["metadata"]["uid"],
                        },
                    },
                )
            return 200
        raise ApiError(405, "MethodNotAllowed", "method not allowed")

    # -- watch ----------------------------------------------------------------
    def _chunk(self, payload: Any) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _watch(self, p: ParsedPath, query: dict[str, str]) -> int:
        api = self.server.api
        store = api.store
        pred_l = label_selector(query.get("labelSelector"))
        pred_f = field_selector(query.get("fieldSelector"))

        def matches(obj: Obj | None) -> bool:
            if obj is None:
                return False
            ns = (obj.get("metadata") or {}).get("namespace")
            return (p.namespace is None or ns == p.namespace) and pred_l(obj) and pred_f(obj)

        with store.cond:
            store.open_watches += 1
        try:
            return self._stream(p, query, matches)
        finally:
            with store.cond:
                store.open_watches -= 1

    def _stream(self, p: ParsedPath, query: dict[str, str], matches: Callable[[Obj | None], bool]) -> int:
        api = self.server.api
        store = api.store
        rt = p.resource
        bookmarks = _truthy(query.get("allowWatchBookmarks"))
        # As kube-apiserver: an absent or zero timeoutSeconds means the server's default.
        timeout = float(query.get("timeoutSeconds") or 0) or api.default_watch_timeout
        deadline = time.monotonic() + timeout
        rv_param = query.get("resourceVersion")
        initial: list[Obj] = []
        error: dict[str, Any] | None = None
        with store.cond:
            drop_epoch = store.drop_epoch
            if rv_param in (None, "", "0"):
                pos = store.rv
                initial = [o for o in store._bucket(rt).values() if matches(o)]
            else:
                try:
                    pos = int(str(rv_param))
                except ValueError as exc:
                    raise bad_request(f"invalid resourceVersion {rv_param!r}") from exc
                if pos < store.compacted(rt):  # beyond the bounded history: 410 in the stream
                    error = gone(f"too old resource version: {pos} ({store.compacted(rt)})").status()
        self._log_request(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            for obj in initial:
                self._chunk({"type": "ADDED", "object": obj})
            if error is not None:
                self._chunk({"type": "ERROR", "object": error})
                self.wfile.write(b"0\r\n\r\n")
                return 200
            self.wfile.flush()
            next_bookmark = time.monotonic() + api.bookmark_interval
            while True:
                events: list[Event] = []
                bookmark_rv: int | None = None
                abrupt = finished = False
                with store.cond:
                    while True:
                        if store.drop_epoch != drop_epoch:
                            abrupt = True
                            break
                        try:
                            events = store.events_since(rt, pos)
                        except ApiError as exc:
                            error = exc.status()
                            break
                        if events:
                            break
                        now = time.monotonic()
                        if now >= deadline:
                            finished = True
                            break
                        if bookmarks and now >= next_bookmark:
                            bookmark_rv = store.rv
                            break
                        wake = min(deadline, next_bookmark) if bookmarks else deadline
                        store.cond.wait(max(0.0, wake - now))
                if abrupt:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return 200
                if error is not None:
                    self._chunk({"type": "ERROR", "object": error})
                    break
                for ev in events:
                    pos = ev.rv
                    now_match, was_match = matches(ev.obj), matches(ev.prev)
                    etype = ev.type
                    if etype == "MODIFIED" and now_match != was_match:
                        etype = "ADDED" if now_match else "DELETED"
                    elif etype == "DELETED":
                        now_match = was_match or now_match
                    if now_match or (etype == "DELETED" and was_match):
                        self._chunk({"type": etype, "object": ev.obj})
                if bookmark_rv is not None:
                    pos = bookmark_rv
                    next_bookmark = time.monotonic() + api.bookmark_interval
                    self._chunk(
                        {
                            "type": "BOOKMARK",
                            "object": {
                                "kind": rt.kind,
                                "apiVersion": rt.api_version,
                                "metadata": {"resourceVersion": str(pos)},
                            },
                        }
                    )
                self.wfile.flush()
                if finished:
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        return 200

    # -- control endpoints (for tests driving a subprocess double) -------------
    def _control(self, method: str, path: str, query: dict[str, str], body: Any) -> None:
        api = self.server.api
        action = path[len("/_kubeapi/") :]
        try:
            if action == "requests" and method == "GET":
                self._send_json(200, [asdict(r) for r in api.requests()])
                return
            if action == "clear-requests":
                api.clear_requests()
            elif action == "drop-watches":
                api.store.drop_watches()
            elif action == "outage":
                seconds = float(query.get("seconds", "1"))
                mode = query.get("mode", "refuse")
                self._send_json(200, {"ok": True})
                self.close_connection = True
                threading.Thread(target=api.outage, args=(seconds, mode), daemon=True).start()
                return
            elif action == "objects" and method == "POST":
                rt = by_plural(body["resource"], body.get("group", ""))
                for obj in body["objects"]:
                    api.store.create(
                        rt,
                        (obj.get("metadata") or {}).get("namespace"),
                        obj,
                        keep_status=bool(body.get("keepStatus")),
                    )
            else:
                self._send_json(404, {"error": f"unknown control action {action}"})
                return
            self._send_json(200, {"ok": True, "resourceVersion": str(api.store.current_rv())})
        except ApiError as exc:
            self._send_json(exc.code, exc.status())
