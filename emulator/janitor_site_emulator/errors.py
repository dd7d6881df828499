"""The v1 error envelope as an exception: raise :class:`ApiError` anywhere in a handler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Seconds suggested in ``Retry-After`` for 429 and 503 answers.
RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    """A failure answered with the v1 envelope ``{"error", "reason", "details"}``."""

    def __init__(
        self,
        status: int,
        code: str,
        reason: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
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
        400,
        "invalid_parameter",
        f"Invalid value {shown!r} for parameter {parameter!r}: expected {expected}",
        {"parameter": parameter, "value": value, "expected": expected},
    )


def not_found(resource: str, **keys: str) -> ApiError:
    described = ", ".join(f"{key} {value!r}" for key, value in keys.items())
    return ApiError(
        404, "not_found", f"No {resource} with {described}", {"resource": resource, **keys}
    )


def unavailable(service: str, reason: str | None = None) -> ApiError:
    return ApiError(
        503,
        "unavailable",
        reason or f"The {service} service is not available",
        {"service": service},
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def upstream_error(service: str, status: int | None, reason: str | None = None) -> ApiError:
    return ApiError(
        502,
        "upstream_error",
        reason or f"The {service} service answered with an error",
        {"service": service, "status": status},
    )


def validation_error(field: str, value: Any, expected: str) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        f"Invalid body field {field!r}: expected {expected}",
        {"field": field, "value": value, "expected": expected},
    )


def unauthorized() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "Authentication required",
        headers={"WWW-Authenticate": "Bearer"},
    )


def invalid_token(reason: str = "The bearer token is invalid or expired") -> ApiError:
    return ApiError(
        401,
        "invalid_token",
        reason,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def forbidden(required_role: str) -> ApiError:
    return ApiError(
        403,
        "forbidden",
        f"This action needs the {required_role} role",
        {"required_role": required_role},
    )
