"""ExaBGP's API helper process: relays its stdin/stdout to the speaker over a unix socket.

ExaBGP talks to "processes" it starts itself, through their stdin and stdout.
The speaker is not ExaBGP's child (it is the other way round), so ExaBGP runs
this small relay, which connects to the speaker's unix socket and copies bytes
both ways. When either side closes, the relay exits: ExaBGP dying closes stdin,
the speaker going away closes the socket; the speaker then sees the connection
drop and replays its state when ExaBGP (or the relay) comes back.

It is started by path (``python relay.py SOCKET``), not as a module, so that it
imports nothing from ironlb: it starts fast and cannot fail on a package import.
Hand-written because it is a byte pump of a few lines; no library is needed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time

CONNECT_TIMEOUT = 10.0
CHUNK = 1 << 16


def _connect(path: str) -> socket.socket:
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _pump_stdin_to_socket(sock: socket.socket, done: threading.Event) -> None:
    fd = sys.stdin.fileno()
    try:
        while True:
            data = os.read(fd, CHUNK)
            if not data:
                break
            sock.sendall(data)
    except OSError:
        pass
    finally:
        done.set()


def _pump_socket_to_stdout(sock: socket.socket, done: threading.Event) -> None:
    fd = sys.stdout.fileno()
    try:
        while True:
            data = sock.recv(CHUNK)
            if not data:
                break
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
    except OSError:
        pass
    finally:
        done.set()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: relay.py UNIX_SOCKET\n")
        return 2
    try:
        sock = _connect(argv[1])
    except OSError as exc:
        sys.stderr.write(f"relay: cannot connect to {argv[1]}: {exc}\n")
        return 1
    done = threading.Event()
    for target in (_pump_stdin_to_socket, _pump_socket_to_stdout):
        threading.Thread(target=target, args=(sock, done), daemon=True).start()
    done.wait()
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
