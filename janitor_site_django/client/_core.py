"""The I/O-free heart of the client: operations, response parsing, error mapping, retry flow.

:class:`SiteClient` and :class:`AsyncSiteClient` only move bytes; everything they decide comes
from here, so both behave identically.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

import pydantic

from .. import exceptions, schemas

T = TypeVar("T")

#: Statuses worth another try for an idempotent request.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
#: Longest wait honoured from a ``Retry-After`` header, in seconds.
MAX_RETRY_AFTER = 30.0
#: First backoff step, in seconds (doubled per attempt, with jitter).
BACKOFF = 0.2

#: v1 error codes and their statuses (§2.3), to map errors that arrive with HTTP 200 (§8 #1).
CODE_STATUSES = {
    "invalid_parameter": 400, "invalid_json": 400, "unauthorized": 401, "invalid_token": 401,
    "forbidden": 403, "not_found": 404, "diff_unavailable": 404, "template_not_found": 404,
    "method_not_allowed": 405, "cannot_reschedule_success": 409, "no_command": 409,
    "no_run_found": 409, "no_successful_run": 409, "payload_too_large": 413,
    "unsupported_media_type": 415, "validation_error": 422, "template_syntax_error": 422,
    "template_render_error": 422, "rate_limited": 429, "internal_error": 500,
    "upstream_error": 502, "unavailable": 503,
}  # fmt: skip
_UPPER_CODE = re.compile(r"[A-Z][A-Z0-9_]*")
_STATUS_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


@dataclasses.dataclass(frozen=True)
class RawResponse:
    """What the shells hand back: status, lower-cased headers and the body bytes."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a v1 list: its items and pagination (``total`` is None on legacy servers)."""

    items: list[T]
    total: int | None
    offset: int
    limit: int
    has_more: bool
    #: True when served from the cache because the service failed (stale-if-error).
    stale: bool = False

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]


Parser = Callable[["Operation[Any]", RawResponse], T]


@dataclasses.dataclass(frozen=True)
class Operation(Generic[T]):
    """One API call, fully described before any I/O."""

    name: str
    method: str
    path: str
    parse: Parser[T]
    params: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    @property
    def idempotent(self) -> bool:
        return self.method in ("GET", "HEAD")

    @property
    def target(self) -> str:
        """Path and query string, relative to the configured origin."""
        return f"{self.path}?{urlencode(self.params)}" if self.params else self.path


def path(*segments: str) -> str:
    """``/api/…`` from literal and user segments; user segments are fully percent-encoded."""
    return "/api/" + "/".join(segments)


def segment(value: str, name: str) -> str:
    """One path parameter, percent-encoded so that any value round-trips (``/``, ``..``)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    if "\x00" in value:
        raise ValueError(f"{name} must not contain a NUL character")
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if value in (".", "..") else encoded


def json_body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


# Errors -------------------------------------------------------------------------------------


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return max(0.0, float(headers["retry-after"]))
    except (KeyError, ValueError):
        return None


def _status_for(code: str) -> int:
    """The status of a v1 code, or of a legacy code by its shape (§8 #3)."""
    if code in CODE_STATUSES:
        return CODE_STATUSES[code]
    if "not_found" in code:
        return 404
    if code.endswith("service_error"):
        return 502
    return 500


def api_error(op: Operation[Any], status: int, body: Any, raw: RawResponse) -> exceptions.APIError:
    """The exception for an error answer, reading v1 and legacy envelopes alike."""
    code, reason, details = "", "", {}
    if isinstance(body, dict):
        code = body.get("error") if isinstance(body.get("error"), str) else ""
        reason = body.get("reason") if isinstance(body.get("reason"), str) else ""
        details = body.get("details") if isinstance(body.get("details"), dict) else {}
        if _UPPER_CODE.fullmatch(reason) and not code.islower():  # convention B (§8 #2)
            code, reason = reason.lower(), code
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
        retry_after=_retry_after(raw.headers),
    )


def _loads(op: Operation[Any], raw: RawResponse) -> Any:
    try:
        return json.loads(raw.content)
    except ValueError as exc:
        raise exceptions.ResponseValidationError(op.method, op.path, "body", f"not JSON: {exc}") from exc


def check_status(op: Operation[Any], raw: RawResponse) -> None:
    """Raise the mapped exception for an error status."""
    if raw.status >= 400:
        body = _loads_quietly(raw) if raw.media_type == "application/json" else None
        raise api_error(op, raw.status, body, raw)


def _loads_quietly(raw: RawResponse) -> Any:
    try:
        return json.loads(raw.content) if raw.content else None
    except ValueError:
        return None


