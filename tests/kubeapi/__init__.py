"""An HTTP Kubernetes API-server double for tests, speaking the real wire protocol.

Hand-written (stdlib ``http.server``) because kmock lacks resourceVersions, 410, 409,
the status subresource and selectors. The official ``kubernetes`` client talks to it
unchanged through a kubeconfig.

Use:
- in-process: ``with KubeApiServer() as api: api.write_kubeconfig(path)`` (a thread on
  127.0.0.1, random port); ``api.store`` creates/reads objects without HTTP;
- as a process: ``with KubeApiProcess(tmp_path) as p:`` runs ``python -m tests.kubeapi``,
  writes ``p.kubeconfig``; ``p.control`` drives the hooks below over HTTP.

Served: core/v1 services (+status), configmaps, secrets, nodes (+status), namespaces,
pods, endpoints, events, serviceaccounts; events.k8s.io/v1 events;
discovery.k8s.io/v1 endpointslices; coordination.k8s.io/v1 leases. List (label and
field selectors, limit/continue), watch (ADDED/MODIFIED/DELETED from a
resourceVersion, BOOKMARK, timeoutSeconds), get, create (generateName), replace (409
on a stale resourceVersion), patch (merge, strategic, JSON patch), delete
(preconditions, finalizers), deletecollection. Server-side behaviour from
/work/shared/K8S-API.md: see ``semantics``.

Fault injection: ``drop_watches()`` (cut streams mid-way), ``expire_watches()``
(ERROR 410 in every open stream), ``compact()`` (forget history: older
resourceVersions get 410), a bounded history (``history_limit``),
``begin_outage("refuse"|"503")``/``end_outage()``/``outage(seconds)``, the request log
(``requests()``: RBAC verb, group, resource, subresource, namespace, name, code, user,
body, time; a list/watch on ``metadata.name=<n>`` is logged with name <n>, as RBAC
``resourceNames`` sees it) and bearer tokens with per-(verb, resource) grants
(``tokens=``: 401/403), ``hang(verb, resource, user=, name=)``/``unhang(drop=)`` (hold
matching requests unanswered, then serve them late or drop them unapplied;
``wait_hung()`` tells when a call is being held).
``open_watches()`` tells when a client's watch is in place.

Known differences from kube-apiserver: a watch from a too-old resourceVersion gets an
ERROR event by default (``watch_gone="http"`` answers HTTP 410 instead); bookmarks
come every ``bookmark_interval`` seconds (real: about a minute); continue pages show
current objects, not a snapshot; ``resourceVersionMatch=Exact`` works only for the
current version; strategic merge patch knows only a few list merge keys; no
server-side apply (415), admission, namespace existence checks, garbage collection
or managedFields; the two Event APIs are stored separately.
"""

from .process import ControlClient, KubeApiProcess
from .resources import RESOURCES, ResourceType, by_plural
from .server import KubeApiServer, RequestRecord
from .store import Store

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
