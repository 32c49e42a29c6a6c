"""What ``controller.py`` measures from outside a controller: its Services, its process, the audit log.

- ``StatusWatch``: the benchmark's own list + watch of one namespace's Services (raw JSON
  lines, no client models), noting when each Service first showed an ingress IP.
- ``cpu_seconds`` and ``reap``: CPU from ``/proc`` while a process runs; CPU and peak RSS
  (``ru_maxrss``) from ``wait4`` when it ends.
- ``audit_figures``: from the API server's audit log, per process (each has its own
  ServiceAccount): writes to Services per Service allocated, and for each allocation the
  time from its status write to its Event being created (or no Event at all: lost).
- ``warm_split``: where one warm create -> status sample's time went (server, controller,
  watch), from the same audit log and the benchmark's own clock.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from ironlb.kube.informer import iter_lines


def _ips(obj: dict[str, Any]) -> tuple[str, ...]:
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return tuple(sorted(str(e.get("ip")) for e in ingress if e.get("ip")))


class StatusWatch:
    """When each Service of ``namespace`` first showed an ingress IP (monotonic clock)."""

    def __init__(self, api: Any, namespace: str) -> None:
        self._core = client.CoreV1Api(api)
        self._ns = namespace
        self.cond = threading.Condition()
        self.first_ip: dict[str, float] = {}
        self.ips: dict[str, tuple[str, ...]] = {}
        self._stop = threading.Event()
        self._resp: Any = None
        self._rv = ""
        self._thread = threading.Thread(target=self._run, name="status-watch", daemon=True)

    def start(self) -> StatusWatch:
        listed = json.loads(self._core.list_namespaced_service(self._ns, _preload_content=False).data)
        for obj in listed.get("items") or []:
            self._note(obj, time.monotonic())
        self._rv = listed["metadata"]["resourceVersion"]
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        resp = self._resp
        if resp is not None:
            resp.shutdown()
        self._thread.join(5)

    def _note(self, obj: dict[str, Any], now: float) -> None:
        name = obj["metadata"]["name"]
        ips = _ips(obj)
        with self.cond:
            self.ips[name] = ips
            if ips and name not in self.first_ip:
                self.first_ip[name] = now
                self.cond.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._resp = self._core.list_namespaced_service(
                    self._ns,
                    watch=True,
                    resource_version=self._rv,
                    allow_watch_bookmarks=True,
                    timeout_seconds=3600,
                    _preload_content=False,
                    _request_timeout=(10, 3700),
                )
                for line in iter_lines(self._resp):
                    now = time.monotonic()
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        raise RuntimeError(f"benchmark watch: {obj.get('message')}")
                    self._rv = obj.get("metadata", {}).get("resourceVersion") or self._rv
                    if event.get("type") in ("ADDED", "MODIFIED"):
                        self._note(obj, now)
            except Exception:
                if self._stop.is_set():
                    return
                time.sleep(0.1)

    def wait(self, pred: Callable[[dict[str, float]], bool], timeout: float) -> bool:
        with self.cond:
            return bool(self.cond.wait_for(lambda: pred(self.first_ip), timeout))

    def count(self, prefix: str) -> int:
        with self.cond:
            return sum(1 for n in self.first_ip if n.startswith(prefix))


def list_ips(api: Any, namespace: str) -> dict[str, tuple[str, ...]]:
    """Every Service's ingress IPs, from a LIST (authoritative, not the watch)."""
    body = json.loads(client.CoreV1Api(api).list_namespaced_service(namespace, _preload_content=False).data)
    return {o["metadata"]["name"]: _ips(o) for o in body.get("items") or []}