def _raise_embedded_error(op: Operation[Any], body: Any, raw: RawResponse) -> None:
    """Upstream Rust handlers answer errors with HTTP 200 and an ``error`` key (§8 #1)."""
    if isinstance(body, dict) and "error" in body and "data" not in body:
        code = body.get("error")
        reason = body.get("reason")
        if isinstance(reason, str) and _UPPER_CODE.fullmatch(reason):
            code = reason.lower()
        raise api_error(op, _status_for(code if isinstance(code, str) else ""), body, raw)


def _invalid(op: Operation[Any], exc: pydantic.ValidationError) -> exceptions.ResponseValidationError:
    error = exc.errors()[0]
    return exceptions.ResponseValidationError(
        op.method, op.path, schemas.error_field(exc), error.get("msg", "invalid")
    )


# Parsers ------------------------------------------------------------------------------------

_LEGACY_RENAMES = {"id": "run_id", "worker": "worker_name"}


def _legacy_item(item: Any, model: Any) -> Any:
    """Legacy item shapes (§8 #10): renamed keys, ``""`` for unknown values."""
    if not isinstance(item, dict) or not isinstance(model, type):
        return item
    fields = getattr(model, "model_fields", {})
    normalised = {}
    for key, value in item.items():
        key = _LEGACY_RENAMES.get(key, key) if key not in fields else key
        normalised[key] = None if value == "" and key in fields and key != "name" else value
    return normalised


def _legacy_items(op: Operation[Any], body: Any) -> tuple[list[Any], Mapping[str, Any]]:
    """Items and pagination from the legacy list shapes (§8 #5, #6, #7, #15)."""
    pagination: Mapping[str, Any] = {}
    if isinstance(body, dict) and "data" in body:
        pagination = body.get("pagination") or {}
        body = body["data"]
    if isinstance(body, dict):
        if "runs" in body and "message" in body:
            raise exceptions.UnsupportedByServer(f"{op.method} {op.path}: the server lists no runs")
        for key in ("codebases", "results", "items"):
            if isinstance(body.get(key), list):
                return body[key], pagination
        if not body:
            return [], pagination
    if isinstance(body, list):
        return body, pagination
    raise exceptions.ResponseValidationError(op.method, op.path, "data", "not a list")


def page_parser(model: type[T]) -> Parser[Page[T]]:
    """Parse a list answer: v1 straight from bytes; legacy shapes through normalisation."""
    adapter = pydantic.TypeAdapter(schemas.ListEnvelope[model])  # type: ignore[valid-type]
    item_adapter = pydantic.TypeAdapter(model)

    def parse(op: Operation[Any], raw: RawResponse) -> Page[T]:
        check_status(op, raw)
        try:
            envelope = adapter.validate_json(raw.content)
        except pydantic.ValidationError as exc:
            return _parse_legacy_page(op, raw, item_adapter, model, exc)
        info = envelope.pagination
        return Page(list(envelope.data), info.total, info.offset, info.limit, info.has_more)

    return parse


def _parse_legacy_page(
    op: Operation[Any],
    raw: RawResponse,
    item_adapter: pydantic.TypeAdapter[T],
    model: Any,
    v1_error: pydantic.ValidationError,
) -> Page[T]:
    body = _loads(op, raw)
    _raise_embedded_error(op, body, raw)
    if isinstance(body, dict) and isinstance(body.get("data"), list) and "pagination" in body:
        if isinstance(body["pagination"], dict) and body["pagination"].get("total") is not None:
            raise _invalid(op, v1_error)  # a v1 answer with a wrong item: no second guess
    items, pagination = _legacy_items(op, body)
    try:
        parsed = [item_adapter.validate_python(_legacy_item(item, model)) for item in items]
    except pydantic.ValidationError as exc:
        raise _invalid(op, exc) from exc
    requested = dict(op.params)
    offset = _int(pagination.get("offset"), _int(requested.get("offset"), 0))
    limit = _int(pagination.get("limit"), _int(requested.get("limit"), len(parsed)))
    total = pagination.get("total")
    total = total if isinstance(total, int) and not isinstance(total, bool) else None
    has_more = pagination.get("has_more")
    if not isinstance(has_more, bool):
        has_more = total is not None and offset + len(parsed) < total or (
            total is None and limit > 0 and len(parsed) >= limit
        )
    return Page(parsed, total, offset, limit, has_more)


