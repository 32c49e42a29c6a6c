"""What ``ironlb lab up|down|status|exec|services`` do (the arguments are ``ironlb.cli.lab``'s).

Why a module apart: it imports the lab machinery, which ``ironlb --help`` and the
other commands should not pay for.

Why a detached supervisor: ``up`` must return while the lab keeps running, and
the routing daemons need a living parent that reaps them. ``up`` starts
``python -m ironlb.lab.supervisor`` in its own session, waits for its one-line
``READY``/``ERROR`` report and returns; ``down`` signals it (it tears the lab
down) and then removes whatever the state directory still records.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ironlb.lab import netns
from ironlb.lab.locate import not_found_message, resolve_topology
from ironlb.lab.runner import Lab, LabError, read_status, teardown
from ironlb.lab.state import StateDir, state_root
from ironlb.lab.topology import Topology, TopologyError, load_topology
from ironlb.texttable import columns

EXIT_OK = 0
EXIT_FAILED = 1

__all__ = ["HANDLERS", "run", "wants_ironlb"]


def _instance(args: argparse.Namespace) -> tuple[str, Topology | None]:
    """(instance name, topology) for down/status/exec: TOPOLOGY may also be an instance name."""
    path = resolve_topology(args.topology)
    topology = load_topology(path) if path is not None else None
    instance = args.name or (topology.name if topology is not None else args.topology)
    state_dir = StateDir(state_root(args.state_dir), instance)
    if topology is None and state_dir.exists():
        topology = load_topology(Path(state_dir.load().topology))
    return instance, topology


def _running_labs(root: Path) -> str:
    names = [d.name for d in root.iterdir()] if root.is_dir() else []
    running = sorted(n for n in names if StateDir(root, n).exists())
    return f"running labs: {', '.join(running) or 'none'}"


def _unknown(arg: str, root: Path) -> str:
    """Neither a topology nor a running lab: say what exists."""
    return f"{not_found_message(arg)}; {_running_labs(root)}"


def wants_ironlb(topology: Topology, *, with_ironlb: bool, no_ironlb: bool) -> bool:
    """Run ironlb on the lab? By default when the topology ships its manifests (``ironlb/``).

    ``--no-ironlb`` gives routers and hosts only; ``--with-ironlb`` (the default
    since issue 7) still insists, so a topology without manifests fails loudly.
    """
    from ironlb.lab.system import ships_ironlb

    if no_ironlb:
        return False
    return with_ironlb or ships_ironlb(topology)


def _supervisor_log(root: Path, instance: str) -> Path:
    return root / f"{instance}.supervisor.log"


def cmd_up(args: argparse.Namespace) -> int:
    path = resolve_topology(args.topology)
    if path is None:
        print(f"ironlb lab up: {not_found_message(args.topology)}", file=sys.stderr)
        return EXIT_FAILED
    topology = load_topology(path)
    root = state_root(args.state_dir)
    lab = Lab(topology, instance=args.name, state_root_dir=root)
    lab.check()
    with_ironlb = wants_ironlb(topology, with_ironlb=args.with_ironlb, no_ironlb=args.no_ironlb)
    extra = ["--with-ironlb"] if with_ironlb else []
    if args.foreground:
        from ironlb.lab import supervisor

        return supervisor.main([str(path), "--instance", lab.instance, "--state-root", str(root), *extra])
    root.mkdir(parents=True, exist_ok=True)
    log_path = _supervisor_log(root, lab.instance)
    with log_path.open("ab") as log_file:
        child = subprocess.Popen(
            [sys.executable, "-m", "ironlb.lab.supervisor", str(path.resolve()),
             "--instance", lab.instance, "--state-root", str(root), *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log_file,
            start_new_session=True,
        )  # fmt: skip
    assert child.stdout is not None
    line = child.stdout.readline().decode(errors="replace").strip()
    child.stdout.close()
    if line == "READY":
        print(f"lab {lab.instance} is up (supervisor pid {child.pid}, state {lab.state_dir.path})")
        print(f"  ironlb lab status {lab.instance}  |  ironlb lab exec {lab.instance} NODE -- CMD")
        if with_ironlb:
            cluster = lab.state_dir.path / "cluster"
            print(f"  ironlb runs: cluster manifests in {cluster} (add or remove Service files there)")
            logs = lab.state_dir.path / "nodes" / "NODE" / "ironlb-*.log"
            print(f"  ironlb lab services {lab.instance}  |  logs: {logs}")
        else:
            print("  routers and hosts only (no ironlb)")
        return EXIT_OK
    child.wait()
    message = line.removeprefix("ERROR ").replace("\\n", "\n") or f"supervisor exited; see {log_path}"
    print(f"ironlb lab up: {message}", file=sys.stderr)
    return EXIT_FAILED


def cmd_down(args: argparse.Namespace) -> int:
    instance, _ = _instance(args)
    root = state_root(args.state_dir)
    state_dir = StateDir(root, instance)
    if not state_dir.exists():
        print(f"lab {instance} is not up (no state in {state_dir.path})")
        return EXIT_OK
    teardown(state_dir)
    _supervisor_log(root, instance).unlink(missing_ok=True)
    print(f"lab {instance} is down")
    return EXIT_OK


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    for line in columns(rows):
        print(f"  {line}")


def _print_status(data: dict[str, Any]) -> None:
    print(f"lab {data['instance']}  topology {data['topology']}  owner {data['owner']}")
    print("nodes:")
    nodes = [
        (node, info["namespace"], "ok" if info["exists"] else "MISSING")
        for node, info in data["nodes"].items()
    ]
    _print_table(nodes)
    print("links:")
    for a, b in data["links"]:
        print(f"  {a} <-> {b}")
    print("processes:")
    processes = [
        (p["node"], p["name"], f"pid {p['pid']}", "running" if p["running"] else "EXITED", f"({p['role']})")
        for p in data["processes"]
    ]
    _print_table(processes)
    for router, sessions in data["sessions"].items():
        print(f"bgp sessions of {router}:")
        if not sessions:
            print("  (router not answering)")
        _print_table(sorted(sessions.items()))


def cmd_status(args: argparse.Namespace) -> int:
    instance, topology = _instance(args)
    state_dir = StateDir(state_root(args.state_dir), instance)
    if topology is None:
        print(f"ironlb lab status: {_unknown(args.topology, state_root(args.state_dir))}", file=sys.stderr)
        return EXIT_FAILED
    if not state_dir.exists():
        print(f"lab {instance} is not up", file=sys.stderr)
        return EXIT_FAILED
    data = read_status(topology, state_dir).as_dict()
    if args.output == "json":
        print(json.dumps(data, indent=2))
    else:
        _print_status(data)
    return EXIT_OK


def cmd_exec(args: argparse.Namespace) -> int:
    instance, topology = _instance(args)
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if topology is None:
        print(f"ironlb lab exec: {_unknown(args.topology, state_root(args.state_dir))}", file=sys.stderr)
        return EXIT_FAILED
    if not command:
        print("ironlb lab exec: needs a running lab, a node and a command after --", file=sys.stderr)
        return EXIT_FAILED
    state = StateDir(state_root(args.state_dir), instance)
    namespace = state.load().namespaces.get(args.node) if state.exists() else None
    if namespace is None:
        print(f"ironlb lab exec: lab {instance} has no running node {args.node!r}", file=sys.stderr)
        return EXIT_FAILED
    sys.stdout.flush()
    return subprocess.call(netns.wrap(namespace, command))


def cmd_services(args: argparse.Namespace) -> int:
    from ironlb.cluster.manifests import ManifestSource
    from ironlb.cluster.seam import ClusterSourceUnavailable
    from ironlb.lab.system import services_table

    instance, _ = _instance(args)
    root = state_root(args.state_dir)
    state_dir = StateDir(root, instance)
    cluster = state_dir.path / "cluster"
    if not state_dir.exists():
        print(f"ironlb lab services: lab {instance} is not running; {_running_labs(root)}", file=sys.stderr)
        return EXIT_FAILED
    if not cluster.is_dir():
        print(
            f"ironlb lab services: lab {instance} runs without ironlb (started with --no-ironlb)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    try:
        print(services_table(ManifestSource([cluster])))
    except ClusterSourceUnavailable as exc:
        print(f"ironlb lab services: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


HANDLERS = {
    "up": cmd_up, "down": cmd_down, "status": cmd_status, "exec": cmd_exec, "services": cmd_services,
}  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run ``ironlb lab ACTION``; lab errors become one line on stderr and exit 1."""
    try:
        result: int = HANDLERS[args.lab_command](args)
    except (TopologyError, LabError, netns.NetnsError) as exc:
        print(f"ironlb lab {args.lab_command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # `ironlb lab status X | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return result
