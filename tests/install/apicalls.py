"""The Kubernetes API calls ironlb's code can make, found in the code itself.

Only ``ironlb.kube`` may import the ``kubernetes`` client (an import-linter contract in
pyproject.toml), so every call the programs can make is a method of a generated API
class (``CoreV1Api.patch_namespaced_service_status``...) named somewhere under
``ironlb/kube/``. The generated client knows each method's HTTP method and path; this
module reads both from the client's own source and turns them into RBAC terms
(verb, API group, resource or ``resource/subresource``). Hand-written because no
library maps client methods to RBAC; it is a few regular expressions over the client.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client

_SERIALIZE = re.compile(
    r"def _(\w+)_serialize\(.*?method='(\w+)',\s*resource_path='([^']+)'",
    re.S,
)


@dataclass(frozen=True, order=True)
class ApiCall:
    """A client method in RBAC terms. ``list`` also stands for ``watch`` (same method, ``watch=True``)."""

    verb: str
    group: str
    resource: str  # "services" or "services/status"
    namespaced: bool  # the path names a namespace (False: cluster-scoped or across all namespaces)

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}.{self.group or 'core'}"


def _from_path(method: str, path: str) -> ApiCall | None:
    segs = [s for s in path.split("/") if s]
    if segs[0] == "api":
        group, rest = "", segs[2:]
    else:
        group, rest = (segs[1], segs[3:]) if len(segs) >= 3 else ("", [])
    namespaced = len(rest) >= 2 and rest[0] == "namespaces" and rest[1] == "{namespace}"
    if namespaced and len(rest) > 2:
        rest = rest[2:]
    if not rest:
        return None  # discovery
    resource = rest[0]
    named = len(rest) >= 2 and rest[1] == "{name}"
    sub = rest[2] if named and len(rest) >= 3 else None
    verb = {
        "HEAD": "get" if named else "list",
        "OPTIONS": "get" if named else "list",
        "GET": "get" if named else "list",
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if named else "deletecollection",
    }[method]
    return ApiCall(verb, group, f"{resource}/{sub}" if sub else resource, namespaced)


@functools.cache
def client_paths() -> dict[str, tuple[str, str]]:
    """Every generated API method name → (HTTP method, path), from the client's source."""
    table: dict[str, tuple[str, str]] = {}
    for module in sorted((Path(client.__file__).parent / "api").glob("*_api.py")):
        for method, http, path in _SERIALIZE.findall(module.read_text()):
            table.setdefault(method, (http, path))
    return table


@functools.cache
def known_paths() -> dict[str, tuple[str, str]]:
    """The generated methods' paths, and ironlb's named custom-resource endpoints
    (``ironlb.kube.rest.CUSTOM_ENDPOINTS``: the client's generic custom-object paths with the group,
    version and plural filled in, which tests/kube/test_rest.py checks)."""
    from ironlb.kube.rest import CUSTOM_ENDPOINTS

    return {**client_paths(), **CUSTOM_ENDPOINTS}


@functools.cache
def client_methods() -> dict[str, ApiCall]:
    """Every generated API method name (and its ``_with_http_info`` twin), and every named
    custom-resource endpoint → its call."""
    table: dict[str, ApiCall] = {}
    for method, (http, path) in known_paths().items():
        call = _from_path(http, path) if path.startswith(("/api/", "/apis/")) else None
        if call is None:
            continue
        table.setdefault(method, call)
        table.setdefault(f"{method}_with_http_info", call)
    return table


@dataclass(frozen=True, order=True)
class CallSite:
    call: ApiCall
    method: str
    where: str  # path:line


def call_sites(roots: list[Path], base: Path) -> list[CallSite]:
    """Every reference to a client API method: called or passed on as an attribute, or named
    by a string (``Rest.call("patch_namespaced_service_status", ...)``, ``ironlb.kube.rest``).
    The tables of names there (``ENDPOINTS``, ``CUSTOM_ENDPOINTS``) are not call sites themselves."""
    table = client_methods()
    sites = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            skip = {
                id(k) for n in ast.walk(tree) if isinstance(n, ast.Dict) and _is_endpoints(n) for k in n.keys
            }
            for node in ast.walk(tree):
                name = None
                if isinstance(node, ast.Attribute):
                    name = node.attr
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                    name = node.value
                if name in table:
                    where = f"{path.relative_to(base)}:{node.lineno}"
                    sites.append(CallSite(table[name], name, where))
    return sorted(sites)


def _is_endpoints(node: ast.Dict) -> bool:
    """The ``ENDPOINTS`` table: every key a client method name, every value a (method, path) pair."""
    return (
        bool(node.keys)
        and all(isinstance(v, ast.Tuple) and len(v.elts) == 2 for v in node.values)
        and all(isinstance(k, ast.Constant) and k.value in known_paths() for k in node.keys)
    )
