"""``make image`` / ``make push`` / ``make deploy IMG=...``: the image a user built is the one installed.

No container engine and no cluster here: the image targets are checked as the
commands make would run (``make -n``); ``deploy`` runs for real with a kubectl
stand-in first on PATH that hands ``kubectl kustomize`` to the real kubectl and
records what ``kubectl apply -f -`` receives (a tool stub for the cluster end only).
The repository's kustomizations must be left as they were.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.install.conftest import NO_KUBECTL
from tests.install.rendering import BFD, DEFAULT, ROOT, Obj, kubectl, render

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None, reason="make is not installed (setup.sh installs it)"
)

FAKE_KUBECTL = """#!/bin/sh
if [ "$1" = kustomize ]; then exec {real} "$@"; fi
printf '%s\\n' "$*" >> {record}/args
cat >> {record}/applied.yaml
"""


def config_files() -> dict[str, bytes]:
    return {
        str(p.relative_to(ROOT)): p.read_bytes() for p in sorted((ROOT / "config").rglob("*")) if p.is_file()
    }


def deploy(tmp_path: Path, *make_args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    real = kubectl()
    if real is None:
        pytest.skip(NO_KUBECTL)
    bin_dir, record = tmp_path / "bin", tmp_path / "record"
    bin_dir.mkdir()
    record.mkdir()
    fake = bin_dir / "kubectl"
    fake.write_text(FAKE_KUBECTL.format(real=real, record=record))
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        ["make", "--no-print-directory", "deploy", *make_args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done, record


def applied(record: Path) -> list[Obj]:
    assert (record / "args").read_text() == "apply -f -\n"
    return [d for d in yaml.safe_load_all((record / "applied.yaml").read_text()) if d]


def images(objs: list[Obj]) -> set[str]:
    return {
        c["image"]
        for o in objs
        if o["kind"] in ("Deployment", "DaemonSet")
        for c in o["spec"]["template"]["spec"]["containers"]
    }


def without_images(objs: list[Obj]) -> list[str]:
    text = [json.dumps(o, sort_keys=True) for o in objs]
    return sorted(t.replace(next(iter(images(objs))), "IMAGE") for t in text)


def test_image_and_push_targets_use_img() -> None:
    done = subprocess.run(
        ["make", "-n", "image", "push", "IMG=registry.example.com:5000/team/ironlb:dev"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.splitlines() == [
        "docker build -t registry.example.com:5000/team/ironlb:dev .",
        "docker push registry.example.com:5000/team/ironlb:dev",
    ]


@pytest.mark.parametrize(
    ("img", "directory"),
    [
        ("registry.example.com:5000/team/ironlb:dev", DEFAULT),
        ("registry.example.com/ironlb:0.2.0-rc1", BFD),
        ("registry.example.com/ironlb@sha256:" + "ab" * 32, DEFAULT),
        ("localhost:5000/ironlb", DEFAULT),  # no tag: latest, as docker takes it
    ],
    ids=["port-and-tag", "bfd", "digest", "no-tag"],
)
def test_deploy_installs_the_given_image_and_leaves_the_repository_alone(
    tmp_path: Path, img: str, directory: Path
) -> None:
    before = config_files()
    done, record = deploy(tmp_path, f"IMG={img}", f"DEPLOY={directory.relative_to(ROOT)}")
    assert done.returncode == 0, done.stdout + done.stderr
    objs = applied(record)
    expected = img if "@" in img or ":" in img.rsplit("/", 1)[-1] else f"{img}:latest"
    assert images(objs) == {expected}
    assert without_images(objs) == without_images(render(directory))  # only the image differs
    assert config_files() == before
    assert {p.name for p in tmp_path.iterdir()} == {"bin", "record"}  # the temporary overlay is gone


def test_deploy_of_a_broken_kustomization_applies_nothing(tmp_path: Path) -> None:
    done, record = deploy(tmp_path, "IMG=registry.example.com/ironlb:dev", "DEPLOY=config/nonexistent")
    assert done.returncode != 0
    assert not (record / "args").exists()
