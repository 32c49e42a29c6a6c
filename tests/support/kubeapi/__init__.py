"""An HTTP Kubernetes API-server double, for what a real kube-apiserver cannot do on demand.

The real API server (``tests/support/controlplane.py``) is the reference for every test;
this double stays for the faults a real server cannot be made to produce at a chosen
moment: a request held unanswered (``hang``/``unhang``: a hung call, then served late or
dropped), connections reset mid-stream (``drop_watches``), 503 answers or refused
connections (``begin_outage``). Around those it serves the little the programs need to
run against it (core/v1 services with status, configmaps, secrets, nodes, namespaces,
events; discovery.k8s.io/v1 endpointslices; coordination.k8s.io/v1 leases: list with
selectors and paging, watch from a resourceVersion with bookmarks, create, replace with
409 on a stale resourceVersion, patch, delete), and logs every request with the bearer
token that made it (``requests()``), so a test tells two clients apart.

Hand-written on the stdlib ``http.server``: no library offers hung or dropped calls over
the real wire protocol. The official ``kubernetes`` client talks to it unchanged through a
kubeconfig (``write_kubeconfig``). As a process (``KubeApiProcess``, ``python -m
tests.support.kubeapi``) it serves ``benchmarks/controller.py``.

Known differences from kube-apiserver: no authentication or authorization (a token only
names the user), no TLS, no admission, no garbage collection or managedFields; bookmarks
every ``bookmark_interval`` seconds; continue pages show current objects, not a snapshot;
strategic merge patch knows only a few list merge keys; a bounded history answers older
resourceVersions with 410.
"""

from tests.support.kubeapi.process import ControlClient, KubeApiProcess
from tests.support.kubeapi.resources import RESOURCES, ResourceType, by_plural
from tests.support.kubeapi.server import KubeApiServer, RequestRecord
from tests.support.kubeapi.store import Store

__all__ = [
    "RESOURCES",
    "ControlClient",
    "KubeApiProcess",
    "KubeApiServer",
    "RequestRecord",
    "ResourceType",
    "Store",
    "by_plural",
]
