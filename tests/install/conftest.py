"""Fixtures shared by the install tests: the rendered default, BFD and Prometheus kustomizations."""

from __future__ import annotations

import pytest

from tests.install.rendering import DEFAULT, PROMETHEUS, Obj, bfd_install, kubectl, render

NO_KUBECTL = "kubectl is not installed (Debian: kubernetes-client; scripts/setup.sh installs it)"


@pytest.fixture(scope="session")
def rendered() -> list[Obj]:
    if kubectl() is None:
        pytest.skip(NO_KUBECTL)
    return render(DEFAULT)


@pytest.fixture(scope="session")
def rendered_prometheus() -> list[Obj]:
    if kubectl() is None:
        pytest.skip(NO_KUBECTL)
    return render(PROMETHEUS)


@pytest.fixture(scope="session")
def rendered_bfd() -> list[Obj]:
    """config/bfd; with kubectl 1.20 (Debian 12's, which setup.sh installs if none is there) its 1.20 form."""
    exe = kubectl()
    if exe is None:
        pytest.skip(NO_KUBECTL)
    return render(bfd_install(exe))
