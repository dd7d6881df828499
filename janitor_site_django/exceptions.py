"""Exceptions raised by janitor-site-django at run time.

One tree, so ``except JanitorSiteError`` catches every failure of an API call; httpx and pydantic
exceptions never escape (they are the ``__cause__``)::

    JanitorSiteError
    ├── TransportError                 the request got no HTTP answer
    │   ├── ConnectError               connection refused, DNS, TLS
    │   └── Timeout                    a timeout or the call's overall deadline
    ├── APIError                       the service answered with an error (status, code, ...)
    │   ├── Redirected                 3xx (never followed)
    │   ├── BadRequest                 400 (and 405, 413, 415: a request the client got wrong)
    │   ├── Unauthorized               401
    │   ├── Forbidden                  403
    │   ├── NotFound                   404
    │   ├── Conflict                   409
    │   ├── ValidationFailed           422
    │   ├── RateLimited                429 (retry_after)
    │   ├── ServerError                500 and other 5xx
    │   ├── UpstreamError              502
    │   └── Unavailable                503, 504 (retry_after)
    ├── ResponseValidationError        the answer does not have the v1 shape
    │   └── ResponseTooLarge           longer than JANITOR_SITE_MAX_RESPONSE_BYTES
    └── UnsupportedByServer            a legacy (pre-v1) server cannot do this
        └── UnaddressableKey           a key with "/" that no v1 request can address (§2.1)

Configuration problems raise :class:`django.core.exceptions.ImproperlyConfigured`, which is not
part of this tree, so ``except JanitorSiteError`` never hides a misconfiguration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIError",
    "BadRequest",
    "ConnectError",
    "Conflict",
    "Forbidden",
    "JanitorSiteError",
    "NotFound",
    "RateLimited",
    "Redirected",
    "ResponseTooLarge",
    "ResponseValidationError",
    "ServerError",
    "Timeout",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "UnaddressableKey",
    "UnsupportedByServer",
    "UpstreamError",
    "ValidationFailed",
    "error_class_for",
]


class JanitorSiteError(Exception):
    """Base of every run-time failure of a Janitor site API call."""


class TransportError(JanitorSiteError):
    """The request got no HTTP answer."""


class ConnectError(TransportError):
    """The service could not be reached (connection refused, name resolution, TLS)."""


class Timeout(TransportError):
    """A timeout, or the overall deadline of the call, ran out."""


class APIError(JanitorSiteError):
    """The service answered with a v1 error envelope (or a legacy equivalent)."""

    def __init__(
        self,
        status: int,
        code: str,
        reason: str,
        *,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.reason = reason
        self.details: dict[str, Any] = dict(details or {})
        self.request_id = request_id
        self.method = method
        self.path = path
        #: Seconds the service asked to wait (``Retry-After`` on 429 and 503), if it said.
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" on {self.method} {self.path}" if self.path else ""
        request = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.status} {self.code}{where}: {self.reason}{request}"


class Redirected(APIError):
    """3xx: the service sent the request elsewhere, which the client never follows (a wrong
    ``JANITOR_SITE_URL``, or a proxy in front of the service); ``details["location"]``."""


class BadRequest(APIError):
    """400 ``invalid_parameter`` / ``invalid_json``, and 405, 413, 415."""


class Unauthorized(APIError):
    """401: no credential, or an invalid or expired token (``invalid_token``)."""


class Forbidden(APIError):
    """403: authenticated without the role the endpoint needs (``details.required_role``)."""


class NotFound(APIError):
    """404: unknown resource, route, template, or a run without a diff."""


class Conflict(APIError):
    """409: the resource's state forbids the action (e.g. ``cannot_reschedule_success``)."""


class ValidationFailed(APIError):
    """422: a well-formed body the service rejected, or a template that failed."""


class RateLimited(APIError):
    """429: too many requests."""


class ServerError(APIError):
    """500 and unexpected 5xx answers."""


class UpstreamError(APIError):
    """502: a service the site depends on answered badly (``details.service``)."""


class Unavailable(APIError):
    """503 / 504: the site or a service it depends on is down, or maintenance."""


class ResponseValidationError(JanitorSiteError):
    """The answer is not of the v1 shape: names the endpoint and the first failing field."""

    def __init__(self, method: str, path: str, field: str, message: str) -> None:
        self.method = method
        self.path = path
        self.field = field
        super().__init__(f"{method} {path}: unexpected response at {field!r}: {message}")


class ResponseTooLarge(ResponseValidationError):
    """The answer is longer than ``JANITOR_SITE_MAX_RESPONSE_BYTES`` (counted decoded, so a
    compression bomb is caught as it inflates); what was read is dropped."""

    def __init__(self, method: str, path: str, limit: int) -> None:
        self.method = method
        self.path = path
        self.field = ""
        self.limit = limit
        JanitorSiteError.__init__(
            self,
            f"{method} {path}: the answer is longer than {limit} bytes, the limit "
            "JANITOR_SITE_MAX_RESPONSE_BYTES sets",
        )


class UnsupportedByServer(JanitorSiteError):
    """A legacy (pre-v1) server cannot do this reliably (contract §8)."""


class UnaddressableKey(UnsupportedByServer):
    """A key containing ``/`` that v1 cannot address: the call has no list form (§2.1)."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: BadRequest,
    409: Conflict,
    413: BadRequest,
    415: BadRequest,
    422: ValidationFailed,
    429: RateLimited,
    500: ServerError,
    502: UpstreamError,
    503: Unavailable,
    504: Unavailable,
}


def error_class_for(status: int) -> type[APIError]:
    """The exception class of an HTTP error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 300 <= status < 400:
        return Redirected
    return ServerError if status >= 500 else BadRequest
