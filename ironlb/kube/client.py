"""Building an ``ApiClient`` from a kubeconfig or in-cluster credentials.

Every ``ApiClient`` gets its own ``Configuration`` (never the process-wide default),
so two clients in one process (tests, or a controller talking with two identities)
cannot leak credentials into each other. The trap from K8S-API.md: a copied
``Configuration`` keeps the kubeconfig's ``refresh_api_key_hook``, which writes the
kubeconfig's token back before every request; ``client_with_token`` clears it.
"""

from __future__ import annotations

import copy
import logging
import os

from kubernetes import client, config

log = logging.getLogger(__name__)

POOL_SIZE = 32  # informers hold one connection each for their watch; writers need the rest
WRITE_TIMEOUT = 5.0
"""Seconds a status patch or Event write may take. Without a bound, a request the API server
never answers holds its worker forever (a hung write). 5 s is the default Lease's margin
(duration 15 s - renew deadline 10 s); urllib3 does not retry a timed-out PATCH or POST, so
one call lasts at most this long, then the work queue retries it with backoff."""


def make_api_client(kubeconfig: str | None = None, *, context: str | None = None) -> client.ApiClient:
    """Kubeconfig if given (or ``$KUBECONFIG``), else in-cluster credentials, else ``~/.kube/config``."""
    cfg = client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        # In-cluster: the hook re-reads the projected service-account token as it rotates.
        config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        log.info("using in-cluster credentials for %s", cfg.host)
    else:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, context=context, client_configuration=cfg, persist_config=False
        )
        log.info("using kubeconfig %s for %s", path or "~/.kube/config", cfg.host)
    cfg.connection_pool_maxsize = POOL_SIZE
    return client.ApiClient(configuration=cfg)


def client_with_token(base: client.ApiClient, token: str) -> client.ApiClient:
    """A client for the same server as ``base`` that authenticates with ``token``."""
    cfg = copy.deepcopy(base.configuration)
    cfg.refresh_api_key_hook = None  # else the kubeconfig's token comes back on every request
    cfg.api_key = {"BearerToken": f"Bearer {token}"}
    cfg.api_key_prefix = {}
    return client.ApiClient(configuration=cfg)
