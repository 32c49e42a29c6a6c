"""RBAC of the install against the API calls ironlb's code makes: none missing, none unused.

Two derivations, neither written by hand:

- statically, from the code: every Kubernetes client method named under ironlb's packages
  (only ``ironlb.kube`` may use the client), mapped to RBAC terms through the client's
  own generated paths (``apicalls``). The union of the ServiceAccounts' grants must be
  exactly these calls (``watch`` rides on a ``list`` method).
- dynamically, per program: each program runs as the rendered manifest starts it, against
  the API double with a token holding only its ServiceAccount's grants, through a scenario
  that drives every call it can make; the double's request log is then audited against the
  grants, namespace by namespace (``rbac.audit``).
"""

from __future__ import annotations

import copy

import pytest

from tests.install.apicalls import ApiCall, call_sites
from tests.install.rbac import Access, Grant, audit, grants_for
from tests.install.rendering import NAMESPACE, ROOT, Obj, one

PROGRAMS = ("controller", "speaker")
VIEWER_MODULES = ("ironlb/kube/snapshot.py", "ironlb/kube/published.py")
"""What ``ironlb plan --kubeconfig`` and ``ironlb status`` read, as a person, granted by
``config/viewer`` and not by the programs' ServiceAccounts (tests/live/test_viewer_rbac.py
checks those roles on the real API server: nothing refused, every rule used)."""


def _static_calls() -> dict[ApiCall, list[str]]:
    sites: dict[ApiCall, list[str]] = {}
    for site in call_sites([ROOT / "ironlb", ROOT / "controller", ROOT / "speaker"], ROOT):
        if str(site.where).startswith(VIEWER_MODULES):
            continue
        sites.setdefault(site.call, []).append(f"{site.method} at {site.where}")
    return sites


def _covers(g: Grant, call: ApiCall) -> bool:
    verb_ok = g.verb in (call.verb, "*") or (g.verb == "watch" and call.verb == "list")
    scope_ok = call.namespaced or g.namespace is None
    return verb_ok and g.group == call.group and g.resource == call.resource and scope_ok


def _all_grants(rendered: list[Obj]) -> list[Grant]:
    return [g for p in PROGRAMS for g in grants_for(rendered, NAMESPACE, p)]


def test_service_accounts_are_exactly_the_programs(rendered: list[Obj]) -> None:
    sas = sorted(o["metadata"]["name"] for o in rendered if o["kind"] == "ServiceAccount")
    assert sas == sorted(PROGRAMS)


def test_every_call_in_the_code_is_granted_and_every_grant_is_called(rendered: list[Obj]) -> None:
    calls = _static_calls()
    assert calls, "no Kubernetes client call found in the code"
    grants = _all_grants(rendered)
    missing = [
        f"{c}: {', '.join(w)}" for c, w in sorted(calls.items()) if not any(_covers(g, c) for g in grants)
    ]
    unused = [str(g) for g in grants if not any(_covers(g, c) for c in calls)]
    assert not missing and not unused, "\n".join(
        [f"missing grant for {m}" for m in missing] + [f"unused grant: {u}" for u in unused]
    )


# ---- the audit itself -----------------------------------------------------------------


def _controller_accesses() -> list[Access]:
    return [
        Access("list", "", "services", None),
        Access("watch", "", "services", None),
        Access("patch", "", "services/status", "apps", "web"),
    ]


def _minimal_rbac() -> list[Obj]:
    return [
        {
            "kind": "ClusterRole",
            "metadata": {"name": "c"},
            "rules": [
                {"apiGroups": [""], "resources": ["services"], "verbs": ["list", "watch"]},
                {"apiGroups": [""], "resources": ["services/status"], "verbs": ["patch"]},
            ],
        },
        {
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "c"},
            "roleRef": {"kind": "ClusterRole", "name": "c"},
            "subjects": [{"kind": "ServiceAccount", "name": "controller", "namespace": NAMESPACE}],
        },
    ]


def test_audit_passes_exact_rules() -> None:
    result = audit(grants_for(_minimal_rbac(), NAMESPACE, "controller"), _controller_accesses(), NAMESPACE)
    assert result.clean, result.report()


def test_audit_finds_a_missing_permission() -> None:
    objs = _minimal_rbac()
    objs[0]["rules"].pop()
    result = audit(grants_for(objs, NAMESPACE, "controller"), _controller_accesses(), NAMESPACE)
    assert result.missing == (Access("patch", "", "services/status", "apps", "web"),)


def test_audit_finds_an_unused_permission_and_a_cluster_role_that_should_be_a_role() -> None:
    objs = copy.deepcopy(_minimal_rbac())
    objs[0]["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})
    objs[0]["rules"].append(
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["update"]}
    )
    accesses = [*_controller_accesses(), Access("update", "coordination.k8s.io", "leases", NAMESPACE, "x")]
    result = audit(grants_for(objs, NAMESPACE, "controller"), accesses, NAMESPACE)
    assert [(g.verb, g.resource) for g in result.unused] == [("get", "secrets")]
    assert [(g.verb, g.resource) for g in result.too_broad] == [("update", "leases")]
    assert not result.missing


def test_a_role_binding_grants_only_in_its_namespace(rendered: list[Obj]) -> None:
    role = one(rendered, "Role", "controller")
    assert role["metadata"]["namespace"] == NAMESPACE
    grants = [g for g in grants_for(rendered, NAMESPACE, "controller") if g.origin.startswith("Role/")]
    assert grants
    assert all(g.namespace == NAMESPACE for g in grants)
    other_ns = Access(grants[0].verb, grants[0].group, grants[0].resource, "default")
    assert not any(g.allows(other_ns) for g in grants)


@pytest.mark.parametrize("program", PROGRAMS)
def test_programs_only_get_their_own_grants(rendered: list[Obj], program: str) -> None:
    assert grants_for(rendered, NAMESPACE, program)
    assert not grants_for(rendered, "default", program)
