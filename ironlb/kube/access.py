"""Why the API server cannot be used, when retrying alone will never fix it: pure decisions.

Three causes need a person: the server's TLS certificate does not verify against the CA
in use (wrong CA, wrong server name), the credentials are rejected (401), or RBAC lacks a
verb (403). Everything else (refused connections, 5xx, 409, timeouts) heals by itself and
stays the retry loops' business. This module only decides: which cause an exception is
(``classify``), which later answer shows it resolved (``resolves``), and what to tell the
user (``describe``); ``ironlb.kube.health`` does the logging, throttling and counting, and
the programs keep retrying with backoff (credentials get rotated, RBAC gets fixed).
``outage`` tells, with a few words, when an exception means the server cannot be reached
or is unavailable (refused, reset, timed out, 502/503/504): an outage, reported apart.

The 403 verb, resource and namespace come from the request itself (``request_info``, the
same mapping kube-apiserver's RequestInfo makes), the user from the server's message.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

Cause = Literal["tls", "unauthorized", "forbidden"]
UNAVAILABLE = frozenset({502, 503, 504})
"""Answers that mean the server (or what is in front of it) cannot serve now: an outage."""

_USER = re.compile(r'User "([^"]*)"')
_FORBIDDEN = re.compile(
    r'cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?'
)
_VERIFY = re.compile(r"certificate verify failed: (.+?)(?: \(_ssl\.c:\d+\))?['\")]*$", re.MULTILINE)


@dataclass(frozen=True)
class RequestInfo:
    """One API request in RBAC terms (verb, resource with subresource, namespace, name)."""

    verb: str
    resource: str  # "services", "services/status", "leases"; "" when not a resource path
    group: str = ""
    namespace: str | None = None
    name: str | None = None

    def where(self) -> str:
        return f'in namespace "{self.namespace}"' if self.namespace else "cluster-wide"


def request_info(method: str, url: str) -> RequestInfo:
    """``PATCH https://h/api/v1/namespaces/default/services/web/status`` -> patch services/status ..."""
    parts = urlsplit(url)
    segs = [s for s in parts.path.split("/") if s]
    group = ""
    if segs[:1] == ["api"]:
        rest = segs[2:]
    elif segs[:1] == ["apis"] and len(segs) >= 3:
        group, rest = segs[1], segs[3:]
    else:
        rest = []
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else None
    if len(rest) > 2:
        resource = f"{resource}/{rest[2]}"
    method = method.upper()
    if method == "GET":
        watch = (parse_qs(parts.query).get("watch") or [""])[-1].lower() in ("true", "1")
        verb = "watch" if watch else ("get" if name or not resource else "list")
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(
            method, "delete" if name else "deletecollection"
        )
    return RequestInfo(verb, resource, group, namespace, name)


@dataclass(frozen=True)
class Problem:
    """A cause that keeps the API server from being used, with what the user must know."""

    cause: Cause
    detail: str  # the certificate verify error, or the server's message
    request: RequestInfo | None = None  # forbidden: what was refused
    user: str | None = None  # forbidden: the user the server saw

    @property
    def key(self) -> tuple[str, ...]:
        """One log line, one counter state per key: per cause, and per refused verb for 403."""
        if self.cause == "forbidden" and self.request is not None:
            r = self.request
            return (self.cause, r.verb, r.group, r.resource, r.namespace or "")
        return (self.cause,)


@dataclass(frozen=True)
class ClientIdentity:
    """Where a client's server, CA and credentials come from (for the messages)."""

    server: str
    ca: str = "system trust store"  # "CA file /path", or where else the CA comes from
    credentials: str = "this client's configuration"
    service_account: str | None = None  # "namespace/name" when known
    in_cluster: bool = False
    rbac_hint: str = "config/default (rbac-controller.yaml, rbac-speaker.yaml)"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: causes, contexts, urllib3's ``reason``, exception args."""
    todo: list[BaseException] = [exc]
    seen: set[int] = set()
    while todo and len(seen) < 32:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        reason = getattr(e, "reason", None)
        nested = [e.__cause__, e.__context__, reason if isinstance(reason, BaseException) else None]
        nested.extend(a for a in e.args if isinstance(a, BaseException))
        todo.extend(n for n in nested if n is not None)


def verify_failure(exc: BaseException) -> str | None:
    """The certificate verify error somewhere in ``exc``, or None."""
    for e in _chain(exc):
        if isinstance(e, ssl.SSLCertVerificationError):
            message = e.verify_message or str(e)
            return f"{e.reason}: {message}" if e.reason else message
    for e in _chain(exc):  # the client turns a bare SSLError into ApiException(status=0, reason=text)
        text = " ".join(str(x) for x in (getattr(e, "reason", None), *e.args) if isinstance(x, str))
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            m = _VERIFY.search(text)
            return f"CERTIFICATE_VERIFY_FAILED: {m.group(1).strip()}" if m else text.strip()
    return None


def outage(exc: BaseException) -> str | None:
    """A few words on why the server cannot be reached or serve now, or None (not an outage).

    A transport failure (refused, reset, timed out, broken stream) or a 502/503/504; never a
    certificate that did not verify (``classify`` names that one)."""
    if verify_failure(exc) is not None:
        return None
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status in UNAVAILABLE:
        return f"{status} {getattr(exc, 'reason', '') or 'unavailable'}".strip()
    if isinstance(status, int) and status != 0:
        return None  # an answer: the server is there
    for e in _chain(exc):
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, TimeoutError) or "timed out" in str(e).lower() or "Timeout" in type(e).__name__:
            return "timed out"
        if isinstance(e, ConnectionResetError):
            return "connection reset"
    if isinstance(exc, OSError) or status == 0 or type(exc).__module__.startswith("urllib3"):
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return text[:200]
    return None


