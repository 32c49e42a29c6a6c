"""Building an ``ApiClient`` from a kubeconfig or in-cluster credentials.

Every ``ApiClient`` gets its own ``Configuration`` (never the process-wide default),
so two clients in one process (tests, or a controller talking with two identities)
cannot leak credentials into each other. The trap from K8S-API.md: a copied
``Configuration`` keeps the kubeconfig's ``refresh_api_key_hook``, which writes the
kubeconfig's token back before every request; ``client_with_token`` clears it.

Every client is an ``ObservedApiClient``: the one method every request passes through
(``call_api``) reports each answer and failure to the client's ``ApiHealth``, so a wrong
CA, a rejected token or a missing RBAC verb is logged once with what to do, counted, and
shown by ``/readyz``, and an API server that cannot be reached is one line when lost and
one when back, whichever informer, elector or writer hit it. A subclass, not a patch of
the client: the client's own behaviour is unchanged.

It names its program: ``User-Agent: ironlb-controller/0.1.0 (linux/x86_64) kubernetes-python/37.x``
in the API server's audit log, and ``field_manager(api)`` (``ironlb-controller``) is what every
write passes as ``fieldManager``, so ``managedFields`` says who wrote what.

urllib3 does not retry here (``Retry(0)``): every caller already retries with backoff
(informers, work queue, elector, tenacity), and urllib3's own three quick retries per
request only tripled the load on a struggling server and logged a "Retrying" warning each.
"""

from __future__ import annotations

import copy
import importlib.metadata
import logging
import os
import platform
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config import incluster_config

from ironlb.kube.access import UNAVAILABLE, ClientIdentity, request_info, service_account_of_token
from ironlb.kube.errors import CALL_ERRORS
from ironlb.kube.health import ApiHealth

log = logging.getLogger(__name__)

POOL_SIZE = 32  # informers hold one connection each for their watch; writers need the rest
WRITE_TIMEOUT = 5.0
"""Seconds a status patch or Event write may take. Without a bound, a request the API server
never answers holds its worker forever (a hung write). 5 s is the default Lease's margin
(duration 15 s - renew deadline 10 s); urllib3 retries nothing here, so one call lasts at
most this long, then the work queue retries it with backoff."""

DEFAULT_RBAC_HINT = "config/default (rbac-controller.yaml, rbac-speaker.yaml)"
DEFAULT_PROGRAM = "ironlb"


def user_agent(program: str) -> str:
    """``ironlb-controller/0.1.0 (linux/x86_64) kubernetes-python/37.0.2``, as client-go spells its own."""
    from ironlb import __version__

    try:
        client_version = importlib.metadata.version("kubernetes")
    except importlib.metadata.PackageNotFoundError:
        client_version = "unknown"
    system = f"{platform.system().lower()}/{platform.machine().lower()}"
    return f"{program}/{__version__} ({system}) kubernetes-python/{client_version}"


