"""One HTTP port per program for metrics and the kubelet's probes: ``/metrics``, ``/healthz``, ``/readyz``.

Why it exists: the controller and the speaker both need their probes on the port their
metrics are served on (one named container port, one thing to open), and
prometheus-client's ``start_http_server`` serves only metrics. So this is a few lines on
``http.server`` (hand-written for that reason); each program says what its metrics are and
how it judges itself:

- ``metrics(accept)`` returns the exposition body and its content type; ``serve`` gives it
  the program's registry in the format the scraper asks for (prometheus-client's
  ``choose_encoder``: OpenMetrics or the text format);
- ``liveness()`` returns None while alive, else why not: ``/healthz`` 503 with that reason;
- ``readiness()`` returns None when ready, else why not: ``/readyz`` 503 with
  ``not ready: <reason>``. The kubelet only sees the 503, a person asking the port sees why.

``serve(address, registry, ...)`` is how both programs start it: ``HOST:PORT`` or ``:PORT``
(every address: IPv6 and IPv4 where the kernel has IPv6), parsed by ``split_address``, the
one parser of that address (the flag's check uses it too). A port that cannot be opened
raises ``CannotListen`` naming the address, which each program turns into one line naming
its flag (``ironlb.programs.flags.listen_failure``), and a non-zero exit.

The server runs in a daemon thread, never in a program's event loop, so a stuck loop
cannot hide behind a probe answered by that same loop.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

log = logging.getLogger(__name__)

Exposition = Callable[[str], tuple[bytes, str]]
"""``Accept`` header -> (body, content type) of ``/metrics``."""


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``:PORT`` -> (host, port); host "" is every address. ``[::1]:80`` works too."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"metrics address {address!r}: expected HOST:PORT or :PORT")
    return host.strip("[]"), int(port)


def registry_exposition(registry: CollectorRegistry) -> Exposition:
    """``registry`` in the format the scraper asks for (OpenMetrics or the text format)."""

    def exposition(accept: str) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept)
        return encoder(registry), content_type

    return exposition


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics http: " + format, *args)

    def do_GET(self) -> None:
        srv = self.server
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body, ctype = srv.metrics(self.headers.get("Accept", ""))
            self._reply(200, body, ctype)
        elif path == "/healthz":
            problem = srv.liveness()
            if problem is None:
                self._reply(200, b"ok\n")
            else:
                self._reply(503, f"{problem}\n".encode())
        elif path == "/readyz":
            reason = srv.readiness()
            if reason is None:
                self._reply(200, b"ok\n")
            else:
                self._reply(503, f"not ready: {reason}\n".encode())
        else:
            self._reply(404, b"not found\n")

    def _reply(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    metrics: Exposition
    liveness: Callable[[], str | None]
    readiness: Callable[[], str | None]


class _Server6(_Server):
    address_family = socket.AF_INET6


class _DualStack(_Server6):
    """``::`` with IPv4 too (v4-mapped): one socket for every address of the host."""

    def server_bind(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def _bind(host: str, port: int) -> _Server:
    if host:
        return (_Server6 if ":" in host else _Server)((host, port), _Handler)
    # Every address: dual-stack where the kernel has IPv6 (an IPv6-only node's kubelet probes
    # its IPv6 address), else IPv4 only.
    try:
        return _DualStack(("::", port), _Handler)
    except OSError as exc:
        log.debug("no IPv6 socket for the metrics port (%s); listening on IPv4 only", exc)
        return _Server(("0.0.0.0", port), _Handler)


class CannotListen(OSError):
    """The port cannot be opened (another process has it, or the host lacks the address)."""

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        where = f"[{host}]:{port}" if ":" in host else f"{host or '*'}:{port}"
        super().__init__(cause.errno, f"cannot listen on {where}: {cause.strerror or cause}")
        self.where = where

    def __str__(self) -> str:
        return str(self.strerror)


class ProbeServer:
    """Serves ``/metrics``, ``/healthz`` and ``/readyz`` from a daemon thread.

    ``host`` "" listens on every address (both families when the kernel has IPv6).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        metrics: Exposition,
        liveness: Callable[[], str | None],
        readiness: Callable[[], str | None],
    ) -> None:
        try:
            self._httpd = _bind(host, port)
        except OSError as exc:
            raise CannotListen(host, port, exc) from exc
        self._httpd.metrics = metrics
        self._httpd.liveness = liveness
        self._httpd.readiness = readiness
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="metrics", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> ProbeServer:
        self._thread.start()
        log.info("serving /metrics, /healthz and /readyz on port %d", self.port)
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def serve(
    address: str,
    registry: CollectorRegistry,
    *,
    liveness: Callable[[], str | None],
    readiness: Callable[[], str | None],
) -> ProbeServer | None:
    """Serve ``registry`` and the probes on ``address`` (``HOST:PORT``, ``:PORT``); "" serves nothing.

    Raises ``CannotListen`` when the port cannot be opened, ``ValueError`` for a malformed address.
    """
    if not address:
        return None
    host, port = split_address(address)
    server = ProbeServer(
        host, port, metrics=registry_exposition(registry), liveness=liveness, readiness=readiness
    )
    return server.start()