def _status_and_message(e: BaseException) -> tuple[int, str, bool] | None:
    """(status, message, message came from the server's Status body) for a 401/403, else None."""
    status = getattr(e, "status", None)
    if not isinstance(status, int) or status not in (401, 403):
        return None
    body: Any = getattr(e, "body", None)
    if isinstance(body, (str, bytes)) and body:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc.get("message"):
            return status, str(doc["message"]).strip(), True
    text = e.args[0] if e.args and isinstance(e.args[0], str) else getattr(e, "reason", "")
    return status, str(text or "").strip(), False


def classify(exc: BaseException, request: RequestInfo | None = None) -> Problem | None:
    """The cause that retrying will not fix, or None (transient, or not about access)."""
    verify = verify_failure(exc)
    if verify is not None:
        return Problem("tls", verify)
    found = [f for f in map(_status_and_message, _chain(exc)) if f is not None]
    if not found:
        return None
    status, message, _ = next((f for f in found if f[2]), found[0])
    if status == 401:
        return Problem("unauthorized", message or "Unauthorized")
    user_m = _USER.search(message)
    if request is None:
        m = _FORBIDDEN.search(message)
        if m:
            verb, res, group, ns = m.groups()
            request = RequestInfo(verb, res, group, ns)
    return Problem("forbidden", message or "Forbidden", request, user_m.group(1) if user_m else None)


def resolves(problem: Problem, request: RequestInfo, status: int) -> bool:
    """Does an HTTP answer ``status`` to ``request`` show that ``problem`` is gone?

    Any answer at all proves the TLS handshake verified; any answer but 401 proves the
    credentials were accepted; a 403 is resolved only by an answer other than 401/403 to
    the same verb on the same resource in the same namespace.
    """
    if problem.cause == "tls":
        return True
    if problem.cause == "unauthorized":
        return status != 401
    r = problem.request
    if status in (401, 403) or r is None:
        return False
    return (r.verb, r.group, r.resource, r.namespace) == (
        request.verb,
        request.group,
        request.resource,
        request.namespace,
    )


def service_account_of(user: str | None) -> str | None:
    """``system:serviceaccount:ns:name`` -> ``ns/name``."""
    if user and user.startswith("system:serviceaccount:"):
        ns, _, name = user[len("system:serviceaccount:") :].partition(":")
        if ns and name:
            return f"{ns}/{name}"
    return None


def service_account_of_token(token: str) -> str | None:
    """The ServiceAccount a Kubernetes-issued JWT names (its ``sub``), read without verifying it."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    sub = payload.get("sub") if isinstance(payload, dict) else None
    return service_account_of(sub if isinstance(sub, str) else None)


def _what(r: RequestInfo) -> str:
    res = f"{r.resource} ({r.group})" if r.group else r.resource
    return f"{r.verb} {res} {r.where()}"


def summary(problem: Problem) -> str:
    """A few words for the cause, for recovery lines and metrics' readers."""
    if problem.cause == "tls":
        return "TLS certificate verification"
    if problem.cause == "unauthorized":
        return "authentication (401 Unauthorized)"
    r = problem.request
    return f"permission to {_what(r)}" if r is not None else "authorisation (403 Forbidden)"


def describe(problem: Problem, ident: ClientIdentity) -> str:
    """One actionable line: what fails, against which server, with which inputs, what to do."""
    head = f"cannot use the Kubernetes API server {ident.server}"
    tail = "; retrying with backoff, changing nothing meanwhile"
    if problem.cause == "tls":
        host = urlsplit(ident.server).hostname or ident.server
        where = (
            "the ServiceAccount's ca.crt and KUBERNETES_SERVICE_HOST"
            if ident.in_cluster
            else "certificate-authority and server in the kubeconfig"
        )
        return (
            f"{head}: its TLS certificate does not verify against the {ident.ca} ({problem.detail}). "
            f"Use the CA that signed the API server's certificate and an address ({host}) the "
            f"certificate is issued for (check {where}){tail}"
        )
    who = f" (ServiceAccount {ident.service_account})" if ident.service_account else ""
    if problem.cause == "unauthorized":
        fix = (
            "check that the ServiceAccount still exists and its token is mounted and current"
            if ident.in_cluster
            else "renew the token or client certificate of that kubeconfig user"
        )
        return (
            f"{head}: 401 Unauthorized, the credentials from {ident.credentials}{who} were rejected "
            f"(unknown, expired or revoked); {fix}{tail}"
        )
    sa = service_account_of(problem.user) or ident.service_account
    if sa is not None:
        subject = f"ServiceAccount {sa}"
    elif problem.user:
        subject = f'the credentials from {ident.credentials}, seen as user "{problem.user}",'
    else:
        subject = f"the credentials from {ident.credentials}"
    r = problem.request
    denied = _what(r) if r is not None else "do what it needs"
    return (
        f"{head}: 403 Forbidden, {subject} may not {denied} ({problem.detail}). "
        f"Grant it in the ClusterRole/Role bound to that account: see {ident.rbac_hint}{tail}"
    )