class ObservedApiClient(client.ApiClient):
    """An ``ApiClient`` that reports every request's outcome to ``health`` and names ``program``."""

    def __init__(
        self, configuration: Any, identity: ClientIdentity, *, program: str = DEFAULT_PROGRAM
    ) -> None:
        super().__init__(configuration=configuration)
        self.health = ApiHealth(identity)
        self.program = program
        self.user_agent = user_agent(program)

    def call_api(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        request = request_info(method, url)
        try:
            resp = super().call_api(method, url, *args, **kwargs)
        except CALL_ERRORS as exc:
            self.health.failed(request, exc)
            raise
        self.health.answered(request, int(resp.status))  # a 403 still proves TLS and the token work
        if resp.status in (401, 403) or resp.status in UNAVAILABLE:
            resp.read()  # type: ignore[no-untyped-call]  # cached: the client raises from these bytes
            self.health.failed(request, ApiException(http_resp=resp))
        return resp


def field_manager(api_client: Any) -> str:
    """The ``fieldManager`` of every write made through ``api_client``: its program's name."""
    return str(getattr(api_client, "program", DEFAULT_PROGRAM))


def health_of(api_client: Any) -> ApiHealth | None:
    """The ``ApiHealth`` of a client made here (None for any other client)."""
    return api_client.health if isinstance(api_client, ObservedApiClient) else None


def _ca_file(path: str | None) -> str:
    return f"CA file {path}" if path else "system trust store"


def _kubeconfig_identity(cfg: Any, path: str | None, context: str | None) -> tuple[str, str]:
    """(credential source, CA description) from the kubeconfig, best effort."""
    shown = path or "~/.kube/config"
    user = cluster = None
    ca = _ca_file(cfg.ssl_ca_cert)
    try:
        contexts, current = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
        chosen = next((c for c in contexts if c.get("name") == context), current) if context else current
        user = (chosen.get("context") or {}).get("user")
        cluster = (chosen.get("context") or {}).get("cluster")
        files = (path or os.path.expanduser("~/.kube/config")).split(os.pathsep)
        for f in files:
            doc = yaml.safe_load(Path(f).read_text()) or {}
            for c in doc.get("clusters") or []:
                if c.get("name") == cluster and "certificate-authority-data" in (c.get("cluster") or {}):
                    ca = f"CA in certificate-authority-data of cluster {cluster!r} in {f}"
    except (OSError, ValueError, TypeError, AttributeError, yaml.YAMLError, config.ConfigException) as exc:
        log.debug("kubeconfig %s: could not describe its user and CA: %s", shown, exc)
    credentials = f"kubeconfig {shown}" + (f" (user {user!r})" if user else "")
    return credentials, ca


class CredentialsError(ValueError):
    """No client can be made: the kubeconfig is missing or broken, or the in-cluster settings are."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"cannot use {where}: {' '.join(reason.split())}")  # one line (YAML errors span 3)
        self.where = where


def make_api_client(
    kubeconfig: str | None = None,
    *,
    context: str | None = None,
    rbac_hint: str = DEFAULT_RBAC_HINT,
    program: str = DEFAULT_PROGRAM,
) -> ObservedApiClient:
    """Kubeconfig if given (or ``$KUBECONFIG``), else in-cluster credentials, else ``~/.kube/config``.

    ``rbac_hint`` is where a user finds the RBAC rules to fix when the server answers 403;
    ``program`` names the writer (User-Agent, field manager).
    """
    cfg = client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG")
    in_cluster = path is None and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    try:
        if in_cluster:
            # In-cluster: the hook re-reads the projected service-account token as it rotates.
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=path, context=context, client_configuration=cfg, persist_config=False
            )
    except (config.ConfigException, yaml.YAMLError, OSError, ValueError, TypeError, AttributeError) as exc:
        where = (
            "the in-cluster ServiceAccount" if in_cluster else f"the kubeconfig {path or '~/.kube/config'}"
        )
        raise CredentialsError(where, str(exc) or type(exc).__name__) from None
    if in_cluster:
        log.info("using in-cluster credentials for %s", cfg.host)
        token_file = incluster_config.SERVICE_TOKEN_FILENAME
        try:
            sa = service_account_of_token(Path(token_file).read_text())
        except OSError:
            sa = None
        identity = ClientIdentity(
            cfg.host,
            ca=_ca_file(cfg.ssl_ca_cert),
            credentials=f"the ServiceAccount token {token_file}",
            service_account=sa,
            in_cluster=True,
            rbac_hint=rbac_hint,
        )
    else:
        log.info("using kubeconfig %s for %s", path or "~/.kube/config", cfg.host)
        credentials, ca = _kubeconfig_identity(cfg, path, context)
        sa = None
        keys = cfg.api_key or {}
        token = str(keys.get("BearerToken") or keys.get("authorization") or "")
        if token:
            sa = service_account_of_token(token.split(" ", 1)[-1])
        identity = ClientIdentity(
            cfg.host, ca=ca, credentials=credentials, service_account=sa, rbac_hint=rbac_hint
        )
    cfg.connection_pool_maxsize = POOL_SIZE
    cfg.retries = urllib3.util.Retry(total=0, redirect=0)  # the callers retry, with backoff
    return ObservedApiClient(cfg, identity, program=program)


def client_with_token(base: client.ApiClient, token: str) -> ObservedApiClient:
    """A client for the same server as ``base`` that authenticates with ``token``."""
    cfg = copy.deepcopy(base.configuration)
    cfg.refresh_api_key_hook = None  # else the kubeconfig's token comes back on every request
    cfg.api_key = {"BearerToken": f"Bearer {token}"}
    cfg.api_key_prefix = {}
    old = health_of(base)
    identity = ClientIdentity(
        cfg.host,
        ca=old.identity.ca if old else _ca_file(cfg.ssl_ca_cert),
        credentials="a token given to client_with_token",
        service_account=service_account_of_token(token),
        in_cluster=old.identity.in_cluster if old else False,
        rbac_hint=old.identity.rbac_hint if old else DEFAULT_RBAC_HINT,
    )
    return ObservedApiClient(cfg, identity, program=field_manager(base))
