#!/usr/bin/env python3
"""Write ironlb's CRD files from ironlb/config/resources/schema.py, and the bundle config/default installs.

    python scripts/crds.py          # write config/crd/bases/*.yaml and config/default/crds.yaml
    python scripts/crds.py --check  # exit 1 naming every file not up to date (a test runs this check)

The config kinds' CRDs are generated; config/crd/kustomization.yaml is written by hand (a plain list, one
file per line), and config/default/crds.yaml is every file it lists, in its order.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from ironlb.config.resources.schema import CONFIG_KINDS, bundle, crd_file

ROOT = Path(__file__).resolve().parents[1]
CRD_DIR = ROOT / "config" / "crd"
BUNDLE = ROOT / "config" / "default" / "crds.yaml"


def wanted() -> dict[Path, str]:
    """Every generated file and its text (the bundle from the files as they will be)."""
    files = {CRD_DIR / path: text for path, text in map(crd_file, CONFIG_KINDS)}
    listed = yaml.safe_load((CRD_DIR / "kustomization.yaml").read_text())["resources"]
    texts = [files.get(CRD_DIR / name) or (CRD_DIR / name).read_text() for name in listed]
    files[BUNDLE] = bundle(texts)
    return files


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in wanted().items():
        if path.is_file() and path.read_text() == text:
            continue
        stale.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if check and stale:
        for path in stale:
            print(f"{path.relative_to(ROOT)}: not up to date; run `python scripts/crds.py`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
