"""Every object that ``kubectl apply -k config/default`` would send is valid Kubernetes.

Validated offline and strictly (unknown fields are errors, as with ``kubectl apply
--validate=strict``) against the OpenAPI schemas bundled in ``kubernetes-validate``, for
the oldest Kubernetes ironlb supports (1.30: ``ipMode`` in Service status) and the newest
schema bundled.
"""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from tests.install.rendering import Obj, one

OLDEST = "1.30"
VERSIONS = [OLDEST, kubernetes_validate.latest_version()]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_rendered_object_validates_strictly(rendered: list[Obj], version: str) -> None:
    assert rendered, "the default kustomization rendered nothing"
    failures = []
    for obj in rendered:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
            where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
            failures.append(f"{where}: {getattr(exc, 'message', exc)}")
    assert not failures, "\n".join(failures)


def test_the_validator_rejects_a_broken_object(rendered: list[Obj]) -> None:
    """Guards the test above against a validator that accepts anything."""
    deployment = copy.deepcopy(one(rendered, "Deployment", "controller"))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystm"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, OLDEST, strict=True)
    daemonset = copy.deepcopy(one(rendered, "DaemonSet", "speaker"))
    daemonset["spec"]["template"]["spec"]["hostNetwork"] = "yes"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(daemonset, OLDEST, strict=True)
