"""API errors of the double, rendered as Kubernetes ``Status`` objects.

The real client turns any non-2xx answer into ``ApiException(status=...)`` and our
adapter reads ``reason`` from the body, so the body has the real shape.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        group: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details: dict[str, Any] = {}
        if name is not None:
            self.details["name"] = name
        if kind is not None:
            self.details["kind"] = kind
        if group:
            self.details["group"] = group

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def not_found(plural: str, group: str, name: str) -> ApiError:
    gr = f"{plural}.{group}" if group else plural
    return ApiError(404, "NotFound", f'{gr} "{name}" not found', name=name, kind=plural, group=group)


def already_exists(plural: str, group: str, name: str) -> ApiError:
    gr = f"{plural}.{group}" if group else plural
    return ApiError(
        409, "AlreadyExists", f'{gr} "{name}" already exists', name=name, kind=plural, group=group
    )


def conflict(plural: str, group: str, name: str) -> ApiError:
    gr = f"{plural}.{group}" if group else plural
    msg = (
        f'Operation cannot be fulfilled on {gr} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return ApiError(409, "Conflict", msg, name=name, kind=plural, group=group)


def invalid(kind: str, name: str, errors: list[str]) -> ApiError:
    msg = f'{kind} "{name}" is invalid: ' + ", ".join(errors)
    return ApiError(422, "Invalid", msg, name=name, kind=kind)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def gone(message: str = "too old resource version") -> ApiError:
    return ApiError(410, "Expired", message)
