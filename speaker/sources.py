"""Where the speaker reads the cluster, and how it learns that something changed.

Two sources behind the one seam (``ironlb.cluster.seam``):

- Kubernetes (``KubeSource``): ``ironlb.kube.source.KubeClusterSource`` informers on
  Services, EndpointSlices, Nodes, the ConfigMap, the ``ironlb.io`` config resources and the
  Secrets of ironlb's namespace (BGP passwords named by a BGPPeer's ``passwordSecret``; only
  their ``password`` key is kept); this speaker's ``ConfigurationState`` (``speaker-<node>``,
  owned by its Node once the Node is known) is written there too. Every change they report wakes
  the speaker (``on_change``, called from an informer thread), so nothing polls; the
  snapshot's revision is a local change counter, so watch bookmarks (which move
  resourceVersions without changing anything) cause no work. An unreachable API
  server changes nothing: the informers keep their caches and retry, and the
  snapshot stays what was last known; a cause that needs a person (wrong CA, rejected
  token, missing RBAC verb) is logged once, clearly, and counted
  (``ironlb_k8s_client_errors_total{reason}``).
- a manifest directory (``StatCachedSource`` over ``ManifestSource``): polled, but
  re-read and re-parsed only when a file's (or directory's) mtime, ctime, size or
  inode changed; parsing every file on every 0.2 s poll cost several percent of a
  core per idle speaker. A change within ``RACY_NS`` of a read may share its
  timestamp with a write we did not see (git's "racily clean" problem), so such
  a fingerprint is not trusted and the files are read again on the next poll.

``open_cluster`` picks one from the options and pairs it with where ``nodeAssigned``
Events go (the API's Events, or the log) and, on Kubernetes, the writer of the node's
``ServiceL2Status`` / ``ServiceBGPStatus`` objects (``speaker.statusobjects``).
Hand-written: the stat fingerprint is a few lines of ``os.walk``; watchdog/inotify would add a
dependency and still need this fallback for file systems without notifications.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ironlb.cluster.manifests import ManifestSource
from ironlb.cluster.seam import ClusterSnapshot, ClusterSource
from speaker import metrics
from speaker.events import EventSink, LogSink
from speaker.options import SpeakerOptions

if TYPE_CHECKING:
    from ironlb.kube.source import KubeClusterSource, ObjectRef
    from ironlb.kube.statuscleanup import StatusCleanup
    from ironlb.kube.statusobjects import StatusObjectPublisher

log = logging.getLogger(__name__)

RBAC_HINT = "config/default/rbac-speaker.yaml (ClusterRole and Role for ServiceAccount speaker)"

RACY_NS = 2_000_000_000
"""A file modified less than this before a read may change again unseen within the same timestamp."""

FileStamp = tuple[str, int, int, int, int]
"""(path, mtime_ns, ctime_ns, size, inode); mtime -1 for a path that does not exist."""


def fingerprint(paths: Iterable[Path]) -> tuple[FileStamp, ...]:
    """Stat every named path and, in directories, every file and subdirectory below (sorted)."""
    stamps: list[FileStamp] = []

    def add(path: str) -> None:
        try:
            st = os.stat(path)
        except OSError:
            stamps.append((path, -1, -1, -1, -1))
            return
        stamps.append((path, st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino))

    for root in paths:
        add(str(root))
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                add(os.path.join(dirpath, name))
    return tuple(stamps)


def trusted(stamps: Iterable[FileStamp], read_started_ns: int, racy_ns: int = RACY_NS) -> bool:
    """True when every stamp is old enough that an unseen same-timestamp write is impossible."""
    newest = max((max(s[1], s[2]) for s in stamps), default=-1)
    return newest < read_started_ns - racy_ns


class StatCachedSource:
    """A ``ManifestSource`` that re-reads its files only when their stat fingerprint changes."""

    def __init__(
        self,
        inner: ManifestSource,
        *,
        racy_ns: int = RACY_NS,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.inner = inner
        self._racy_ns = racy_ns
        self._clock_ns = clock_ns
        self._stamps: tuple[FileStamp, ...] | None = None
        self._trusted = False
        self._last: ClusterSnapshot | None = None
        self.reads = 0

    def snapshot(self) -> ClusterSnapshot:
        stamps = fingerprint(self.inner.paths)  # before reading: a write during the read shows next time
        if self._last is not None and self._trusted and stamps == self._stamps:
            return self._last
        started = self._clock_ns()
        self._last = None
        snap = self.inner.snapshot()  # ClusterSourceUnavailable propagates, nothing cached
        self.reads += 1
        self._stamps, self._last = stamps, snap
        self._trusted = trusted(stamps, started, self._racy_ns)
        return snap


class KubeSource:
    """Informers on the API server; ``on_change`` is called (from a thread) on every change."""

    def __init__(
        self,
        make: Callable[[Callable[[ObjectRef], None]], KubeClusterSource],
        on_change: Callable[[], None],
    ) -> None:
        self._on_change = on_change
        self._lock = threading.Lock()
        self._generation = 0
        self.kube = make(lambda _ref: self._changed())

    def _changed(self) -> None:
        with self._lock:
            self._generation += 1
        self._on_change()

    def start(self) -> KubeSource:
        self.kube.start()

        def synced() -> None:
            # The last informer to list may have had nothing to report: wake the speaker anyway.
            if self.kube.wait_synced():
                self._changed()

        threading.Thread(target=synced, name="informers-synced", daemon=True).start()
        return self

    def stop(self) -> None:
        self.kube.stop()

    def snapshot(self) -> ClusterSnapshot:
        with self._lock:
            generation = self._generation  # read first: a change during the copy bumps it again
        snap = self.kube.snapshot()  # ClusterSourceUnavailable until every informer has listed
        return dataclasses.replace(snap, revision=f"kube:{generation}")


@dataclass
class ClusterAccess:
    source: ClusterSource
    events: EventSink
    pushes_changes: bool
    """True: the source calls ``on_change``, the speaker need not poll."""
    config_state: Callable[[Mapping[str, Any]], None] | None = None
    """Writes this speaker's ``ConfigurationState`` status; None without an API server."""
    close: Callable[[], None] = field(default=lambda: None)
    api_problem: Callable[[], str | None] = field(default=lambda: None)
    """Why the API server cannot be used now (``ApiHealth.reason``); None when it can, or without one."""
    status_objects: StatusObjectPublisher | None = None
    status_cleanup: StatusCleanup | None = None
    """Where this node's ``ServiceL2Status`` / ``ServiceBGPStatus`` go (none without an API server)."""


