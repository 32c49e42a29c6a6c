"""ExaBGP's API helper process: relays its stdin/stdout to the speaker over a unix socket.

ExaBGP talks to "processes" it starts itself, through their stdin and stdout.
The speaker is not ExaBGP's child (it is the other way round), so ExaBGP runs
this small relay, which connects to the speaker's unix socket and copies bytes
both ways. When either side closes, the relay exits: ExaBGP dying closes stdin,
the speaker going away closes the socket; the speaker then sees the connection
drop and replays its state when ExaBGP (or the relay) comes back.

It never serves an ExaBGP whose speaker is gone. ExaBGP respawns its helper, so
each relay checks, before every connection attempt, that the speaker named in
``IRONLB_SPEAKER`` (``PID START``, set by the speaker) still runs, and exits at
once when it does not: ExaBGP then reaches its respawn limit within a second and
exits, instead of keeping the sessions up with nobody in control (normally ExaBGP
already died with the speaker: ``speaker/lifeline.py``). And the relay dies with
its ExaBGP (parent-death signal), rather than retrying a connection for seconds.

It is started by path (``python relay.py SOCKET``), not as a module, so that it
imports nothing from ironlb: it starts fast and cannot fail on a package import.
Hand-written because it is a byte pump of a few lines; no library is needed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import threading
import time

CONNECT_TIMEOUT = 10.0
CHUNK = 1 << 16
SPEAKER_ENV = "IRONLB_SPEAKER"
PR_SET_PDEATHSIG = 1


class SpeakerGone(Exception):
    pass


def _start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot); None when gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def speaker_alive(identity: str | None) -> bool:
    """Whether the speaker named by ``PID START`` runs (True when not named: nothing to check)."""
    if not identity:
        return True
    pid, _, start = identity.partition(" ")
    if not (pid + start).isascii() or not pid.isdigit() or not start.isdigit():
        return False
    return _start_time(int(pid)) == int(start)


def _die_with_parent() -> bool:
    """SIGKILL this relay when ExaBGP dies; False if ExaBGP already died."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    return os.getppid() == parent


def _connect(path: str, speaker: str | None) -> socket.socket:
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while True:
        if not speaker_alive(speaker):
            raise SpeakerGone(f"the speaker ({speaker}) is gone")
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
    if not _die_with_parent():
        return 1
    try:
        sock = _connect(argv[1], os.environ.get(SPEAKER_ENV))
    except SpeakerGone as exc:
        sys.stderr.write(f"relay: {exc}; exiting so that ExaBGP stops\n")
        return 1
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
