"""Containerlab topology files, read at the edge and turned into plain lab values.

Why: one file must serve both containerlab (where Docker runs) and the namespace
runner (where it does not). The pydantic models below accept exactly the part of
containerlab's schema (``schemas/clab.schema.json``, "Topology definition" in the
containerlab manual) that ironlb's topologies use -- ``name``,
``topology.nodes.*.kind/image/binds/exec/labels``, ``topology.links[].endpoints``
and ``kind: bridge`` -- with the same constraints containerlab applies (unknown
keys refused, ``exec``/``binds`` non-empty lists of strings, endpoints
``node:interface``, interface names that fit Linux's 15 characters, endpoints
that name existing nodes and are used once). A file containerlab would reject is
refused here first; a file this runner cannot honour (``defaults``, ``kinds``,
kinds other than ``linux``/``bridge``) is refused with a message saying so.

Inside the program the topology is a tree of frozen dataclasses with no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "CONTAINERLAB_KINDS",
    "REPO_CONTAINERLAB",
    "Bind",
    "Endpoint",
    "Link",
    "Node",
    "Topology",
    "TopologyError",
    "load_topology",
    "parse_topology",
]

# Node kinds containerlab knows (clab.schema.json, ``node-config.kind`` enum, abridged to the
# long-standing ones). The namespace runner itself runs only ``linux`` and ``bridge``.
CONTAINERLAB_KINDS = frozenset(
    {
        "srl", "nokia_srlinux", "ceos", "arista_ceos", "crpd", "juniper_crpd", "sonic-vs",
        "vr-sros", "vr-nokia_sros", "vr-vmx", "vr-juniper_vmx", "vr-xrv9k", "vr-cisco_xrv9k",
        "vr-nxos", "vr-cisco_nxos", "vr-veos", "vr-arista_veos", "vr-csr", "vr-cisco_csr",
        "linux", "bridge", "ovs-bridge", "host", "ext-container", "cisco_xrd",
    }
)  # fmt: skip
RUNNABLE_KINDS = frozenset({"linux", "bridge"})
# the topologies shipped with ironlb: containerlab/<name>/<name>.clab.yml in the source tree
REPO_CONTAINERLAB = Path(__file__).resolve().parents[2] / "containerlab"
IFNAMSIZ = 15  # Linux interface names: 15 characters plus the terminating NUL
_IFNAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_LAB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class TopologyError(ValueError):
    """The topology file is not valid containerlab, or not runnable on namespaces."""


# ---------------------------------------------------------------------------- edge models


class _NodeModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    image: str | None = None
    binds: list[str] | None = Field(default=None, min_length=1)
    exec: list[str] | None = Field(default=None, min_length=1)
    labels: dict[str, str | int | float] | None = None
    group: str | None = None
    cmd: str | None = None
    env: dict[str, str | int | float] | None = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in CONTAINERLAB_KINDS:
            raise ValueError(f"unknown containerlab kind {value!r}")
        return value

    @field_validator("binds")
    @classmethod
    def _unique_binds(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("binds must be unique")
        return value


class _LinkModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoints: list[str] = Field(min_length=2, max_length=2)

    @field_validator("endpoints")
    @classmethod
    def _endpoint_syntax(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"\S+:\S+", item):
                raise ValueError(f"endpoint {item!r} is not 'node:interface'")
        if len(set(value)) != len(value):
            raise ValueError("endpoints must be unique")
        return value


class _TopologyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    nodes: dict[str, _NodeModel | None]
    links: list[_LinkModel] | None = Field(default=None, min_length=1)


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    prefix: str | None = None
    mgmt: dict[str, Any] | None = None  # containerlab's management network: no meaning on namespaces
    topology: _TopologyModel


# ---------------------------------------------------------------------------- lab values


@dataclass(frozen=True)
class Bind:
    """``source:target[:mode]``; source resolved against the topology file's directory."""

    source: Path
    target: str


@dataclass(frozen=True)
class Endpoint:
    node: str
    interface: str

    def __str__(self) -> str:
        return f"{self.node}:{self.interface}"


@dataclass(frozen=True)
class Link:
    a: Endpoint
    b: Endpoint


@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    image: str | None
    binds: tuple[Bind, ...]
    exec: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]

    @property
    def is_bridge(self) -> bool:
        return self.kind == "bridge"

    def bound(self, target: str) -> Path | None:
        """The local file bound to ``target`` inside the container, if any."""
        for bind in self.binds:
            if bind.target == target:
                return bind.source
        return None

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