def open_cluster(options: SpeakerOptions, on_change: Callable[[], None]) -> ClusterAccess:
    """The cluster source the options name: a manifest directory, else the Kubernetes API."""
    if options.manifests is not None:
        inner = ManifestSource(
            [options.manifests], config_namespace=options.config_namespace, config_name=options.configmap
        )
        return ClusterAccess(StatCachedSource(inner), LogSink(), pushes_changes=False)
    # Imported here: the manifest source never loads the kubernetes client.
    from ironlb.kube.client import health_of, make_api_client
    from ironlb.kube.configurationstate import ConfigurationStateWriter
    from ironlb.kube.events import EventRecorder
    from ironlb.kube.source import KubeClusterSource
    from ironlb.kube.statuscleanup import StatusCleanup
    from ironlb.kube.statusobjects import StatusObjectPublisher

    try:
        api = make_api_client(options.kubeconfig, rbac_hint=RBAC_HINT, program="ironlb-speaker")
    except Exception as exc:  # the client's ConfigException: no kubeconfig, no in-cluster token
        raise ValueError(f"no Kubernetes credentials: {exc}") from exc
    # A wrong CA, a rejected token or a missing RBAC verb: logged once by the client's health
    # record, counted here; the informers keep retrying and the speaker keeps announcing.
    api.health.subscribe(lambda problem: metrics.K8S_CLIENT_ERRORS.labels(problem.cause).inc())
    state = ConfigurationStateWriter.for_speaker(api, options.config_namespace, options.node)
    source = KubeSource(
        lambda on: KubeClusterSource(
            api,
            config_namespace=options.config_namespace,
            config_name=options.configmap,
            on_change=on,
            config_resources=True,
            secrets=True,
        ),
        on_change,
    )
    recorder = EventRecorder(api, component="ironlb-speaker", host=options.node)
    status_objects = StatusObjectPublisher(
        api,
        options.node,
        on_write=lambda kind, result: metrics.STATUS_OBJECT_WRITES.labels(kind, result).inc(),
    )
    cleanup = StatusCleanup(
        api,
        options.node,
        on_delete=lambda kind, result: metrics.STATUS_OBJECT_CLEANUPS.labels(kind, result).inc(),
    )

    def close() -> None:
        source.stop()
        state.close(timeout=2.0)
        recorder.close(timeout=3.0)
        # This node announces nothing any more: its status objects go (within a deadline; what
        # an unreachable API server keeps is put right by the next start, or by the garbage
        # collector with the Service).
        status_objects.close(withdraw=True, timeout=3.0)
        cleanup.close()
        api.close()  # type: ignore[no-untyped-call]

    def publish(status: Mapping[str, Any]) -> None:
        node = source.kube.nodes.get(options.node) if source.kube.nodes is not None else None
        state.set_owner(node_owner(node))
        state.publish(status)

    health = health_of(api)
    source.start()
    status_objects.start()
    cleanup.start()
    return ClusterAccess(
        source,
        recorder,
        pushes_changes=True,
        config_state=publish,
        close=close,
        api_problem=health.reason if health is not None else lambda: None,
        status_objects=status_objects,
        status_cleanup=cleanup,
    )


def node_owner(node: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ownerReference to this speaker's Node (so its ConfigurationState goes with the Node)."""
    meta = (node or {}).get("metadata") or {}
    if not meta.get("uid") or not meta.get("name"):
        return None
    return {"apiVersion": "v1", "kind": "Node", "name": meta["name"], "uid": meta["uid"]}
