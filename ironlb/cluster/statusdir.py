"""Service status write-back for the manifest-directory cluster source.

Why: without Kubernetes there is no API server to hold what the controller
decides. A standalone controller writes each Service's load-balancer status
(``status.loadBalancer.ingress``, ``ipMode: VIP``) and the
``ironlb.io/ip-allocated-from-pool`` annotation to one small JSON file per
Service in ``<manifest dir>/.ironlb-status/``; ``ManifestSource`` lays these
files over the Services it reads, so speakers (and ``ironlb plan``) see what the
controller decided, exactly as they would see a status written through the API.
The user's manifests are never rewritten.

- ``StatusRecord`` and ``overlay`` are pure: a record replaces the Service's
  ``status.loadBalancer`` when it carries an ingress list, and sets (value) or
  removes (``None``) annotations;
- ``StatusDir`` is the thin file adapter. Writes are atomic (temp file in the same
  directory, then ``os.replace``), so a reader never sees half a file. A record
  for a Service that does not exist is ignored by readers and removed by the
  controller (``StatusDir.prune``).

Hand-written (a few dozen lines of JSON files): no library covers this format,
which is ironlb's own.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from ironlb import services as svc
from ironlb.kube_types import Service

STATUS_DIRNAME = ".ironlb-status"
SUFFIX = ".json"
IP_MODE = "VIP"


@dataclass(frozen=True)
class StatusRecord:
    """What the controller wrote for one Service."""

    key: str
    """``namespace/name`` (as ``ironlb.services.service_key``)."""
    ingress: tuple[str, ...] | None = None
    """``status.loadBalancer.ingress`` IPs; ``()`` clears it; ``None`` leaves the manifest's own."""
    annotations: Mapping[str, str | None] = field(default_factory=dict)
    """Annotations set (value) or removed (``None``)."""

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "ingress": None if self.ingress is None else list(self.ingress),
                "annotations": dict(sorted(self.annotations.items()))}  # fmt: skip

    @staticmethod
    def from_json(data: Any) -> StatusRecord | None:
        """The record in ``data``, or ``None`` when it is not one (a foreign or damaged file)."""
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None
        ingress = data.get("ingress")
        annotations = data.get("annotations") or {}
        if ingress is not None and not (
            isinstance(ingress, list) and all(isinstance(i, str) for i in ingress)
        ):
            return None
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in annotations.items()
        ):
            return None
        return StatusRecord(
            data["key"], None if ingress is None else tuple(ingress), cast(dict[str, str | None], annotations)
        )


def overlay(service: Service, record: StatusRecord | None) -> Service:
    """``service`` as the controller left it: a new dict, the input is not changed."""
    if record is None:
        return service
    out = cast(Service, copy.deepcopy(dict(service)))
    if record.ingress is not None:
        status = cast(dict[str, Any], out.setdefault("status", {}))
        if record.ingress:
            status["loadBalancer"] = {"ingress": [{"ip": ip, "ipMode": IP_MODE} for ip in record.ingress]}
        else:
            status["loadBalancer"] = {}
    if record.annotations:
        meta = out.setdefault("metadata", {})
        annotations = dict(meta.get("annotations") or {})
        for name, value in record.annotations.items():
            if value is None:
                annotations.pop(name, None)
            else:
                annotations[name] = value
        meta["annotations"] = annotations
    return out


def apply_overlays(services: Iterable[Service], records: Mapping[str, StatusRecord]) -> tuple[Service, ...]:
    """Every Service with its record laid over it; records of absent Services are ignored."""
    return tuple(overlay(s, records.get(svc.service_key(s))) for s in services)


def file_name(key: str) -> str:
    """``default/web`` -> ``default%2Fweb.json``."""
    return quote(key, safe="") + SUFFIX


def records_digest(records: Mapping[str, StatusRecord]) -> bytes:
    """The records' content, for a source revision that changes with every write."""
    return b"\0".join(json.dumps(records[key].to_json(), sort_keys=True).encode() for key in sorted(records))


class StatusDir:
    """The ``.ironlb-status`` directory of one manifest directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def of(cls, manifest_dir: Path) -> StatusDir:
        return cls(manifest_dir / STATUS_DIRNAME)

    def read_all(self) -> dict[str, StatusRecord]:
        """Every readable record by Service key (files being replaced or damaged are skipped)."""
        records: dict[str, StatusRecord] = {}
        try:
            names = sorted(os.listdir(self.path))
        except FileNotFoundError:
            return records
        for name in names:
            if not name.endswith(SUFFIX) or name.startswith("."):
                continue
            try:
                data = json.loads((self.path / name).read_text())
            except (OSError, ValueError):
                continue  # removed meanwhile, or not ours
            record = StatusRecord.from_json(data)
            if record is not None and file_name(record.key) == name:
                records[record.key] = record
        return records

    def write(self, record: StatusRecord) -> None:
        """Replace the record of ``record.key`` atomically."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(fd, "w") as stream:
                json.dump(record.to_json(), stream, indent=1)
                stream.write("\n")
            os.replace(tmp, self.path / file_name(record.key))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def remove(self, key: str) -> bool:
        """Drop the record of ``key``; True when there was one."""
        try:
            (self.path / file_name(key)).unlink()
        except FileNotFoundError:
            return False
        return True

    def prune(self, keep: Iterable[str]) -> list[str]:
        """Remove the records of every key not in ``keep``; returns the removed keys."""
        wanted = set(keep)
        gone = [key for key in self.read_all() if key not in wanted]
        for key in gone:
            self.remove(key)
        return gone


def _ingress_of(service: Service) -> tuple[str, ...]:
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return tuple(str(e.get("ip")) for e in ingress if e.get("ip"))


def normalize(base: Service, record: StatusRecord) -> StatusRecord | None:
    """``record`` without what ``base`` already says; ``None`` when nothing is left to store.

    Keeps the directory minimal: a Service whose manifest already carries the
    decided status needs no file, and a cleared status of a manifest without
    one leaves none behind.
    """
    ingress = record.ingress
    if ingress is not None and sorted(ingress) == sorted(_ingress_of(base)):
        ingress = None
    current = (base.get("metadata") or {}).get("annotations") or {}
    annotations = {k: v for k, v in record.annotations.items() if current.get(k) != v}
    if ingress is None and not annotations:
        return None
    return StatusRecord(record.key, ingress, annotations)
