"""The CRD files are what ironlb/config/resources/schema.py says, and say what the decoder reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from ironlb.config.decode import first_model
from ironlb.config.resources import schema
from ironlb.config.resources.wire import SPECS

ROOT = Path(__file__).resolve().parents[3]


def test_generated_files_are_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/crds.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_one_crd_file_per_config_kind() -> None:
    files = {p.name for p in (ROOT / "config" / "crd" / "bases").glob("ironlb.io_*.yaml")}
    generated = {Path(schema.crd_file(kind)[0]).name for kind in schema.CONFIG_KINDS}
    assert generated <= files
    assert set(SPECS) == set(schema.CONFIG_KINDS)


def _compare(path: str, props: dict[str, Any], model: type[BaseModel], out: list[str]) -> None:
    fields = {info.alias or name: info.annotation for name, info in model.model_fields.items()}
    if set(props) != set(fields):
        out.append(
            f"{path}: CRD {sorted(set(props) - set(fields))} vs model {sorted(set(fields) - set(props))}"
        )
    for name, prop in props.items():
        nested = prop.get("items", prop) if prop.get("type") == "array" else prop
        inner = first_model(fields.get(name))
        if "properties" in nested and inner is not None:
            _compare(f"{path}.{name}", nested["properties"], inner, out)
        elif ("properties" in nested) != (inner is not None):
            out.append(f"{path}.{name}: an object in one, not in the other")


@pytest.mark.parametrize("kind", schema.CONFIG_KINDS)
def test_the_schema_and_the_wire_model_have_the_same_fields(kind: str) -> None:
    spec = schema.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    problems: list[str] = []
    _compare("spec", spec["properties"], SPECS[kind], problems)
    assert problems == []


@pytest.mark.parametrize("kind", schema.CONFIG_KINDS)
def test_every_string_and_list_is_bounded(kind: str) -> None:
    """CEL's cost estimate needs bounds, and they keep objects small."""
    unbounded: list[str] = []

    def walk(node: dict[str, Any], path: str) -> None:
        if node.get("type") == "string" and "maxLength" not in node and "enum" not in node:
            unbounded.append(path)
        if node.get("type") == "array":
            if "maxItems" not in node:
                unbounded.append(path)
            walk(node["items"], path + "[]")
        for name, sub in (node.get("properties") or {}).items():
            walk(sub, f"{path}.{name}")

    walk(schema.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"], "spec")
    assert unbounded == []


def test_the_bundle_config_default_installs_holds_every_listed_crd() -> None:
    listed = yaml.safe_load((ROOT / "config" / "crd" / "kustomization.yaml").read_text())["resources"]
    bundled = [d for d in yaml.safe_load_all((ROOT / "config" / "default" / "crds.yaml").read_text()) if d]
    files = [yaml.safe_load((ROOT / "config" / "crd" / name).read_text()) for name in listed]
    assert bundled == files
