"""Writing one program's ``ConfigurationState`` (what it says is ``ironlb.statusobjects.configuration``'s).

``publish(status)`` never blocks and never fails: the newest status waits in a slot and one
thread writes it, merge-patching ``/status`` (every field present, so the patch replaces them
all), and creating the object first when the patch finds none (a first start, or someone
deleted it). A status equal to the one last written is not sent again; a failed write is
retried with backoff, the newest status first. The object is created with its labels
(``ironlb.io/component``, ``ironlb.io/node``) and, optionally, an owner (a speaker's Node, so the
garbage collector removes it with the Node). The program needs ``create`` on
``configurationstates`` and ``patch`` on ``configurationstates/status``, nothing else: no read,
so a restarted program writes its state once before it knows it is unchanged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client

from ironlb.kube.client import WRITE_TIMEOUT
from ironlb.kube.errors import KubeError, ObjectGone, api_errors, retry_log_level
from ironlb.kube.rest import MERGE_PATCH, Rest
from ironlb.kube.workqueue import tenacity_backoff
from ironlb.statusobjects.kinds import API_VERSION, CONFIGURATION_STATE

log = logging.getLogger(__name__)


def _drain(resp: Any) -> None:
    """Read an answer we do not decode to its end, so its connection goes back to the pool."""
    resp.read()
    resp.release_conn()


class ConfigurationStateWriter:
    def __init__(
        self,
        api_client: client.ApiClient,
        namespace: str,
        name: str,
        *,
        labels: Mapping[str, str],
        owner: Mapping[str, Any] | None = None,
        request_timeout: float = WRITE_TIMEOUT,
        backoff: Callable[[int], float] | None = None,
    ) -> None:
        self.namespace, self.name = namespace, name
        self._rest = Rest(api_client)
        self._labels = dict(labels)
        self._owner = dict(owner) if owner else None
        self._timeout = request_timeout
        self._backoff = backoff or tenacity_backoff(0.2, 30.0)
        self._cond = threading.Condition()
        self._latest: dict[str, Any] | None = None
        self._written: dict[str, Any] | None = None
        self._busy = False
        self._stopping = False
        self.writes = 0
        self._thread = threading.Thread(target=self._run, name=f"configurationstate-{name}", daemon=True)
        self._thread.start()

    def set_owner(self, owner: Mapping[str, Any] | None) -> None:
        """The owner given to the object when it is (re)created."""
        with self._cond:
            self._owner = dict(owner) if owner else None

    def publish(self, status: Mapping[str, Any]) -> None:
        """Make the object's status ``status`` (soon; the newest call wins)."""
        with self._cond:
            self._latest = dict(status)
            self._cond.notify_all()

    def _pending(self) -> bool:
        return self._latest is not None and self._latest != self._written

    def flush(self, timeout: float) -> bool:
        """Wait until the newest status is written (True), or ``timeout`` passed."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending() and not self._busy, timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Write what is pending (for at most ``timeout`` s), then stop."""
        self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(self._timeout + 1.0)

    def _run(self) -> None:
        failures = 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._pending())
                if self._stopping:
                    return
                status = self._latest
                self._busy = True
            assert status is not None
            try:
                self._write(status)
                failures = 0
                with self._cond:
                    self._written = status
            except KubeError as exc:
                failures += 1
                log.log(
                    retry_log_level(exc),
                    "ConfigurationState %s/%s: write failed, will retry: %s",
                    self.namespace,
                    self.name,
                    exc,
                )
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
            if failures:
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, self._backoff(failures))

    def _write(self, status: Mapping[str, Any]) -> None:
        try:
            self._patch(status)
        except ObjectGone:
            self._create()
            self._patch(status)

    def _patch(self, status: Mapping[str, Any]) -> None:
        with api_errors():
            resp = self._rest.call(
                "patch_namespaced_configuration_state_status",
                namespace=self.namespace,
                name=self.name,
                body={"status": dict(status)},
                content_type=MERGE_PATCH,
                timeout=self._timeout,
            )
            _drain(resp)
        self.writes += 1

    def _create(self) -> None:
        with self._cond:
            owner = self._owner
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace, "labels": self._labels}
        if owner:
            metadata["ownerReferences"] = [owner]
        body = {"apiVersion": API_VERSION, "kind": CONFIGURATION_STATE, "metadata": metadata, "spec": {}}
        try:
            with api_errors():
                _drain(
                    self._rest.call(
                        "create_namespaced_configuration_state",
                        namespace=self.namespace,
                        body=body,
                        timeout=self._timeout,
                    )
                )
        except KubeError as exc:
            if exc.status != 409:  # created meanwhile (the other replica): patch it
                raise
        self.writes += 1
        log.info("created ConfigurationState %s/%s", self.namespace, self.name)
