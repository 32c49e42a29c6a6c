"""Render the kustomize directories with the real ``kubectl kustomize`` and look objects up.

Rendering is what ``kubectl apply -k`` does first, so testing the rendered stream (not the
source files) tests exactly what a user installs.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "config" / "default"
PROMETHEUS = ROOT / "config" / "prometheus"
BFD = ROOT / "config" / "bfd"
SAMPLES = ROOT / "config" / "samples"
NAMESPACE = "ironlb-system"

Obj = dict[str, Any]


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render(directory: Path) -> list[Obj]:
    exe = kubectl()
    if exe is None:
        raise RuntimeError("kubectl is not installed")
    out = subprocess.run(
        [exe, "kustomize", str(directory)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def one(objs: Iterable[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected exactly one {kind}/{name}, found {len(found)}"
    return found[0]


def container(workload: Obj, name: str) -> Obj:
    for c in workload["spec"]["template"]["spec"]["containers"]:
        if c["name"] == name:
            return dict(c)
    raise AssertionError(f"no container {name} in {workload['kind']}/{workload['metadata']['name']}")


def env_map(c: Obj) -> dict[str, Obj]:
    return {e["name"]: e for e in c.get("env", [])}


def selector_matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())
