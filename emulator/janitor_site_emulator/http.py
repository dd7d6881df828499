"""v1 responses and request bodies: envelopes, ETag / 304, error bodies, JSON POST bodies."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError, validation_error

JSON_TYPE = "application/json"
MAX_BODY = 1024 * 1024
MAX_RENDER_BODY = 10 * 1024 * 1024
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, non-ASCII unescaped, keys in insertion order."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def timestamp(value: dt.datetime | None) -> str | None:
    """§2.8: ``YYYY-MM-DDTHH:MM:SSZ``, with exactly six fraction digits when non-zero."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison against an ``If-None-Match`` list (or ``*``)."""
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(
        candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(",")
    )


def cacheable(
    request: Request,
    body: bytes,
    media_type: str = JSON_TYPE,
    *,
    private: bool = False,
    version: bytes = b"",
) -> Response:
    """A 200 to a GET with ``ETag`` and ``Cache-Control``, or 304 when ``If-None-Match`` matches.

    The ETag hashes the body and ``version`` (what else the representation depends on)."""
    etag = etag_of(body + version)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache" if private else "no-cache"}
    if private:
        headers["Vary"] = "Authorization, Cookie"
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, headers={**headers, "Content-Type": media_type})


def data_response(request: Request, data: Any, *, private: bool = False) -> Response:
    return cacheable(request, dumps({"data": data}), private=private)


def list_response(
    request: Request,
    items: Sequence[Any],
    total: int,
    offset: int,
    limit: int,
    *,
    version: bytes = b"",
) -> Response:
    pagination = {
        "total": total,
        "offset": offset,
        "limit": limit,
        "has_more": offset + len(items) < total,
    }
    body = dumps({"data": list(items), "pagination": pagination})
    return cacheable(request, body, version=version)


def post_response(data: Any, status: int = 200) -> Response:
    """A POST answer: enveloped, no ``ETag``."""
    return Response(dumps({"data": data}), status_code=status, media_type=JSON_TYPE)


def error_response(error: ApiError) -> Response:
    return Response(
        dumps(error.envelope()),
        status_code=error.status,
        media_type=JSON_TYPE,
        headers=error.headers,
    )


async def json_body(request: Request, limit: int = MAX_BODY) -> dict[str, Any]:
    """The JSON object body of a POST, checked in the contract's order: 413, 415, 400, 422."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise _too_large(limit)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != JSON_TYPE:
        raise ApiError("unsupported_media_type", "POST bodies must be sent as application/json")
    if not chunks:
        return {}
    try:
        body = _parse_json(bytes(chunks).decode("utf-8"))
    except RecursionError as exc:
        raise ApiError(
            "invalid_json", "The request body is not valid JSON", {"message": "nested too deep"}
        ) from exc
    except ValueError as exc:  # UnicodeError included
        raise ApiError(
            "invalid_json", "The request body is not valid JSON", {"message": str(exc)}
        ) from exc
    if not isinstance(body, dict):
        raise validation_error("body", body, "a JSON object")
    return body


def _parse_json(text: str) -> Any:
    """Strict JSON: no ``NaN``/``Infinity``, finite numbers, no lone surrogates (not UTF-8)."""
    body = json.loads(text, parse_constant=_not_json, parse_float=_finite)
    if _SURROGATE_ESCAPE.search(text):
        dumps(body)  # raises UnicodeEncodeError on a lone surrogate
    return body


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"number {text} is out of range")
    return number


def _too_large(limit: int) -> ApiError:
    return ApiError(
        "payload_too_large", f"The request body exceeds {limit} bytes", {"limit": limit}
    )


def optional_field(
    body: Mapping[str, Any], field: str, kind: type | tuple[type, ...], expected: str
) -> Any:
    """A body key that may be absent; present, it must be of ``kind`` (bool is not an int)."""
    if field not in body:
        return None
    value = body[field]
    is_bool = isinstance(value, bool)
    wants_bool = kind is bool or (isinstance(kind, tuple) and bool in kind)
    if not isinstance(value, kind) or (is_bool and not wants_bool):
        raise validation_error(field, value, expected)
    if isinstance(value, str) and "\x00" in value:  # no database can hold it (§2.4)
        raise validation_error(field, value, "no NUL character")
    return value
