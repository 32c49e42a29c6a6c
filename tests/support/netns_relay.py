"""A server on the root namespace's loopback, reachable on the loopback of test namespaces.

Why: the session's kube-apiserver listens on ``127.0.0.1`` of the root network namespace (its
certificate names only that address), and a namespace's loopback is its own. A speaker in a
node namespace, or ``ironlb status`` in the client's, needs that API server. The relay listens on
``127.0.0.1:PORT`` inside each namespace (the server's own port, so a kubeconfig works unchanged
everywhere) and forwards every connection to ``127.0.0.1:PORT`` in the root namespace. Only
loopback is used: no address, route or interface is added anywhere, nothing leaves the machine.

Hand-written: ``socat`` and friends live in one namespace. A listening socket belongs to the
namespace its creator was in, and ``setns(2)`` moves only the calling thread: a short-lived thread
enters the namespace, makes the socket and ends; everything else (accepting, connecting to the
server, copying) runs in one asyncio loop in a thread of the root namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import socket
import threading
from collections.abc import Iterable
from typing import Any

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def listen_in(netns: str, port: int, host: str = "127.0.0.1") -> socket.socket:
    """A listening TCP socket on ``host:port`` inside the named namespace (``ip netns``)."""
    made: dict[str, Any] = {}

    def enter_and_listen() -> None:
        try:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {netns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(64)
            sock.setblocking(False)
            made["sock"] = sock
        except BaseException as exc:  # handed to the caller's thread
            made["error"] = exc

    t = threading.Thread(target=enter_and_listen, name=f"netns-{netns}")
    t.start()
    t.join()
    if "error" in made:
        raise made["error"]
    sock: socket.socket = made["sock"]
    return sock


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class LoopbackRelay:
    """``127.0.0.1:port`` of each namespace -> ``127.0.0.1:port`` of the root namespace.

    Use as a context manager; ``close`` ends every connection and frees the sockets.
    """

    def __init__(self, port: int, namespaces: Iterable[str]) -> None:
        self.port = port
        self.namespaces = list(namespaces)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="loopback-relay", daemon=True)
        self._servers: list[asyncio.base_events.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def __enter__(self) -> LoopbackRelay:
        self._thread.start()
        try:
            for ns in self.namespaces:
                sock = listen_in(ns, self.port)
                serve = asyncio.start_server(self._handle, sock=sock)
                self._servers.append(asyncio.run_coroutine_threadsafe(serve, self._loop).result(10))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            client_w.close()
            self._tasks.discard(task)  # type: ignore[arg-type]
            return
        try:
            await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
        except asyncio.CancelledError:  # close(): end quietly (asyncio logs a cancelled handler)
            for w in (client_w, server_w):
                w.close()
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    def close(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if not self._loop.is_running():
            self._loop.close()