@dataclass(frozen=True)
class Topology:
    name: str
    path: Path
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def interfaces(self, node: str) -> tuple[Endpoint, ...]:
        """The endpoints of ``node`` in link order (its interfaces, or its bridge ports)."""
        found: list[Endpoint] = []
        for link in self.links:
            found.extend(e for e in (link.a, link.b) if e.node == node)
        return tuple(found)


# ---------------------------------------------------------------------------- parsing


def _format_pydantic(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        lines.append(f"{loc}: {item['msg']}")
    return "; ".join(lines)


def _parse_bind(text: str, base: Path) -> Bind:
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/"):
        raise TopologyError(f"bind {text!r} is not 'source:/target[:mode]'")
    source = Path(parts[0])
    return Bind(source=source if source.is_absolute() else base / source, target=parts[1])


def _parse_endpoint(text: str) -> Endpoint:
    node, _, interface = text.partition(":")
    return Endpoint(node=node, interface=interface)


def parse_topology(data: Any, path: Path) -> Topology:
    """Validate a loaded YAML document; ``path`` locates relative bind sources."""
    if not isinstance(data, Mapping):
        raise TopologyError(f"{path}: a topology file is a mapping")
    if "defaults" in data.get("topology", {}) or "kinds" in data.get("topology", {}):
        raise TopologyError(f"{path}: topology.defaults/kinds are not supported by the namespace runner")
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        raise TopologyError(f"{path}: {_format_pydantic(exc)}") from exc
    if not _LAB_NAME.fullmatch(model.name):
        raise TopologyError(f"{path}: name {model.name!r} must be letters, digits, '-' or '_'")
    nodes = tuple(_parse_node(name, raw, path) for name, raw in model.topology.nodes.items())
    links = _parse_links(model.topology.links or (), {node.name for node in nodes}, path)
    return Topology(name=model.name, path=path, nodes=nodes, links=links)


def _parse_node(name: str, raw: _NodeModel | None, path: Path) -> Node:
    """One entry of ``topology.nodes``, checked against what the namespace runner runs."""
    if raw is None:
        raise TopologyError(f"{path}: topology.nodes.{name}: a node needs at least a kind")
    if not _NODE_NAME.fullmatch(name):
        raise TopologyError(f"{path}: topology.nodes.{name}: invalid node name")
    if raw.kind not in RUNNABLE_KINDS:
        raise TopologyError(
            f"{path}: topology.nodes.{name}: kind {raw.kind!r} is valid containerlab but the "
            f"namespace runner only runs {sorted(RUNNABLE_KINDS)}"
        )
    if raw.kind == "bridge" and len(name) > IFNAMSIZ:
        raise TopologyError(f"{path}: topology.nodes.{name}: a bridge name is an interface name (<= 15)")
    return Node(
        name=name,
        kind=raw.kind,
        image=raw.image,
        binds=tuple(_parse_bind(b, path.parent) for b in raw.binds or ()),
        exec=tuple(raw.exec or ()),
        labels=tuple(sorted((k, str(v)) for k, v in (raw.labels or {}).items())),
    )


def _parse_links(raw_links: Iterable[_LinkModel], names: set[str], path: Path) -> tuple[Link, ...]:
    """``topology.links``: each end on a defined node, each endpoint used once, never a loop."""
    links = []
    seen: set[Endpoint] = set()
    for index, raw_link in enumerate(raw_links):
        a, b = (_parse_endpoint(e) for e in raw_link.endpoints)
        for endpoint in (a, b):
            where = f"{path}: topology.links.{index}.endpoints: {endpoint}"
            if endpoint.node not in names:
                raise TopologyError(f"{where}: node {endpoint.node!r} is not defined")
            if not _IFNAME.fullmatch(endpoint.interface):
                raise TopologyError(f"{where}: interface name must be 1-15 characters, no spaces or '/'")
            if endpoint in seen:
                raise TopologyError(f"{where}: endpoint used by more than one link")
            seen.add(endpoint)
        if a.node == b.node:
            raise TopologyError(f"{path}: topology.links.{index}: both ends on node {a.node!r}")
        links.append(Link(a=a, b=b))
    return tuple(links)


def load_topology(path: Path) -> Topology:
    """Read and validate ``path`` (a ``*.clab.yml`` file)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TopologyError(f"{path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TopologyError(f"{path}: not YAML: {exc}") from exc
    return parse_topology(data, path.resolve())


def check_binds_exist(topology: Topology) -> list[str]:
    """Bind sources that do not exist (containerlab refuses to deploy those too)."""
    return [
        f"topology.nodes.{node.name}.binds: {bind.source} does not exist"
        for node in topology.nodes
        for bind in node.binds
        if not bind.source.exists()
    ]