def tcp_connections(pid: int) -> set[tuple[str, str]]:
    """The established TCP connections of a running process, as (local, remote) hex addresses
    from ``/proc/PID/net/tcp{,6}`` (a new one in steady state is a new TLS handshake)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "01" and cols[9] in inodes:  # 01: ESTABLISHED
                found.add((cols[1], cols[2]))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Exit:
    seconds: float  # signal -> exited
    cpu: float
    peak_rss_mib: float
    code: int


def reap(proc: subprocess.Popen[bytes], timeout: float, sent: float) -> Exit:
    """Wait for ``proc`` (SIGKILL after ``timeout``) and return its CPU and peak RSS (``wait4``)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.01)
    ended = time.monotonic()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Exit(ended - sent, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


@dataclass(frozen=True)
class AuditFigures:
    allocations: int  # Services whose status a process of this controller wrote
    service_writes: int  # create/update/patch on services and services/status, any answer
    status_writes: int
    failed_writes: int
    event_writes: int
    events_within_1s: int
    events_lagging: int  # posted, but more than 1 s after the status write
    events_lost: int  # a status written by a process, no Event from that process
    max_event_lag: float
    events_by: dict[str, int]  # name prefix -> Events posted by ``until[prefix]`` (epoch)


WRITE_VERBS = ("create", "update", "patch")


def audit_figures(records: Iterable[Any], users: list[str], until: dict[str, float]) -> AuditFigures:
    """Writes per allocation and Event promptness, from the audit records of ``users``.

    A Service's allocation is its first successful status write (a later one, e.g. by a
    restarted process, changes no IP: no Event is due for it); its Event must come from
    the process that made that write."""
    status_done: dict[str, tuple[float, str]] = {}  # service -> (first status write, by whom)
    event_done: dict[tuple[str, str], float] = {}  # (user, service) -> first Event created
    writes = status = failed = events = 0
    for r in records:
        if r.user not in users:
            continue
        if r.resource == "services" and r.verb in WRITE_VERBS:
            writes += 1
            if r.code >= 300:
                failed += 1
            if r.subresource == "status":
                status += 1
                if r.code < 300 and r.name and r.done < status_done.get(r.name, (float("inf"), ""))[0]:
                    status_done[r.name] = (r.done, r.user)  # the write that allocated
        elif r.resource == "events" and r.verb in WRITE_VERBS:
            events += 1
            if r.verb == "create" and r.code < 300 and r.name:
                event_done.setdefault((r.user, r.name.rsplit(".", 1)[0]), r.done)
    within = lagging = lost = 0
    max_lag = 0.0
    for name, (done, user) in status_done.items():
        posted = event_done.get((user, name))
        if posted is None:
            lost += 1
            continue
        lag = posted - done
        max_lag = max(max_lag, lag)
        if lag <= 1.0:
            within += 1
        else:
            lagging += 1
    by = {
        prefix: sum(1 for (_, name), t in event_done.items() if name.startswith(prefix) and t <= stamp)
        for prefix, stamp in until.items()
    }
    return AuditFigures(
        allocations=len(status_done),
        service_writes=writes,
        status_writes=status,
        failed_writes=failed,
        event_writes=events,
        events_within_1s=within,
        events_lagging=lagging,
        events_lost=lost,
        max_event_lag=max_lag,
        events_by=by,
    )


# -- where a warm sample's time goes -------------------------------------------------------------

SPLIT_PARTS = (
    "benchmark -> create received",
    "create (server)",
    "create done -> status write received (controller)",
    "status write (server)",
    "status write done -> seen by the watch",
)
"""The parts of one warm sample, in order; they add up to create -> status."""


def warm_split(
    records: Iterable[Any], samples: dict[str, tuple[float, float]], creator: str, users: list[str]
) -> dict[str, list[float]]:
    """Each part of ``SPLIT_PARTS`` per warm sample, in seconds, from the audit log.

    ``samples``: name -> (epoch before the create call, epoch the benchmark's watch saw the
    status); ``creator``: the benchmark's audit user; ``users``: the controller's. The status
    write is the controller's first successful write to the Service's ``status`` (MetalLB may
    write the Service itself first: that is in its share). Samples with a record missing are
    left out (none expected)."""
    created: dict[str, Any] = {}
    status: dict[str, Any] = {}
    for r in records:
        if r.resource != "services" or r.name not in samples or r.code >= 300:
            continue
        if r.user == creator and r.verb == "create" and not r.subresource:
            created.setdefault(r.name, r)
        elif r.user in users and r.subresource == "status" and r.verb in WRITE_VERBS and r.name not in status:
            status[r.name] = r  # records come in the order they completed: the first is the earliest
    parts: dict[str, list[float]] = {p: [] for p in SPLIT_PARTS}
    for name, (start, seen) in samples.items():
        c, s = created.get(name), status.get(name)
        if c is None or s is None:
            continue
        points = (start, c.at, c.done, s.at, s.done, seen)
        for part, a, b in zip(SPLIT_PARTS, points, points[1:], strict=False):
            parts[part].append(b - a)
    return parts
