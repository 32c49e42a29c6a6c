"""The Dockerfile's build context holds everything ``pip install .`` needs.

No container engine runs here, so the image itself is not built in tests. What can go
wrong without one is checked instead: the files the build stage COPYs (and
.dockerignore lets through) are enough for setuptools to find every package and
console script the manifests run; and the final stage runs as a numeric non-root user.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.install.rendering import ROOT

PROGRAMS = ("ironlb", "ironlb-controller", "ironlb-speaker")


def _stages() -> list[list[str]]:
    stages: list[list[str]] = []
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    for line in lines:
        line = line.strip()
        if line.upper().startswith("FROM "):
            stages.append([])
        if line and not line.startswith("#") and stages:
            stages[-1].append(line)
    return stages


def _build_copies() -> list[str]:
    sources: list[str] = []
    for line in _stages()[0]:
        if line.upper().startswith("COPY ") and "--from" not in line:
            sources.extend(line.split()[1:-1])
    return sources


def test_base_is_slim_python_311() -> None:
    for stage in _stages():
        assert stage[0].split()[1] == "python:3.11-slim"


def test_dockerignore_lets_every_copied_path_through() -> None:
    rules = [r.strip() for r in (ROOT / ".dockerignore").read_text().splitlines()]
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert "*" in rules
    for src in _build_copies():
        assert src.rstrip("/") in allowed, src


def test_copied_sources_build_a_package_with_both_programs(tmp_path: Path) -> None:
    ctx = tmp_path / "context"
    ctx.mkdir()
    for src in _build_copies():
        s = ROOT / src
        if s.is_dir():
            shutil.copytree(s, ctx / src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(s, ctx / src)
    out = tmp_path / "meta"
    out.mkdir()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools; setuptools.setup()",
            "-q",
            "egg_info",
            "--egg-base",
            str(out),
        ],
        cwd=ctx,
        check=True,
        capture_output=True,
        timeout=120,
    )
    info = next(out.glob("*.egg-info"))
    sources = set((info / "SOURCES.txt").read_text().split())
    for module in ("ironlb/cli/main.py", "controller/__main__.py", "speaker/__main__.py"):
        assert module in sources, module
    entry_points = (info / "entry_points.txt").read_text()
    for program in PROGRAMS:
        assert re.search(rf"^{re.escape(program)} = ", entry_points, re.M), program


def test_final_stage_runs_as_numeric_non_root_user() -> None:
    final = _stages()[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0
