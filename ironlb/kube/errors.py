"""Two kinds of API failure, told apart by whether retrying can help.

The client raises ``ApiException`` for HTTP errors and urllib3/socket errors for
transport failures; callers should only need to know "retry later (with backoff)"
versus "retrying will not help" (kopf's temporary/permanent split), plus "the
object is gone", which ends the work for a key without being an error.

401 and 403 are temporary: a rotated token or a fixed RBAC rule makes the same request
succeed later, so the work is retried with backoff rather than dropped (client-go's
informers and MetalLB do the same). ``retry_log_level`` lets the retry loops log those
attempts, and those during an outage, quietly: ``ironlb.kube.health`` already says once,
clearly, what is wrong.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import tenacity
import urllib3
from kubernetes.client.exceptions import ApiException

from ironlb.kube.access import classify, outage

T = TypeVar("T")

_RETRYABLE = {401, 403, 409, 429, 500, 502, 503, 504}


class KubeError(Exception):
    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class TemporaryKubeError(KubeError):
    """Retry later: conflict, throttling, server or transport trouble, rejected credentials,
    missing RBAC grant."""


class PermanentKubeError(KubeError):
    """Retrying the same request cannot succeed (invalid, bad request)."""


class ObjectGone(PermanentKubeError):
    """The object no longer exists (404)."""


def _reason_and_message(exc: ApiException) -> tuple[str, str]:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    return str(body.get("reason") or exc.reason or ""), str(body.get("message") or exc.reason or "")


def translate(exc: BaseException) -> KubeError:
    if isinstance(exc, KubeError):
        return exc
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        reason, message = _reason_and_message(exc)
        text = f"{status} {reason}: {message}"
        if status == 404:
            return ObjectGone(text, status=status, reason=reason)
        if status in _RETRYABLE or status == 0:
            return TemporaryKubeError(text, status=status, reason=reason)
        return PermanentKubeError(text, status=status, reason=reason)
    return TemporaryKubeError(f"transport: {type(exc).__name__}: {exc}")


def retry_log_level(exc: BaseException, level: int = logging.WARNING) -> int:
    """The level for a retry loop's line about ``exc``: DEBUG when it is an access problem
    (wrong CA, 401, 403) or an outage (unreachable, 502/503/504), which the client's
    ``ApiHealth`` reports once for everyone (lost, still lost once a minute, back)."""
    return logging.DEBUG if classify(exc) is not None or outage(exc) is not None else level


TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)
CALL_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError)


@contextmanager
def api_errors() -> Iterator[None]:
    """Re-raise client and transport errors as ``KubeError``."""
    try:
        yield
    except CALL_ERRORS as exc:
        raise translate(exc) from exc


def call_with_retry(
    fn: Callable[[], T], *, attempts: int = 4, initial: float = 0.1, maximum: float = 2.0
) -> T:
    """Call ``fn``, retrying temporary failures with backoff (for calls not tied to a queue key)."""

    def wrapped() -> T:
        with api_errors():
            return fn()

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TemporaryKubeError),
        wait=tenacity.wait_exponential(multiplier=initial, max=maximum),
        stop=tenacity.stop_after_attempt(attempts),
        reraise=True,
    )
    return retrying(wrapped)
