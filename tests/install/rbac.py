"""RBAC as the API server evaluates it, reduced to what the install tests need.

Hand-written (no library evaluates RBAC offline): expands the rendered Roles,
ClusterRoles and their bindings into atomic grants for one ServiceAccount, and audits
them against the requests a program really made (the API double's request log):
every request must be allowed (nothing missing), every grant must be used by some
request (nothing unused), and a cluster-wide grant on a namespaced resource must be
needed outside ironlb's own namespace (otherwise a Role would do).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

# The resources whose objects live outside any namespace (the ones ironlb may touch).
CLUSTER_SCOPED = frozenset({("", "nodes"), ("", "namespaces"), ("rbac.authorization.k8s.io", "clusterroles")})


@dataclass(frozen=True)
class Access:
    """One request: RBAC verb, group, resource (``services/status`` for a subresource)."""

    verb: str
    group: str
    resource: str
    namespace: str | None  # None: cluster-scoped object, or a list/watch across all namespaces
    name: str | None = None

    def __str__(self) -> str:
        where = f"namespace {self.namespace}" if self.namespace else "cluster-wide"
        named = f" {self.name}" if self.name else ""
        return f"{self.verb} {self.resource}.{self.group or 'core'}{named} ({where})"


@dataclass(frozen=True)
class Grant:
    verb: str
    group: str
    resource: str
    namespace: str | None  # None: every namespace and the cluster scope (ClusterRoleBinding)
    resource_names: frozenset[str] = field(default_factory=frozenset)
    origin: str = ""

    def __str__(self) -> str:
        where = f"in namespace {self.namespace}" if self.namespace else "cluster-wide"
        names = f" named {sorted(self.resource_names)}" if self.resource_names else ""
        return f"{self.verb} {self.resource}.{self.group or 'core'}{names} {where} (from {self.origin})"

    def allows(self, a: Access) -> bool:
        if self.verb not in (a.verb, "*") or self.group not in (a.group, "*"):
            return False
        if self.resource not in (a.resource, "*"):
            return False
        if self.namespace is not None and a.namespace != self.namespace:
            return False
        return not self.resource_names or a.name in self.resource_names


def _expand(rules: Iterable[Obj], namespace: str | None, origin: str) -> list[Grant]:
    out = []
    for rule in rules:
        assert "nonResourceURLs" not in rule, f"{origin}: ironlb needs no non-resource URLs"
        names = frozenset(rule.get("resourceNames", []))
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                for verb in rule.get("verbs", []):
                    out.append(Grant(verb, group, resource, namespace, names, origin))
    return out


def grants_for(objs: Sequence[Obj], sa_namespace: str, sa_name: str) -> list[Grant]:
    """Every atomic grant the ServiceAccount holds through the rendered bindings."""
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objs}
    out: list[Grant] = []
    for b in objs:
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        subjects = b.get("subjects", [])
        if not any(
            s["kind"] == "ServiceAccount" and s["name"] == sa_name and s.get("namespace") == sa_namespace
            for s in subjects
        ):
            continue
        ref = b["roleRef"]
        binding_ns = b["metadata"].get("namespace") if b["kind"] == "RoleBinding" else None
        role_ns = binding_ns if ref["kind"] == "Role" else None
        role = roles.get((ref["kind"], role_ns, ref["name"]))
        assert role is not None, f"{b['kind']}/{b['metadata']['name']} refers to a missing {ref['kind']}"
        origin = f"{ref['kind']}/{ref['name']} via {b['kind']}/{b['metadata']['name']}"
        out.extend(_expand(role.get("rules", []), binding_ns, origin))
    return out


@dataclass(frozen=True)
class Audit:
    missing: tuple[Access, ...]
    unused: tuple[Grant, ...]
    too_broad: tuple[Grant, ...]

    @property
    def clean(self) -> bool:
        return not (self.missing or self.unused or self.too_broad)

    def report(self) -> str:
        lines = [f"missing: {a}" for a in self.missing]
        lines += [f"unused: {g}" for g in self.unused]
        lines += [
            f"cluster-wide but only used in its own namespace (use a Role): {g}" for g in self.too_broad
        ]
        return "\n".join(lines)


def audit(grants: Sequence[Grant], accesses: Iterable[Access], own_namespace: str) -> Audit:
    used = sorted(set(accesses), key=str)
    missing = tuple(a for a in used if not any(g.allows(a) for g in grants))
    unused = tuple(g for g in grants if not any(g.allows(a) for a in used))
    too_broad = tuple(
        g
        for g in grants
        if g.namespace is None
        and (g.group, g.resource.split("/")[0]) not in CLUSTER_SCOPED
        and g not in unused
        and all(a.namespace == own_namespace for a in used if g.allows(a))
    )
    return Audit(missing, unused, too_broad)
