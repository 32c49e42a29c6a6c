"""The API server's audit log, read back: one ``AuditRecord`` per request.

The control plane logs every request at Metadata level (user, verb, resource, response
code, User-Agent), and a Service status write with its body, so a test can tell which
program asked what, in which order, and which addresses were ever written, without any
cooperation from the program.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
# What each status write asked for (the body): tests read the history of status.loadBalancer.
- level: Request
  verbs: [patch, update]
  resources:
  - group: ""
    resources: [services/status]
- level: Metadata
"""


def _epoch(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class AuditRecord:
    """One API request as the audit log shows it (a watch as soon as it started)."""

    verb: str  # RBAC verb: get, list, watch, create, update, patch, delete, ...
    group: str  # "" for the core group
    resource: str  # "services"; "" for a non-resource URL
    subresource: str  # "status", "token", ""
    namespace: str | None
    name: str | None
    code: int  # HTTP status
    user: str  # "system:serviceaccount:ns:name", "admin", ...
    user_agent: str
    at: float  # epoch seconds the request was received
    done: float  # epoch seconds of the recorded stage
    uri: str
    body: dict[str, Any] | None = None  # the request body, for Service status writes only

    @property
    def rbac_resource(self) -> str:
        """``services/status`` for a subresource, as RBAC rules spell it."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource

    @property
    def write(self) -> bool:
        return self.verb in ("create", "update", "patch", "delete", "deletecollection")


def _record(event: Mapping[str, Any]) -> AuditRecord:
    ref = event.get("objectRef") or {}
    return AuditRecord(
        verb=str(event.get("verb") or ""),
        group=str(ref.get("apiGroup") or ""),
        resource=str(ref.get("resource") or ""),
        subresource=str(ref.get("subresource") or ""),
        namespace=ref.get("namespace"),
        name=ref.get("name"),
        code=int((event.get("responseStatus") or {}).get("code") or 0),
        user=str((event.get("user") or {}).get("username") or ""),
        user_agent=str(event.get("userAgent") or ""),
        at=_epoch(str(event["requestReceivedTimestamp"])),
        done=_epoch(str(event["stageTimestamp"])),
        uri=str(event.get("requestURI") or ""),
        body=event.get("requestObject"),
    )


class AuditReader:
    """Parses the audit log incrementally: one record per request, in the order they completed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._records: list[AuditRecord] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def read(self) -> list[AuditRecord]:
        with self._lock:
            try:
                with open(self.path, "rb") as fh:
                    fh.seek(self._offset)
                    data = fh.read()
            except FileNotFoundError:
                return list(self._records)
            end = data.rfind(b"\n") + 1  # a line being written is read next time
            self._offset += end
            for line in data[:end].splitlines():
                if not line.strip():
                    continue
                event = json.loads(line)
                audit_id = str(event.get("auditID"))
                if audit_id in self._seen:  # a watch's ResponseComplete after its ResponseStarted
                    continue
                self._seen.add(audit_id)
                self._records.append(_record(event))
            return list(self._records)
