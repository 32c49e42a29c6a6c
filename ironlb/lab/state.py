"""The state directory of a running lab: what ``up`` created, written before it is created.

Why: ``down`` must remove exactly what ``up`` created, also when ``up`` was
interrupted or the runner was killed. Every namespace is recorded *before* it is
created and every process right after it started, in ``state.json`` (written
atomically), so that a later ``down`` -- or the next ``up``, which recovers --
finds everything from the file alone.

Layout: ``<root>/<instance>/state.json``, ``<root>/<instance>/nodes/<node>/``
(router configs, sockets, logs). Default root ``/run/ironlb-lab``, or
``$IRONLB_LAB_STATE``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ironlb.lab.procs import ProcessRef

__all__ = ["DEFAULT_ROOT", "LabState", "ProcessRecord", "StateDir", "state_root"]

DEFAULT_ROOT = Path("/run/ironlb-lab")


def state_root(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    env = os.environ.get("IRONLB_LAB_STATE")
    return Path(env) if env else DEFAULT_ROOT


class ProcessRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: str
    name: str
    pid: int
    start: int
    argv: list[str]
    role: str = "router"  # router | spawned

    @property
    def ref(self) -> ProcessRef:
        return ProcessRef(pid=self.pid, start=self.start)


class LinkRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: str  # "namespace:interface"
    b: str


class LabState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance: str
    topology: str  # path of the .clab.yml
    prefix: str
    owner_pid: int | None = None
    owner_start: int | None = None
    owner_kind: str = "api"  # api (a Python process owns the daemons) | supervisor
    namespaces: dict[str, str] = {}  # node -> namespace, recorded before creation
    links: list[LinkRecord] = []
    processes: list[ProcessRecord] = []
    ready: bool = False

    @property
    def owner(self) -> ProcessRef | None:
        if self.owner_pid is None or self.owner_start is None:
            return None
        return ProcessRef(pid=self.owner_pid, start=self.owner_start)


class StateDir:
    """One lab instance's directory."""

    def __init__(self, root: Path, instance: str) -> None:
        self.path = root / instance
        self.file = self.path / "state.json"

    def exists(self) -> bool:
        return self.file.exists()

    def node_dir(self, node: str) -> Path:
        return self.path / "nodes" / node

    def load(self) -> LabState:
        return LabState.model_validate_json(self.file.read_text())

    def save(self, state: LabState) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(state.model_dump_json(indent=2))
        os.replace(tmp, self.file)

    def create(self) -> None:
        # routers drop privileges (FRR runs as 'frr'): every directory on the way must be traversable
        self.path.mkdir(parents=True, exist_ok=True)
        for directory in (self.path.parent, self.path):
            with contextlib.suppress(OSError):
                directory.chmod(0o755)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
