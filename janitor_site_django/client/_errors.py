"""Error answers → exceptions, reading v1 error envelopes and the legacy ones alike (§2.3, §8)."""

from __future__ import annotations

import json
import re
from typing import Any

import pydantic

from .. import exceptions, schemas
from ._wire import Operation, RawResponse

_UPPER_CODE = re.compile(r"[A-Z][A-Z0-9_]*")
#: The code of an error answer without one (empty or legacy bodies, §8 #7, #13).
_STATUS_CODES = {
    401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited",
    502: "upstream_error", 503: "unavailable",
}  # fmt: skip


def error_fields(body: Any) -> tuple[str, str, dict[str, Any]]:
    """Code, reason and details of an error body, convention B swapped back (§8 #2)."""
    if not isinstance(body, dict):
        return "", "", {}
    code = body["error"] if isinstance(body.get("error"), str) else ""
    reason = body["reason"] if isinstance(body.get("reason"), str) else ""
    details = body["details"] if isinstance(body.get("details"), dict) else {}
    if _UPPER_CODE.fullmatch(reason):
        code, reason = reason.lower(), code
    return code, reason, details


def api_error(op: Operation[Any], status: int, body: Any, raw: RawResponse) -> exceptions.APIError:
    """The exception for an error answer, reading v1 and legacy envelopes alike."""
    code, reason, details = error_fields(body)
    if 300 <= status < 400:
        location = raw.headers.get("location")
        code, details = "redirect", {"location": location}
        reason = f"redirected to {location!r}, which the client does not follow"
    if not code:
        code = _STATUS_CODES.get(status, "invalid_parameter" if status < 500 else "internal_error")
    if not reason:
        text = raw.content[:200].decode("utf-8", "replace").strip()
        reason = text if raw.media_type.startswith("text/") and text else f"HTTP {status}"
    error_class = exceptions.error_class_for(status)
    return error_class(
        status,
        code,
        reason,
        details=details,
        request_id=raw.request_id,
        method=op.method,
        path=op.path,
        retry_after=raw.retry_after,
    )


def loads(op: Operation[Any], raw: RawResponse) -> Any:
    """The JSON body; anything else is a :class:`~exceptions.ResponseValidationError`."""
    try:
        return json.loads(raw.content)
    except ValueError as exc:
        raise exceptions.ResponseValidationError(
            op.method, op.path, "body", f"not JSON: {exc}"
        ) from exc


def loads_quietly(raw: RawResponse) -> Any:
    """The JSON body, or None when there is none."""
    try:
        return json.loads(raw.content) if raw.content else None
    except ValueError:
        return None


def check_status(op: Operation[Any], raw: RawResponse) -> None:
    """Raise the mapped exception for an error status (a redirect is one)."""
    if raw.status >= 300:
        body = loads_quietly(raw) if raw.media_type == "application/json" else None
        raise api_error(op, raw.status, body, raw)


def invalid(
    op: Operation[Any], exc: pydantic.ValidationError
) -> exceptions.ResponseValidationError:
    """The exception for an answer that does not have the expected shape."""
    error = exc.errors()[0]
    return exceptions.ResponseValidationError(
        op.method, op.path, schemas.error_field(exc), error.get("msg", "invalid")
    )
