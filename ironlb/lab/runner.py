"""The namespace runner: brings a containerlab topology up on network namespaces and down again.

Why: containerlab needs Docker; ironlb's tests and users without Docker still need
the same labs. ``Lab.up`` creates one namespace per node (``ilb-<instance>-<node>``),
a bridge inside its own namespace for each ``kind: bridge`` node, one veth per
link (created directly inside the two namespaces, never in the root namespace),
runs each node's ``exec`` entries inside it, then starts the routers from their
bound configs as children of the calling process. Everything is recorded in the
state directory first (see ``state``), so ``down`` -- from this process, another
one, or after a crash -- removes exactly what was created, and ``up`` on top of
a dead instance cleans the leftovers before it starts.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ironlb.lab import netns, procs
from ironlb.lab.requirements import find_missing, format_missing, required_programs
from ironlb.lab.routers import FRR_DAEMONS, RouterPlan, plan_router
from ironlb.lab.sessions import parse_bird_protocols, parse_frr_summary
from ironlb.lab.state import LabState, LinkRecord, ProcessRecord, StateDir, state_root
from ironlb.lab.topology import Topology, check_binds_exist

__all__ = ["Lab", "LabError", "LabStatus", "namespace_name", "teardown", "teardown_dead"]

log = logging.getLogger(__name__)

Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


class LabError(RuntimeError):
    """The lab cannot be brought up or down; the message says why and what to do."""


def namespace_name(instance: str, node: str) -> str:
    return f"ilb-{instance}-{node}"


# ---------------------------------------------------------------------------- teardown from state


def _state_processes(state: LabState) -> list[procs.ProcessRef]:
    spawned = [p.ref for p in state.processes if p.role != "router"]
    routers = [p.ref for p in state.processes if p.role == "router"]
    return spawned + routers


def _namespace_processes(namespaces: Iterable[str]) -> list[procs.ProcessRef]:
    found: list[procs.ProcessRef] = []
    for namespace in namespaces:
        found.extend(procs.ref(pid) for pid in netns.pids(namespace))
    return found


def teardown(state_dir: StateDir, *, grace: float = 3.0, reaper: procs.Reaper = procs.reap) -> None:
    """Remove everything ``state_dir`` records; idempotent, safe when parts are already gone."""
    if not state_dir.exists():
        state_dir.remove()
        return
    state = state_dir.load()
    me = procs.ref(os.getpid())
    owner = state.owner
    if owner is not None and owner != me and state.owner_kind == "supervisor" and procs.is_running(owner):
        procs.stop([owner], grace=grace + 7.0, reaper=reaper)  # the supervisor tears down itself first
        if not state_dir.exists():
            return
        state = state_dir.load()
    procs.stop(_state_processes(state), grace=grace, reaper=reaper)
    # anything else still living inside our namespaces (e.g. started with `lab exec ... &`)
    procs.stop(_namespace_processes(state.namespaces.values()), grace=grace, reaper=reaper)
    errors = []
    for namespace in state.namespaces.values():
        try:
            netns.delete(namespace)
        except netns.NetnsError as exc:
            errors.append(str(exc))
    if errors:
        raise LabError("could not delete namespaces:\n" + "\n".join(errors))
    state_dir.remove()


def teardown_dead(root: Path | None = None) -> list[str]:
    """Tear down every lab under ``root`` whose owner process is gone; returns their names.

    Safe while other labs run: an owner is recorded before anything else is created,
    and a lab whose owner lives is never touched.
    """
    base = state_root(root)
    removed = []
    for directory in sorted(base.iterdir()) if base.is_dir() else []:
        if not directory.is_dir():
            continue
        state_dir = StateDir(base, directory.name)
        try:
            state = state_dir.load() if state_dir.exists() else None
        except (OSError, ValueError):
            continue  # being written right now, or not ours
        if state is None or state.owner is None or procs.is_running(state.owner):
            continue
        log.warning("lab %s: owner pid %s is gone; tearing it down", state.instance, state.owner_pid)
        teardown(state_dir)
        removed.append(state.instance)
    return removed


# ---------------------------------------------------------------------------- status


@dataclass(frozen=True)
class LabStatus:
    instance: str
    topology: str
    owner: str
    nodes: dict[str, dict[str, Any]]
    links: list[tuple[str, str]]
    processes: list[dict[str, Any]]
    sessions: dict[str, dict[str, str]]  # router node -> peer -> state

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "topology": self.topology,
            "owner": self.owner,
            "nodes": self.nodes,
            "links": [list(pair) for pair in self.links],
            "processes": self.processes,
            "sessions": self.sessions,
        }


def query_sessions(plan: RouterPlan) -> dict[str, str]:
    command = "show bgp summary json" if plan.flavor == "frr" else "show protocols all"
    try:
        result = subprocess.run(plan.query_argv(command), capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if plan.flavor == "frr":
        return parse_frr_summary(result.stdout)
    return parse_bird_protocols(result.stdout)


def _router_plans(topology: Topology, state_dir: StateDir) -> dict[str, RouterPlan]:
    plans = {}
    for node in topology.nodes:
        daemons_file = node.bound(FRR_DAEMONS)
        try:
            daemons_text = daemons_file.read_text() if daemons_file is not None else None
        except OSError as exc:
            raise LabError(f"node {node.name}: cannot read {daemons_file}: {exc.strerror}") from exc
        try:
            plan = plan_router(node, state_dir.node_dir(node.name), daemons_text)
        except ValueError as exc:
            raise LabError(str(exc)) from exc
        if plan is not None:
            plans[node.name] = plan
    return plans


def read_status(topology: Topology, state_dir: StateDir) -> LabStatus:
    state = state_dir.load()
    owner = state.owner
    owner_text = "none"
    if owner is not None:
        alive = "running" if procs.is_running(owner) else "DEAD"
        owner_text = f"{state.owner_kind} pid {owner.pid} ({alive})"
    nodes = {
        node: {"namespace": namespace, "exists": netns.exists(namespace)}
        for node, namespace in state.namespaces.items()
    }
    processes = [
        {"node": p.node, "name": p.name, "pid": p.pid, "running": procs.is_running(p.ref), "role": p.role}
        for p in state.processes
    ]
    sessions = {name: query_sessions(plan) for name, plan in _router_plans(topology, state_dir).items()}
    return LabStatus(
        instance=state.instance,
        topology=state.topology,
        owner=owner_text,
        nodes=nodes,
        links=[(link.a, link.b) for link in state.links],
        processes=processes,
        sessions=sessions,
    )


# ---------------------------------------------------------------------------- the lab


class Lab:
    """One running instance of a topology, owned by this process.

    The daemons and every process started with :meth:`spawn` are children of this
    process; :meth:`down` stops and reaps them, then deletes the namespaces.
    """

    def __init__(
        self,
        topology: Topology,
        instance: str | None = None,
        state_root_dir: Path | None = None,
        owner_kind: str = "api",
    ) -> None:
        self.topology = topology
        self.instance = instance or topology.name
        self.state_dir = StateDir(state_root(state_root_dir), self.instance)
        self.owner_kind = owner_kind
        self.routers = _router_plans(topology, self.state_dir)
        self._handles: dict[int, subprocess.Popen[bytes]] = {}
        self._state: LabState | None = None
        self._logs: list[IO[bytes]] = []

    # -- names and addresses -------------------------------------------------------

    def namespace(self, node: str) -> str:
        self.topology.node(node)  # KeyError for an unknown node
        return namespace_name(self.instance, node)

    def interfaces(self, node: str) -> tuple[str, ...]:
        return tuple(e.interface for e in self.topology.interfaces(node))

    def addresses(self, node: str) -> dict[str, list[Interface]]:
        """Live global addresses of ``node`` per interface (loopback and link-local left out)."""
        out = netns.ip("-j", "-n", self.namespace(node), "addr", "show")
        found: dict[str, list[Interface]] = {}
        for link in json.loads(out or "[]"):
            for info in link.get("addr_info", []):
                address = ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}")
                if address.is_loopback or address.is_link_local:
                    continue
                found.setdefault(link["ifname"], []).append(address)
        return found

    def node_dir(self, node: str) -> Path:
        return self.state_dir.node_dir(node)

    # -- state ---------------------------------------------------------------------

    @property
    def state(self) -> LabState:
        if self._state is None:
            raise LabError(f"lab {self.instance} is not up")
        return self._state

    def _save(self) -> None:
        self.state_dir.save(self.state)

    def _record(
        self, node: str, name: str, handle: subprocess.Popen[bytes], argv: Sequence[str], role: str
    ) -> None:
        self._handles[handle.pid] = handle
        ref = procs.ref(handle.pid)
        self.state.processes.append(
            ProcessRecord(node=node, name=name, pid=ref.pid, start=ref.start, argv=list(argv), role=role)
        )
        self._save()

    def _reap(self, pid: int) -> None:
        handle = self._handles.get(pid)
        if handle is not None:
            handle.poll()
        else:
            procs.reap(pid)

    # -- up ------------------------------------------------------------------------

    def check(self) -> None:
        """Refuse early, with the fix in the message, when this machine cannot run the lab."""
        problems = check_binds_exist(self.topology)
        missing = find_missing(required_programs(self.topology, self.routers.values()))
        if missing:
            problems.append(format_missing(missing))
        if problems:
            raise LabError("\n".join(problems))
        if os.geteuid() != 0:
            raise LabError("the namespace runner needs root (network namespaces, veth, routing daemons)")

    def _recover(self) -> None:
        if not self.state_dir.exists():
            if self.state_dir.path.exists():
                self.state_dir.remove()
            return
        old = self.state_dir.load()
        owner = old.owner
        if owner is not None and procs.is_running(owner):
            raise LabError(
                f"lab {self.instance} is already up (owner pid {owner.pid}); run `ironlb lab down` first"
            )
        log.warning("lab %s: previous runner is gone; removing its leftovers", self.instance)
        teardown(self.state_dir, reaper=self._reap)

    def up(self) -> Lab:
        self.check()
        self._recover()
        existing = [
            namespace_name(self.instance, n.name)
            for n in self.topology.nodes
            if netns.exists(namespace_name(self.instance, n.name))
        ]
        if existing:
            raise LabError(f"namespaces {existing} exist but no state records them; delete them first")
        me = procs.ref(os.getpid())
        self.state_dir.create()
        self._state = LabState(
            instance=self.instance,
            topology=str(self.topology.path),
            prefix=namespace_name(self.instance, ""),
            owner_pid=me.pid,
            owner_start=me.start,
            owner_kind=self.owner_kind,
        )
        self._save()
        try:
            self._build()
        except BaseException:
            self.down()
            raise
        return self

    def _build(self) -> None:
        state = self.state
        for node in self.topology.nodes:
            namespace = namespace_name(self.instance, node.name)
            state.namespaces[node.name] = namespace
            self._save()  # recorded before it exists
            netns.add(namespace)
            if node.is_bridge:
                netns.bridge(namespace, node.name)
        for link in self.topology.links:
            ns_a, ns_b = state.namespaces[link.a.node], state.namespaces[link.b.node]
            netns.veth(ns_a, link.a.interface, ns_b, link.b.interface)
            for end, namespace in ((link.a, ns_a), (link.b, ns_b)):
                if self.topology.node(end.node).is_bridge:
                    netns.enslave(namespace, end.interface, end.node)
            state.links.append(LinkRecord(a=f"{ns_a}:{link.a.interface}", b=f"{ns_b}:{link.b.interface}"))
        self._save()
        for node in self.topology.nodes:
            for command in node.exec:
                result = netns.run_in(state.namespaces[node.name], shlex.split(command))
                if result.returncode != 0:
                    raise LabError(f"node {node.name}: exec {command!r} failed: {result.stderr.strip()}")
        for plan in self.routers.values():
            self._start_router(plan)
        state.ready = True
        self._save()

    def _start_router(self, plan: RouterPlan) -> None:
        plan.directory.mkdir(parents=True, exist_ok=True)
        for source, name in plan.copies:
            shutil.copyfile(source, plan.directory / name)  # the bound file, unchanged
        if plan.owner is not None:
            for path in (plan.directory, *plan.directory.iterdir()):
                shutil.chown(path, plan.owner, plan.owner)
        namespace = self.state.namespaces[plan.node]
        for spec in plan.daemons:
            log_path = plan.directory / f"{spec.name}.log"
            handle = self._popen(namespace, spec.argv, log_path)
            self._record(plan.node, spec.name, handle, spec.argv, role="router")
            deadline = time.monotonic() + 15.0
            while spec.ready_path is not None and not spec.ready_path.exists():
                if handle.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise LabError(f"router {plan.node}: {spec.name} did not start:\n{tail}")
                time.sleep(0.02)

    def _popen(
        self,
        namespace: str,
        argv: Sequence[str],
        log_path: Path | None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        output: IO[bytes] | int = subprocess.DEVNULL
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            output = log_path.open("ab")
            self._logs.append(output)
        return subprocess.Popen(
            netns.wrap(namespace, argv),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=None if env is None else {**os.environ, **env},
            cwd=cwd,
            start_new_session=True,  # a Ctrl-C meant for the runner must not kill the routers first
        )

    # -- using a running lab -------------------------------------------------------

    def spawn(
        self,
        node: str,
        argv: Sequence[str],
        *,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
        log_file: Path | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside ``node``; the lab records it and stops it on :meth:`down`.

        Output goes to ``log_file`` (default ``<state>/nodes/<node>/<name>.log``).
        """
        label = name or Path(argv[0]).name
        log_path = log_file or self.node_dir(node) / f"{label}.log"
        handle = self._popen(self.namespace(node), argv, log_path, env=env, cwd=cwd)
        self._record(node, label, handle, argv, role="spawned")
        return handle

    def exec(self, node: str, argv: Sequence[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside ``node`` and wait for it."""
        return netns.run_in(self.namespace(node), argv, timeout=timeout)

    def sessions(self, router: str | None = None) -> dict[str, str]:
        """{peer address: BGP state} of ``router`` (default: the only router)."""
        return query_sessions(self._router(router))

    def _router(self, router: str | None) -> RouterPlan:
        if router is not None:
            return self.routers[router]
        if len(self.routers) != 1:
            raise LabError(f"lab has routers {sorted(self.routers)}; name one")
        return next(iter(self.routers.values()))

    def wait_established(
        self, peers: Iterable[str], router: str | None = None, timeout: float = 30.0
    ) -> None:
        wanted = {str(ipaddress.ip_address(p)) for p in peers}
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = {str(ipaddress.ip_address(k)): v for k, v in self.sessions(router).items()}
            if all(states.get(p) == "Established" for p in wanted):
                return
            time.sleep(0.05)
        raise LabError(f"BGP sessions not Established after {timeout}s: {states}")

    def status(self) -> LabStatus:
        return read_status(self.topology, self.state_dir)

    # -- down ----------------------------------------------------------------------

    def down(self) -> None:
        """Stop everything this lab started and delete its namespaces; idempotent."""
        try:
            teardown(self.state_dir, reaper=self._reap)
        finally:
            for handle in self._handles.values():
                if handle.poll() is None:  # not ours to leave behind, even if the state was lost
                    with contextlib.suppress(ProcessLookupError):
                        handle.send_signal(signal.SIGKILL)
                    handle.wait()
            self._handles.clear()
            for stream in self._logs:
                stream.close()
            self._logs.clear()
            self._state = None

    def __enter__(self) -> Lab:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()
