"""The API-server double as an object: start/stop, the faults a real server cannot be made to
produce on demand, the request log.

``hang(verb, resource)`` holds matching requests without an answer (the TCP connection
is accepted, the request read, nothing comes back), as a kube-apiserver behind a stalled
network or a stuck etcd: the client sees a hung call and only its own request timeout
ends its wait. ``unhang()`` then serves the held requests late (as a real API server may
still complete a write whose client already gave up) or, with ``drop=True``, closes
their connections unapplied (the request was lost on the way). ``drop_watches()`` resets
every open connection mid-stream; ``begin_outage("503"|"refuse")`` answers 503 or refuses
connections. The request log names each request's bearer token as its user, so tests tell
two clients apart. The wire protocol is in ``handler``, the objects in ``store``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.kubeapi.handler import RequestRecord, _Handler, _HTTPServer
from tests.support.kubeapi.kubeconfig import write_kubeconfig
from tests.support.kubeapi.resources import RESOURCES, ResourceType
from tests.support.kubeapi.store import Store

log = logging.getLogger(__name__)


__all__ = ["KubeApiServer", "RequestRecord"]


@dataclass(frozen=True)
class _HangRule:
    verb: str  # RBAC verb, "*" for any
    resource: str  # "leases", "services/status", ...; "*" for any
    user: str | None  # bearer token; None for anyone
    name: str | None  # object name; None for any

    def matches(self, verb: str, resource: str, user: str | None, name: str | None) -> bool:
        return (
            self.verb in (verb, "*")
            and self.resource in (resource, "*")
            and (self.user is None or self.user == user)
            and (self.name is None or self.name == name)
        )


class _Held:
    """One request held by ``hang``: ``serve`` is set on release, ``done`` once it is answered."""

    __slots__ = ("done", "serve")

    def __init__(self) -> None:
        self.serve: bool | None = None
        self.done = threading.Event()


class KubeApiServer:
    """An in-process API-server double on 127.0.0.1 (random port by default)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        store: Store | None = None,
        history_limit: int = 100_000,
        bookmark_interval: float = 2.0,
        default_watch_timeout: float = 300.0,
    ) -> None:
        self.store = store or Store(history_limit=history_limit)
        self.bookmark_interval = bookmark_interval
        self.default_watch_timeout = default_watch_timeout
        self.unavailable_mode: str | None = None
        self._host, self._port = host, port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._hang_cond = threading.Condition()
        self._hang_rules: list[_HangRule] = []
        self._held: list[_Held] = []

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> KubeApiServer:
        httpd = _HTTPServer((self._host, self._port), _Handler)
        httpd.api = self
        self._port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"kubeapi:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def _close_listener(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        self._cut_connections()

    def stop(self) -> None:
        self.unhang(drop=True)
        self._close_listener()
        self.store.drop_watches()

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def write_kubeconfig(self, path: str | Path, token: str | None = None) -> Path:
        """A kubeconfig for the double; ``token`` names the user in the request log."""
        return write_kubeconfig(path, self.url, token=token)

    # -- fault injection ------------------------------------------------------
    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _cut_connections(self) -> None:
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.store.drop_watches()

    def drop_watches(self) -> None:
        """Cut every open watch connection mid-stream (no terminating chunk)."""
        self.store.drop_watches()

    def open_watches(self) -> int:
        """How many watch streams are being served (to wait for a client's watch before a fault)."""
        with self.store.cond:
            return self.store.open_watches

    def begin_outage(self, mode: str = "refuse") -> None:
        """``refuse``: close the port and every connection; ``503``: answer ServiceUnavailable."""
        if mode == "refuse":
            self._close_listener()
        elif mode == "503":
            self.unavailable_mode = "503"
            self._cut_connections()
        else:
            raise ValueError(mode)

    def end_outage(self) -> None:
        self.unavailable_mode = None
        if self._httpd is None:
            self.start()

    def outage(self, seconds: float, mode: str = "refuse") -> None:
        """Be unavailable for ``seconds`` (blocks; run it in a thread to overlap)."""
        self.begin_outage(mode)
        try:
            time.sleep(seconds)
        finally:
            self.end_outage()

    def hang(self, verb: str, resource: str, *, user: str | None = None, name: str | None = None) -> None:
        """Hold every matching request unanswered until ``unhang``.

        ``verb`` is the RBAC verb (``update``, ``patch``, ...), ``resource`` the RBAC resource
        with its subresource (``leases``, ``services/status``), ``user`` a bearer token and
        ``name`` the object's name (None: any); ``"*"`` matches any verb or resource. Rules add
        up. Held requests are logged when they are finally answered, so a late write shows up
        in ``requests()`` at the time it was applied. Note that urllib3 (under the kubernetes
        client) re-sends a GET or PUT whose read timed out, up to three times: each copy is
        held too.
        """
        with self._hang_cond:
            self._hang_rules.append(_HangRule(verb, resource, user, name))

    def unhang(self, *, drop: bool = False) -> int:
        """Remove every hang rule and release the held requests; returns how many were held.

        By default they are served now, in the order they arrived (late, possibly after their
        client gave up: a write is applied unless its preconditions fail). ``drop=True``
        closes their connections instead, unapplied, and logs them with code 0 (a client still
        waiting may re-send a GET or PUT, which is then served: the rules are gone).
        """
        with self._hang_cond:
            self._hang_rules.clear()
            held, self._held = self._held, []
        for h in held:  # one at a time, in arrival order, each answered before the next goes
            with self._hang_cond:
                h.serve = not drop
                self._hang_cond.notify_all()
            h.done.wait(5.0)
        return len(held)

    def hung(self) -> int:
        """How many requests are being held right now."""
        with self._hang_cond:
            return len(self._held)

    def wait_hung(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` requests are held (a client's call has arrived)."""
        with self._hang_cond:
            return self._hang_cond.wait_for(lambda: len(self._held) >= count, timeout)

    def _hold(self, verb: str, resource: str, user: str | None, name: str | None) -> _Held | None:
        """Called by the handler before serving: while a rule matches, wait for ``unhang``.

        Returns None when no rule matched, else the released hold (``serve`` says whether to
        serve or drop; the handler sets ``done`` once it has answered).
        """
        with self._hang_cond:
            if not any(rule.matches(verb, resource, user, name) for rule in self._hang_rules):
                return None
            held = _Held()
            self._held.append(held)
            self._hang_cond.notify_all()
            log.debug("holding %s %s %s of %s", verb, resource, name, user)
            while held.serve is None:
                self._hang_cond.wait()
            return held

    # -- request log and authorisation -------------------------------------------
    def _log(self, rec: RequestRecord) -> None:
        with self._lock:
            self._requests.append(rec)

    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _user(self, header: str | None) -> str | None:
        """The bearer token names the user (a ServiceAccount JWT: its ``sub``); anyone may do anything."""
        token = header[7:] if header and header[:7].lower() == "bearer " else None
        return _username(token) if token else None

    def _discovery(self, path: str) -> dict[str, Any] | None:
        path = path.rstrip("/")
        if path == "/version":
            return {"major": "1", "minor": "36", "gitVersion": "v1.36.0-kubeapi-double"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"]}
        groups = sorted({(r.group, r.version) for r in RESOURCES if r.group})
        if path == "/apis":
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": g,
                        "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                        "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v},
                    }
                    for g, v in groups
                ],
            }
        for gv in {("", "v1"), *groups}:
            prefix = f"/apis/{gv[0]}/{gv[1]}" if gv[0] else "/api/v1"
            if path == prefix:
                return {
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": f"{gv[0]}/{gv[1]}" if gv[0] else "v1",
                    "resources": [_resource_entry(r) for r in RESOURCES if (r.group, r.version) == gv]
                    + [
                        _resource_entry(r, "status")
                        for r in RESOURCES
                        if (r.group, r.version) == gv and r.has_status
                    ],
                }
        return None


def _username(token: str) -> str:
    """The user a token authenticates as: a JWT's ``sub`` (as a ServiceAccount token's
    ``system:serviceaccount:NS:NAME``), else the token itself (the double's plain tokens)."""
    parts = token.split(".")
    if len(parts) == 3:
        try:
            sub = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))).get("sub")
        except (ValueError, AttributeError):
            sub = None
        if isinstance(sub, str) and sub:
            return sub
    return token


def _resource_entry(r: ResourceType, sub: str | None = None) -> dict[str, Any]:
    verbs = (
        ["get", "patch", "update"] if sub else ["create", "delete", "get", "list", "patch", "update", "watch"]
    )
    return {
        "name": f"{r.plural}/{sub}" if sub else r.plural,
        "singularName": "",
        "kind": r.kind,
        "namespaced": r.namespaced,
        "verbs": verbs,
    }
