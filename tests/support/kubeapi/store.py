"""The in-memory object store of the API-server double: etcd plus the registry logic.

One global, monotonically increasing resourceVersion; a bounded per-resource event
history that watches are served from (a watch or list from before the oldest kept
event gets 410 Gone, so memory stays bounded); optimistic concurrency (409 on a
stale resourceVersion); the status subresource split; no-op writes that change
nothing and emit no event, like the real server.

Stored objects are never mutated: every write builds a new dict. Public read
methods return deep copies; ``*_shared`` ones return the stored dicts for the HTTP
layer, which only serialises them.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import random
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from tests.support.kubeapi.errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    gone,
    invalid,
    not_found,
)
from tests.support.kubeapi.patching import apply_patch
from tests.support.kubeapi.resources import ResourceType
from tests.support.kubeapi.selectors import Predicate
from tests.support.kubeapi.semantics import Semantics

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)

_GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    obj: Obj
    prev: Obj | None


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rv_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


class Store:
    def __init__(self, *, history_limit: int = 100_000, first_rv: int = 1000) -> None:
        self.cond = threading.Condition()
        self.rv = first_rv
        self.history_limit = history_limit
        self.semantics = Semantics()
        self._objects: dict[ResourceType, dict[Key, Obj]] = {}
        self._history: dict[ResourceType, deque[Event]] = {}
        self._compacted: dict[ResourceType, int] = {}
        self.drop_epoch = 0  # bumped to cut every open watch abruptly
        self.open_watches = 0  # watch streams being served right now

    # -- helpers --------------------------------------------------------------
    def _bucket(self, rt: ResourceType) -> dict[Key, Obj]:
        return self._objects.setdefault(rt, {})

    def _key(self, rt: ResourceType, namespace: str | None, name: str) -> Key:
        return ((namespace or "") if rt.namespaced else "", name)

    def _record(self, rt: ResourceType, etype: str, obj: Obj, prev: Obj | None) -> None:
        hist = self._history.setdefault(rt, deque())
        if len(hist) >= self.history_limit:
            self._compacted[rt] = hist.popleft().rv
        hist.append(Event(self.rv, etype, obj, prev))
        self.cond.notify_all()

    def compacted(self, rt: ResourceType) -> int:
        return self._compacted.get(rt, 0)

    # -- reads ----------------------------------------------------------------
    def get_shared(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        with self.cond:
            obj = self._bucket(rt).get(self._key(rt, namespace, name))
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return obj

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        return copy.deepcopy(self.get_shared(rt, namespace, name))

    def list_shared(
        self,
        rt: ResourceType,
        namespace: str | None,
        pred: Predicate,
        *,
        resource_version: str | None = None,
        rv_match: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> tuple[list[Obj], str, str | None]:
        """Objects matching ``pred`` (sorted by namespace/name), the list's rv and a continue token."""
        with self.cond:
            list_rv = self.rv
            start = ""
            if continue_token:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                    list_rv, start = int(tok["rv"]), str(tok["start"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise bad_request("invalid continue token") from exc
                if list_rv < self.compacted(rt):
                    raise gone(
                        "The provided continue parameter is too old to display a consistent list result."
                    )
            elif resource_version not in (None, "", "0"):
                try:
                    wanted = int(str(resource_version))
                except ValueError as exc:
                    raise bad_request(f"invalid resourceVersion {resource_version!r}") from exc
                if rv_match == "Exact" and wanted != self.rv:
                    raise gone(
                        f"too old resource version: {wanted} ({self.rv}) (exact historical lists unsupported)"
                    )
                if wanted < self.compacted(rt):
                    raise gone(f"too old resource version: {wanted} ({self.compacted(rt)})")
            items = [
                (k, o)
                for k, o in self._bucket(rt).items()
                if (namespace is None or k[0] == namespace) and f"{k[0]}/{k[1]}" > start and pred(o)
            ]
        items.sort(key=lambda ko: f"{ko[0][0]}/{ko[0][1]}")  # etcd key order
        token = None
        if limit and len(items) > limit:
            items = items[:limit]
            last = items[-1][0]
            raw = json.dumps({"rv": list_rv, "start": f"{last[0]}/{last[1]}"}).encode()
            token = base64.urlsafe_b64encode(raw).decode()
        return [o for _, o in items], str(list_rv), token

    def list_objects(self, rt: ResourceType, namespace: str | None = None) -> list[Obj]:
        items, _, _ = self.list_shared(rt, namespace, lambda o: True)
        return copy.deepcopy(items)

    def events_since(self, rt: ResourceType, rv: int) -> list[Event]:
        """Events of ``rt`` after ``rv``; raises 410 when ``rv`` is older than the kept history.
        Caller holds ``cond``."""
        if rv < self.compacted(rt):
            raise gone(f"too old resource version: {rv} ({self.compacted(rt)})")
        out: list[Event] = []
        for ev in reversed(self._history.get(rt, ())):
            if ev.rv <= rv:
                break
            out.append(ev)
        out.reverse()
        return out

    def current_rv(self) -> int:
        with self.cond:
            return self.rv

    # -- writes ---------------------------------------------------------------
    def create(self, rt: ResourceType, namespace: str | None, body: Obj, *, keep_status: bool = False) -> Obj:
        new = copy.deepcopy(body)
        meta = new.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if rt.namespaced:
            if namespace is None:
                namespace = meta.get("namespace")
            if not namespace:
                raise bad_request("the namespace of the object is required")
            if meta.get("namespace") not in (None, namespace):
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if meta.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        with self.cond:
            if not meta.get("name"):
                prefix = meta.get("generateName")
                if not prefix:
                    raise invalid(
                        rt.kind, "", ["metadata.name: Required value: name or generateName is required"]
                    )
                for _ in range(100):
                    cand = prefix + "".join(random.choices(_GEN_CHARS, k=5))
                    if self._key(rt, namespace, cand) not in self._bucket(rt):
                        break
                meta["name"] = cand
            name = meta["name"]
            key = self._key(rt, namespace, name)
            if key in self._bucket(rt):
                raise already_exists(rt.plural, rt.group, name)
            for transient in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
                meta.pop(transient, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _now()
            new["kind"], new["apiVersion"] = rt.kind, rt.api_version
            if rt.has_status and not keep_status and rt.plural != "nodes":
                new.pop("status", None)
            self.semantics.prepare(rt, None, new, None)
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            self._bucket(rt)[key] = new
            self.semantics.commit(rt, None, new)
            self._record(rt, "ADDED", new, None)
        return copy.deepcopy(new)

    def _update(
        self, rt: ResourceType, namespace: str | None, name: str, old: Obj, new: Obj, subresource: str | None
    ) -> Obj:
        """Common tail of PUT and PATCH. Caller holds ``cond``; ``new`` is a private copy."""
        if not isinstance(new.get("metadata"), dict):
            raise bad_request("metadata must be an object")
        meta = new["metadata"]
        old_meta = old["metadata"]
        if meta.get("resourceVersion") and str(meta["resourceVersion"]) != old_meta["resourceVersion"]:
            raise conflict(rt.plural, rt.group, name)
        if meta.get("name") not in (None, name):
            raise bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        if rt.namespaced and meta.get("namespace") not in (None, namespace):
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        if subresource == "status":
            status = new.get("status")
            sent_meta = meta
            new = copy.deepcopy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
            meta = new["metadata"]
            if rt.plural == "services" and not rt.group:
                # kube-apiserver's Service status strategy resets only spec: labels and
                # annotations sent to /status are kept (MetalLB writes its pool annotation so).
                for key in ("labels", "annotations"):
                    if sent_meta.get(key):
                        meta[key] = sent_meta[key]
                    else:
                        meta.pop(key, None)
        elif subresource is not None:
            raise not_found(f"{rt.plural}/{subresource}", rt.group, name)
        else:
            for keep in ("uid", "creationTimestamp", "deletionTimestamp", "generateName"):
                if keep in old_meta:
                    meta[keep] = old_meta[keep]
                else:
                    meta.pop(keep, None)
            meta["name"] = name
            if rt.namespaced:
                meta["namespace"] = namespace
            if rt.has_status:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
        new["kind"], new["apiVersion"] = rt.kind, rt.api_version
        meta["resourceVersion"] = old_meta["resourceVersion"]
        self.semantics.prepare(rt, old, new, subresource)
        if new == old:
            return old  # no-op: no new resourceVersion, no watch event
        key = self._key(rt, namespace, name)
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            del self._bucket(rt)[key]
            self.semantics.commit(rt, old, None)
            self._record(rt, "DELETED", new, old)
        else:
            self._bucket(rt)[key] = new
            self.semantics.commit(rt, old, new)
            self._record(rt, "MODIFIED", new, old)
        return new

    def replace(
        self, rt: ResourceType, namespace: str | None, name: str, body: Obj, subresource: str | None = None
    ) -> Obj:
        with self.cond:
            old = self._bucket(rt).get(self._key(rt, namespace, name))
            if old is None:
                raise not_found(rt.plural, rt.group, name)
            return copy.deepcopy(self._update(rt, namespace, name, old, copy.deepcopy(body), subresource))

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        body: Any,
        subresource: str | None = None,
    ) -> Obj:
        with self.cond:
            old = self._bucket(rt).get(self._key(rt, namespace, name))
            if old is None:
                raise not_found(rt.plural, rt.group, name)
            new = apply_patch(content_type, copy.deepcopy(old), body)
            return copy.deepcopy(self._update(rt, namespace, name, old, new, subresource))

    def delete(
        self, rt: ResourceType, namespace: str | None, name: str, preconditions: Obj | None = None
    ) -> Obj:
        with self.cond:
            key = self._key(rt, namespace, name)
            old = self._bucket(rt).get(key)
            if old is None:
                raise not_found(rt.plural, rt.group, name)
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise conflict(rt.plural, rt.group, name)
            if (
                pre.get("resourceVersion")
                and str(pre["resourceVersion"]) != old["metadata"]["resourceVersion"]
            ):
                raise conflict(rt.plural, rt.group, name)
            if old["metadata"].get("finalizers"):
                if old["metadata"].get("deletionTimestamp"):
                    return copy.deepcopy(old)
                new = copy.deepcopy(old)
                new["metadata"]["deletionTimestamp"] = _now()
                self.rv += 1
                new["metadata"]["resourceVersion"] = str(self.rv)
                self._bucket(rt)[key] = new
                self._record(rt, "MODIFIED", new, old)
                return copy.deepcopy(new)
            del self._bucket(rt)[key]
            self.rv += 1
            gone_obj = copy.deepcopy(old)
            gone_obj["metadata"]["resourceVersion"] = str(self.rv)
            self.semantics.commit(rt, old, None)
            self._record(rt, "DELETED", gone_obj, old)
            return copy.deepcopy(gone_obj)

    def delete_collection(self, rt: ResourceType, namespace: str | None, pred: Predicate) -> list[Obj]:
        items, _, _ = self.list_shared(rt, namespace, pred)
        out = []
        for obj in items:
            meta = obj["metadata"]
            try:
                out.append(self.delete(rt, meta.get("namespace"), meta["name"]))
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return out

    # -- fault injection ------------------------------------------------------
    def drop_watches(self) -> None:
        with self.cond:
            self.drop_epoch += 1
            self.cond.notify_all()


def strip_type_meta(obj: Obj) -> Obj:
    """List items of built-in kinds carry no kind/apiVersion on the real server."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


__all__ = ["ApiError", "Event", "Store", "strip_type_meta"]
