"""The kustomizations render warning-free on current kubectl, and the BFD install has a form for kubectl 1.20.

kubectl 1.21+ (kustomize v4/v5) warns about ``bases`` and ``patchesJson6902``;
kubectl 1.20 (kustomize v2, Debian 12's kubernetes-client) knows nothing else. So
``config/bfd`` uses ``resources`` + ``patches`` and ``config/bfd-kubectl-1.20`` keeps
the old fields; both must render the same objects. With Debian's kubectl 1.20 at
hand (``scripts/setup.sh`` unpacks it where apt can fetch it) the old form is
rendered by the old kubectl too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.install.conftest import NO_KUBECTL
from tests.install.rendering import (
    BFD,
    BFD_KUBECTL_1_20,
    DEFAULT,
    OLD_KUBECTL,
    PROMETHEUS,
    Obj,
    kubectl,
    kubectl_minor,
    render_with_messages,
)


def canonical(objs: list[Obj]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objs)


def current_kubectl() -> str:
    exe = kubectl()
    if exe is None:
        pytest.skip(NO_KUBECTL)
    if kubectl_minor(exe) <= 20:
        pytest.skip("the kubectl on PATH is 1.20 or older: config/bfd-kubectl-1.20 is its form")
    return exe


@pytest.mark.parametrize("directory", [DEFAULT, BFD, PROMETHEUS], ids=lambda d: d.name)
def test_current_kubectl_renders_without_warnings(directory: Path) -> None:
    objs, messages = render_with_messages(directory, current_kubectl())
    assert objs
    assert messages == "", messages


def test_the_kubectl_1_20_form_renders_what_config_bfd_renders() -> None:
    exe = current_kubectl()
    modern, _ = render_with_messages(BFD, exe)
    legacy, messages = render_with_messages(BFD_KUBECTL_1_20, exe)
    assert canonical(legacy) == canonical(modern)
    assert "deprecated" in messages  # why config/bfd does not use these fields


@pytest.mark.skipif(
    not OLD_KUBECTL.is_file(), reason=f"no kubectl 1.20 at {OLD_KUBECTL} (setup.sh fetches it)"
)
def test_kubectl_1_20_renders_its_form_and_cannot_read_config_bfd() -> None:
    assert kubectl_minor(str(OLD_KUBECTL)) == 20
    old, _ = render_with_messages(BFD_KUBECTL_1_20, str(OLD_KUBECTL))
    modern, _ = render_with_messages(BFD, current_kubectl())
    assert canonical(old) == canonical(modern)
    with pytest.raises(subprocess.CalledProcessError):
        render_with_messages(BFD, str(OLD_KUBECTL))
