"""Find a topology file from what a user types: a path, a directory, a name.

Why: the README, issue texts and users write the same topology several ways --
``containerlab/bgp-ecmp/bgp-ecmp.clab.yml``, ``containerlab/bgp-ecmp/``,
``bgp-ecmp``, and the flat ``containerlab/bgp-ecmp.clab.yml`` that containerlab's
own examples use (ironlb keeps each topology in its own directory, next to the
router configs it binds). ``ironlb lab`` and the pytest plugin accept all of them
through :func:`resolve_topology`; when nothing matches, :func:`available_topologies`
lets the error name what exists.
"""

from __future__ import annotations

from pathlib import Path

from ironlb.lab.topology import REPO_CONTAINERLAB

__all__ = ["TOPOLOGY_SUFFIXES", "available_topologies", "not_found_message", "resolve_topology"]

TOPOLOGY_SUFFIXES = (".clab.yml", ".clab.yaml")


def _topology_stem(name: str) -> str | None:
    """``"bgp-ecmp.clab.yml"`` -> ``"bgp-ecmp"``; None for other names."""
    for suffix in TOPOLOGY_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def _single_topology_in(directory: Path) -> Path | None:
    """The one ``*.clab.yml`` in ``directory`` (None when there is none or more than one)."""
    if not directory.is_dir():
        return None
    found = sorted(p for suffix in TOPOLOGY_SUFFIXES for p in directory.glob(f"*{suffix}") if p.is_file())
    return found[0] if len(found) == 1 else None


def resolve_topology(arg: str, *, cwd: Path | None = None, repo: Path = REPO_CONTAINERLAB) -> Path | None:
    """The topology file ``arg`` means, or None.

    In order: an existing file; a directory holding exactly one ``*.clab.yml``;
    ``DIR/X.clab.yml`` that does not exist but ``DIR/X/X.clab.yml`` does (and,
    for ``containerlab/X.clab.yml`` or a bare ``X.clab.yml``, the shipped
    ``X``); a name ``X`` of ``containerlab/X/`` under ``cwd`` or of a shipped
    topology.
    """
    base = Path.cwd() if cwd is None else cwd
    path = Path(arg).expanduser()
    if not path.is_absolute():
        path = base / path
    if path.is_file():
        return path
    found = _single_topology_in(path)
    if found is not None:
        return found
    stem = _topology_stem(path.name)
    if stem is not None:
        nested = path.parent / stem / path.name
        if nested.is_file():
            return nested
        flat_dir = Path(arg).parent
        if flat_dir in (Path("."), Path("containerlab")):
            for suffix in TOPOLOGY_SUFFIXES:
                shipped = repo / stem / f"{stem}{suffix}"
                if shipped.is_file():
                    return shipped
        return None
    if "/" in arg or arg in ("", ".", ".."):
        return None
    for directory in (base / "containerlab" / arg, repo / arg):
        found = _single_topology_in(directory)
        if found is not None:
            return found
    return None


def available_topologies(repo: Path = REPO_CONTAINERLAB) -> list[str]:
    """Names of the shipped topologies (``containerlab/<name>/<name>.clab.yml``)."""
    if not repo.is_dir():
        return []
    return sorted(
        d.name for d in repo.iterdir() if any((d / f"{d.name}{s}").is_file() for s in TOPOLOGY_SUFFIXES)
    )


def not_found_message(arg: str, repo: Path = REPO_CONTAINERLAB) -> str:
    """What to tell a user whose ``arg`` names no topology."""
    names = available_topologies(repo)
    listing = ", ".join(names) if names else f"none found in {repo}"
    return (
        f"no topology {arg!r}: give a .clab.yml file, a directory holding one, or a name; "
        f"available topologies: {listing}"
    )