def _int(value: Any, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def data_parser(model: Any) -> Parser[Any]:
    """Parse a single-object answer ``{"data": …}`` (legacy: a bare object, §8 #7)."""
    adapter = pydantic.TypeAdapter(schemas.DataEnvelope[model])  # type: ignore[valid-type]
    bare = pydantic.TypeAdapter(model)

    def parse(op: Operation[Any], raw: RawResponse) -> Any:
        check_status(op, raw)
        try:
            return adapter.validate_json(raw.content).data
        except pydantic.ValidationError as exc:
            body = _loads(op, raw)
            _raise_embedded_error(op, body, raw)
            if isinstance(body, dict) and "data" in body:
                raise _invalid(op, exc) from exc
            try:
                return bare.validate_python(_legacy_item(body, model))
            except pydantic.ValidationError as bare_exc:
                raise _invalid(op, bare_exc) from bare_exc

    return parse


def text_parser(expected: str) -> Parser[str]:
    """Parse a non-JSON success (rendered HTML); a JSON envelope instead is an error or legacy."""

    def parse(op: Operation[Any], raw: RawResponse) -> str:
        check_status(op, raw)
        if raw.media_type == "application/json":
            _raise_embedded_error(op, _loads(op, raw), raw)
            raise exceptions.UnsupportedByServer(f"{op.method} {op.path}: no {expected} body")
        return raw.content.decode("utf-8")

    return parse


def bytes_parser(expected: str) -> Parser[bytes]:
    """Parse a byte body (a diff), passed through unchanged."""

    def parse(op: Operation[Any], raw: RawResponse) -> bytes:
        check_status(op, raw)
        if raw.media_type == "application/json":  # legacy: fake or embedded content (§8 #16)
            _raise_embedded_error(op, _loads(op, raw), raw)
            raise exceptions.UnsupportedByServer(f"{op.method} {op.path}: no {expected} body")
        return raw.content

    return parse


EXPORT_MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}


def export_parser(format: str) -> Parser[None]:
    """Check an export's status line and headers (its body is streamed, not parsed)."""

    def parse(op: Operation[Any], raw: RawResponse) -> None:
        check_status(op, raw)
        if raw.media_type != EXPORT_MEDIA_TYPES[format]:  # legacy JSON/XML envelopes (§8 #16)
            raise exceptions.UnsupportedByServer(
                f"{op.method} {op.path}: answered {raw.media_type or 'no media type'}, not {format}"
            )

    return parse


# Retries ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Send:
    """Step of :func:`exchange`: send the request, with at most ``timeout`` seconds for it."""

    timeout: float


@dataclasses.dataclass(frozen=True)
class Sleep:
    """Step of :func:`exchange`: wait before the next attempt."""

    seconds: float


Outcome = RawResponse | exceptions.TransportError | None
Flow = Generator[Send | Sleep, Outcome, RawResponse]


def backoff(attempt: int, retry_after: float | None, rng: Callable[[], float] = random.random) -> float:
    """Seconds before attempt ``attempt + 1``: ``Retry-After`` (capped) or jittered doubling."""
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    return BACKOFF * (2**attempt) * (0.5 + rng() / 2)


def exchange(
    op: Operation[Any], *, retries: int, timeout: float, clock: Callable[[], float]
) -> Flow:
    """Send ``op`` until it has an answer to keep, within one overall deadline.

    Only idempotent requests are retried, on connect errors and on 429/502/503/504; a POST is
    sent exactly once. The generator yields :class:`Send` / :class:`Sleep` steps and receives
    each attempt's outcome; it returns the answer or raises the final transport error.
    """
    deadline = clock() + timeout
    attempt = 0
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            raise exceptions.Timeout(f"{op.method} {op.path}: no answer within {timeout:g} s")
        outcome = yield Send(remaining)
        if isinstance(outcome, RawResponse):
            retryable = op.idempotent and outcome.status in RETRYABLE_STATUSES
            retry_after = _retry_after(outcome.headers)
        else:
            assert outcome is not None
            retryable = op.idempotent and isinstance(outcome, exceptions.ConnectError)
            retry_after = None
        delay = backoff(attempt, retry_after) if retryable and attempt < retries else None
        if delay is None or delay >= deadline - clock():
            if isinstance(outcome, RawResponse):
                return outcome
            raise outcome
        yield Sleep(delay)
        attempt += 1


def headers_for(token: str | None, user_agent: str, etag: str | None = None) -> dict[str, str]:
    """Request headers: always ``Accept: application/json`` (§8 #12)."""
    headers = {"Accept": "application/json", "User-Agent": user_agent}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if etag:
        headers["If-None-Match"] = etag
    return headers


def walk_pages(first: Mapping[str, Any], page_size: int) -> Generator[dict[str, Any], Page[Any], None]:
    """Parameters of successive pages of an iteration, given each page as it arrives.

    Honours an overall ``offset`` / ``limit`` in ``first``; stops when the server says there is
    no more (or, when ``total`` is unknown, on a short page).
    """
    offset = first.get("offset") or 0
    wanted = first.get("limit")
    seen = 0
    while wanted is None or seen < wanted:
        size = page_size if wanted is None else min(page_size, wanted - seen)
        page = yield {**first, "offset": offset, "limit": size}
        seen += len(page.items)
        offset += len(page.items)
        if not page.has_more or not page.items:
            return
