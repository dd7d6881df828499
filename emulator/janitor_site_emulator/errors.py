"""The v1 error envelope as an exception: raise :class:`ApiError` anywhere in a handler."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

#: Seconds suggested in ``Retry-After`` for 429 and 503 answers.
RETRY_AFTER_SECONDS = 5

#: Every v1 error code and its HTTP status (§2.3): the status follows from the code.
STATUS_BY_CODE: Mapping[str, int] = types.MappingProxyType(
    {
        "invalid_parameter": 400,
        "invalid_json": 400,
        "unauthorized": 401,
        "invalid_token": 401,
        "forbidden": 403,
        "not_found": 404,
        "diff_unavailable": 404,
        "template_not_found": 404,
        "method_not_allowed": 405,
        "cannot_reschedule_success": 409,
        "no_command": 409,
        "no_run_found": 409,
        "no_successful_run": 409,
        "payload_too_large": 413,
        "unsupported_media_type": 415,
        "validation_error": 422,
        "template_syntax_error": 422,
        "template_render_error": 422,
        "rate_limited": 429,
        "internal_error": 500,
        "upstream_error": 502,
        "unavailable": 503,
    }
)


class ApiError(Exception):
    """A failure answered with the v1 envelope ``{"error", "reason", "details"}``; its status
    is the code's (:data:`STATUS_BY_CODE`)."""

    def __init__(
        self,
        code: str,
        reason: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = STATUS_BY_CODE[code]
        self.code = code
        self.reason = reason
        self.details = dict(details) if details is not None else None
        self.headers = dict(headers or {})

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        return body


def invalid_parameter(parameter: str, value: str | list[str] | None, expected: str) -> ApiError:
    shown = value if isinstance(value, str) else ", ".join(value or [])
    return ApiError(
        "invalid_parameter",
        f"Invalid value {shown!r} for parameter {parameter!r}: expected {expected}",
        {"parameter": parameter, "value": value, "expected": expected},
    )


def not_found(resource: str, **keys: str) -> ApiError:
    described = ", ".join(f"{key} {value!r}" for key, value in keys.items())
    return ApiError("not_found", f"No {resource} with {described}", {"resource": resource, **keys})


def unavailable(service: str, reason: str | None = None) -> ApiError:
    return ApiError(
        "unavailable",
        reason or f"The {service} service is not available",
        {"service": service},
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def upstream_error(service: str, status: int | None, reason: str | None = None) -> ApiError:
    return ApiError(
        "upstream_error",
        reason or f"The {service} service answered with an error",
        {"service": service, "status": status},
    )


def validation_error(field: str, value: Any, expected: str) -> ApiError:
    return ApiError(
        "validation_error",
        f"Invalid body field {field!r}: expected {expected}",
        {"field": field, "value": value, "expected": expected},
    )


def unauthorized() -> ApiError:
    return ApiError(
        "unauthorized",
        "Authentication required",
        headers={"WWW-Authenticate": "Bearer"},
    )


def invalid_token(reason: str = "The bearer token is invalid or expired") -> ApiError:
    return ApiError(
        "invalid_token",
        reason,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def forbidden(required_role: str) -> ApiError:
    return ApiError(
        "forbidden",
        f"This action needs the {required_role} role",
        {"required_role": required_role},
    )
