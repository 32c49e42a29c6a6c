"""Render the kustomize directories with the real ``kubectl kustomize`` and look objects up.

Rendering is what ``kubectl apply -k`` does first, so testing the rendered stream (not the
source files) tests exactly what a user installs.
"""

from __future__ import annotations

import json
import os
import re
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
BFD_KUBECTL_1_20 = ROOT / "config" / "bfd-kubectl-1.20"
OLD_KUBECTL = Path(
    os.environ.get("IRONLB_OLD_KUBECTL") or ROOT / ".venv" / "opt" / "kubectl-1.20" / "kubectl"
)
"""Debian 12's kubectl 1.20, unpacked (not installed) by scripts/setup.sh where apt can fetch it."""
SAMPLES = ROOT / "config" / "samples"
NAMESPACE = "ironlb-system"

Obj = dict[str, Any]


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render(directory: Path, exe: str | None = None) -> list[Obj]:
    return render_with_messages(directory, exe)[0]


def render_with_messages(directory: Path, exe: str | None = None) -> tuple[list[Obj], str]:
    """The objects ``kubectl kustomize`` renders (``exe``: another kubectl) and what it printed on stderr."""
    exe = exe or kubectl()
    if exe is None:
        raise RuntimeError("kubectl is not installed")
    done = subprocess.run(
        [exe, "kustomize", str(directory)], check=True, capture_output=True, text=True, timeout=60
    )
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc], done.stderr


def kubectl_minor(exe: str) -> int:
    """The client's minor version (``1.32`` -> 32; ``"32+"`` counts as 32)."""
    done = subprocess.run(
        [exe, "version", "--client", "-o", "json"], check=True, capture_output=True, text=True, timeout=60
    )
    minor = json.loads(done.stdout)["clientVersion"]["minor"]
    return int(re.sub(r"\D", "", minor))


def bfd_install(exe: str) -> Path:
    """The BFD kustomization a user of this kubectl applies: config/bfd, or the 1.20 form for kustomize v2."""
    return BFD if kubectl_minor(exe) > 20 else BFD_KUBECTL_1_20


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
