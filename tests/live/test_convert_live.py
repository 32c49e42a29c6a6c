"""The README's in-place conversion of a running MetalLB (``kubectl get ... | ironlb convert -``) on the
real API server, with ironlb's CRDs installed next to MetalLB's: both groups have kinds of the same
names, so the command must name MetalLB's with their group, or ``kubectl`` lists ironlb's (none in
MetalLB's namespace) and the conversion finds nothing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.live.conftest import REPO
from tests.support.crds import install_crds
from tests.support.pytest_plugin import Kube

METALLB_KINDS = {  # plural: kind; MetalLB's six config kinds, their schemas left open here
    "ipaddresspools": "IPAddressPool",
    "l2advertisements": "L2Advertisement",
    "bgpadvertisements": "BGPAdvertisement",
    "bgppeers": "BGPPeer",
    "bfdprofiles": "BFDProfile",
    "communities": "Community",
}


def _metallb_crd(plural: str, kind: str) -> dict[str, Any]:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.metallb.io"},
        "spec": {
            "group": "metallb.io",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1beta1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
            ],
        },
    }


@pytest.fixture
def metallb_crds(kube: Kube) -> Iterator[None]:
    """MetalLB's kinds next to ironlb's for this test only (removed after it: other tests' kubectl)."""
    from kubernetes import client

    install_crds(kube.api)
    install_crds(kube.api, [_metallb_crd(p, k) for p, k in METALLB_KINDS.items()])
    ext = client.ApiextensionsV1Api(kube.api)
    try:
        yield
    finally:
        for plural in METALLB_KINDS:
            ext.delete_custom_resource_definition(f"{plural}.metallb.io")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            i.spec.group == "metallb.io" for i in ext.list_custom_resource_definition().items
        ):
            time.sleep(0.2)


def _readme_command(namespace: str) -> str:
    """The README's command, in ``namespace`` instead of metallb-system."""
    text = (REPO / "README.md").read_text()
    (command,) = re.findall(r"`(kubectl get -n metallb-system [^`]*\| ironlb convert -)`", text)
    return command.replace("metallb-system", namespace)


def test_the_readme_converts_a_running_metallb_with_ironlb_installed(kube: Kube, metallb_crds: None) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    from kubernetes import client

    pool = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": "first-pool", "namespace": kube.ns},
        "spec": {"addresses": ["192.168.10.0/24"]},
    }
    client.CustomObjectsApi(kube.api).create_namespaced_custom_object(
        "metallb.io", "v1beta1", kube.ns, "ipaddresspools", pool
    )
    env = {
        **os.environ,
        "KUBECONFIG": str(kube.cp.admin_kubeconfig),
        "KUBECACHEDIR": str(kube.tmp / "kubectl-cache"),
        "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}",
    }
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", _readme_command(kube.ns)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (converted,) = [d for d in yaml.safe_load_all(done.stdout) if d]
    assert converted["apiVersion"] == "ironlb.io/v1beta1" and converted["kind"] == "IPAddressPool"
    assert converted["spec"]["addresses"] == ["192.168.10.0/24"]
