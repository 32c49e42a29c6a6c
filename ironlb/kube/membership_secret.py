"""The speakers' membership key: a Secret the controller creates once, when missing.

The speaker DaemonSet mounts the Secret ``ironlb-memberlist`` (key ``secretkey``) and
signs its membership traffic with it, so every speaker must see the same random key,
and nobody should have to make it by hand. As MetalLB's controller does for its
memberlist Secret, the leading controller creates it if it does not exist: a GET, and
on 404 a create with 64 random bytes. An existing Secret is never touched (rotating
the key under running speakers would split the membership group); a 409 on create
means another replica won the race, which is just as good. Temporary failures are
retried with the package's tenacity helper (``errors.call_with_retry``).

The body is built by a pure function; the randomness and the two calls live in
``ensure_membership_secret``.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from enum import Enum
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ironlb.kube.errors import call_with_retry
from ironlb.kube.rest import Rest

log = logging.getLogger(__name__)

DEFAULT_NAME = "ironlb-memberlist"
DEFAULT_KEY = "secretkey"
KEY_BYTES = 64


class Outcome(Enum):
    EXISTS = "exists"  # already there: left as it is
    CREATED = "created"  # created by this call
    RACED = "raced"  # created by someone else between our GET and our create (409)


def secret_body(namespace: str, name: str, key: str, value: bytes) -> dict[str, Any]:
    """The Secret to create: ``value`` base64-encoded under ``data[key]``."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": "ironlb",
                "app.kubernetes.io/component": "speaker",
                "app.kubernetes.io/managed-by": "ironlb-controller",
            },
        },
        "type": "Opaque",
        "data": {key: base64.b64encode(value).decode("ascii")},
    }


def ensure_membership_secret(
    api: client.ApiClient,
    namespace: str,
    name: str = DEFAULT_NAME,
    key: str = DEFAULT_KEY,
    *,
    attempts: int = 4,
) -> Outcome:
    """Create the membership Secret with a fresh random key unless it exists; never overwrite.

    Raises ``KubeError`` (``TemporaryKubeError`` after ``attempts`` tries, or a
    ``PermanentKubeError``) when the API cannot tell whether the Secret exists.
    """
    rest = Rest(api)

    def attempt() -> Outcome:
        try:
            resp = rest.call("read_namespaced_secret", namespace=namespace, name=name, timeout=30)
        except ApiException as exc:
            if exc.status != 404:
                raise
        else:
            if key not in (json.loads(resp.data).get("data") or {}):
                log.error(
                    "Secret %s/%s exists without key %r: the speakers cannot read their membership "
                    "key; not changing a Secret ironlb did not create",
                    namespace,
                    name,
                    key,
                )
            return Outcome.EXISTS
        body = secret_body(namespace, name, key, secrets.token_bytes(KEY_BYTES))
        try:
            rest.call("create_namespaced_secret", namespace=namespace, body=body, timeout=30).read()
        except ApiException as exc:
            if exc.status != 409:
                raise
            return Outcome.RACED
        return Outcome.CREATED

    outcome = call_with_retry(attempt, attempts=attempts)
    if outcome is Outcome.CREATED:
        log.info("created the speakers' membership Secret %s/%s (key %s)", namespace, name, key)
    elif outcome is Outcome.RACED:
        log.info("membership Secret %s/%s was created by another replica meanwhile", namespace, name)
    return outcome
