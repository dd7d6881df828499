"""The I/O-free heart of the client: operations, response parsing, error mapping, retry flow.

:class:`SiteClient` and :class:`AsyncSiteClient` only move bytes; everything they decide comes
from here, so both behave identically.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
import random
import re
import types
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin
from urllib.parse import quote, urlencode

import pydantic
from pydantic import AliasChoices, BeforeValidator, Field

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
#: Upstream codes outside v1 whose v1 status is known (reference §3.3, §3.4: active runs, diff).
LEGACY_CODE_STATUSES = {
    "not_active": 404, "missing_revision": 404, "runner_error": 502, "parse_error": 502,
    "connection_error": 503,
}  # fmt: skip
_UPPER_CODE = re.compile(r"[A-Z][A-Z0-9_]*")
#: The code of an error answer without one (empty or legacy bodies, §8 #7, #13).
_STATUS_CODES = {
    401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited",
    502: "upstream_error", 503: "unavailable",
}  # fmt: skip


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
    """The status of a v1 code, or of a legacy code by name or shape (§8 #3)."""
    if code in CODE_STATUSES:
        return CODE_STATUSES[code]
    if code in LEGACY_CODE_STATUSES:
        return LEGACY_CODE_STATUSES[code]
    if "not_found" in code:
        return 404
    if code.endswith("service_error"):
        return 502
    return 500  # database_error, *_failed and anything else unknown


def _error_fields(body: Any) -> tuple[str, str, dict[str, Any]]:
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
    code, reason, details = _error_fields(body)
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
        raise exceptions.ResponseValidationError(
            op.method, op.path, "body", f"not JSON: {exc}"
        ) from exc


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
        raise api_error(op, _status_for(_error_fields(body)[0]), body, raw)


def _invalid(
    op: Operation[Any], exc: pydantic.ValidationError
) -> exceptions.ResponseValidationError:
    error = exc.errors()[0]
    return exceptions.ResponseValidationError(
        op.method, op.path, schemas.error_field(exc), error.get("msg", "invalid")
    )


# Parsers ------------------------------------------------------------------------------------

#: Legacy spellings of v1 keys (§8 #10); ``campaign`` and ``suite`` are one value in v1 (§4.2).
_LEGACY_ALIASES = {
    "run_id": ("id",), "worker_name": ("worker",), "suite": ("campaign",), "campaign": ("suite",),
}  # fmt: skip


def _empty_is_null(value: Any) -> Any:
    """Legacy ``""`` for an unknown value (§8 #10)."""
    return None if value == "" else value


def _legacy_type(annotation: Any) -> Any:
    """``annotation`` with every model in it replaced by its :func:`_legacy_model`."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return _legacy_model(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list:
        return list[_legacy_type(args[0])]  # type: ignore[misc]
    if origin in (Union, types.UnionType):
        return functools.reduce(operator.or_, map(_legacy_type, args))
    return annotation


#: The v1 model of each model made by :func:`_legacy_model`.
_V1_MODELS: dict[type[pydantic.BaseModel], type[pydantic.BaseModel]] = {}


@functools.cache
def _legacy_model(model: type[pydantic.BaseModel]) -> type[pydantic.BaseModel]:
    """``model`` as legacy servers fill it (§8 #5, #10), for validation only.

    Keys may have their legacy names; ``""`` in a nullable key is null. A keyed shape (§4) may
    lack any key but its primary key: a missing list is empty, anything else null.
    """
    keys = schemas.PRIMARY_KEYS.get(model)
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = _legacy_type(info.rebuild_annotation())
        alias = AliasChoices(name, *_LEGACY_ALIASES[name]) if name in _LEGACY_ALIASES else None
        if not info.is_required():
            annotation = Annotated[annotation, BeforeValidator(_empty_is_null)]
            fields[name] = (annotation, Field(info.default, validation_alias=alias))
        elif keys is None or name in keys:
            fields[name] = (annotation, Field(validation_alias=alias))
        elif get_origin(annotation) is list:
            fields[name] = (annotation, Field(default_factory=list, validation_alias=alias))
        else:
            fields[name] = (annotation | None, Field(None, validation_alias=alias))
    legacy = pydantic.create_model(f"Legacy{model.__name__}", __base__=model, **fields)
    _V1_MODELS[legacy] = model
    return legacy


@functools.cache
def _legacy_adapter(model: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(_legacy_type(model))


def _as_v1(value: Any) -> Any:
    """``value`` with each legacy model instance turned into its v1 model's (no revalidation)."""
    if isinstance(value, list):
        return [_as_v1(item) for item in value]
    model = _V1_MODELS.get(type(value))
    if model is None:
        return value
    fields = {name: _as_v1(getattr(value, name)) for name in model.model_fields}
    return model.model_construct(value.model_fields_set, **fields)


def _validate_legacy(model: Any, data: Any) -> Any:
    """``data`` read as a legacy answer of type ``model``, made of v1 model instances."""
    return _as_v1(_legacy_adapter(model).validate_python(data))


def _legacy_items(op: Operation[Any], body: Any) -> tuple[list[Any], Mapping[str, Any]]:
    """Items and pagination from the legacy list shapes (§8 #5, #6, #7, #15)."""
    pagination: Mapping[str, Any] = {}
    if isinstance(body, dict) and "data" in body:
        pagination = body["pagination"] if isinstance(body.get("pagination"), dict) else {}
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

    def parse(op: Operation[Any], raw: RawResponse) -> Page[T]:
        check_status(op, raw)
        try:
            envelope = adapter.validate_json(raw.content)
        except pydantic.ValidationError as exc:
            return _parse_legacy_page(op, raw, model, exc)
        info = envelope.pagination
        return Page(list(envelope.data), info.total, info.offset, info.limit, info.has_more)

    return parse


def _parse_legacy_page(
    op: Operation[Any], raw: RawResponse, model: type[T], v1_error: pydantic.ValidationError
) -> Page[T]:
    body = _loads(op, raw)
    _raise_embedded_error(op, body, raw)
    items, pagination = _legacy_items(op, body)
    if isinstance(body, dict) and body.get("data") is items and pagination.get("total") is not None:
        raise _invalid(op, v1_error)  # a v1 answer with a wrong item: no second guess
    try:
        parsed: list[T] = _validate_legacy(list[model], items)  # type: ignore[valid-type]
    except pydantic.ValidationError as exc:
        raise _invalid(op, exc) from exc
    requested = dict(op.params)
    offset = _first_int(pagination.get("offset"), requested.get("offset")) or 0
    limit = _first_int(pagination.get("limit"), requested.get("limit"))
    total = _first_int(pagination.get("total"))
    has_more = pagination.get("has_more")
    if not isinstance(has_more, bool):  # unknown count: more when the page is full (§8 #4)
        if total is not None:
            has_more = offset + len(parsed) < total
        else:
            has_more = limit is not None and 0 < limit <= len(parsed)
    return Page(parsed, total, offset, len(parsed) if limit is None else limit, has_more)


def _first_int(*values: Any) -> int | None:
    """The first of ``values`` that is an integer or a string of digits, as an integer."""
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def data_parser(model: Any) -> Parser[Any]:
    """Parse a single-object answer ``{"data": …}`` (legacy shapes: §8 #7, #10)."""
    adapter = pydantic.TypeAdapter(schemas.DataEnvelope[model])

    def parse(op: Operation[Any], raw: RawResponse) -> Any:
        check_status(op, raw)
        try:
            return adapter.validate_json(raw.content).data
        except pydantic.ValidationError as exc:
            return _parse_legacy_object(op, raw, model, exc)

    return parse


def _parse_legacy_object(
    op: Operation[Any], raw: RawResponse, model: Any, v1_error: pydantic.ValidationError
) -> Any:
    """A legacy single object: enveloped or bare; a list instead means another endpoint."""
    body = _loads(op, raw)
    _raise_embedded_error(op, body, raw)
    data = body["data"] if isinstance(body, dict) and "data" in body else body
    try:
        return _validate_legacy(model, data)
    except pydantic.ValidationError:
        if isinstance(data, list):  # e.g. Python's /api/queue: the runner's queue (§8 #7)
            raise exceptions.UnsupportedByServer(
                f"{op.method} {op.path}: the server answers a list, not one object"
            ) from None
        raise _invalid(op, v1_error) from v1_error


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


def streamed(raw: RawResponse) -> bool:
    """Whether an export answer is the export itself (a v1 attachment), to stream unread."""
    return raw.status < 400 and raw.headers.get("content-disposition", "").startswith("attachment")


def export_parser(format: str) -> Parser[None]:
    """Check an export's status line and headers (its body is streamed, not parsed).

    Any other answer has been read whole: an error, or a legacy envelope (§8 #16).
    """

    def parse(op: Operation[Any], raw: RawResponse) -> None:
        check_status(op, raw)
        if streamed(raw) and raw.media_type == EXPORT_MEDIA_TYPES[format]:
            return
        _raise_embedded_error(op, _loads_quietly(raw), raw)  # e.g. export_failed (§8 #3)
        media_type = raw.media_type or "no media type"
        raise exceptions.UnsupportedByServer(
            f"{op.method} {op.path}: answered {media_type}, not a {format} export"
        )

    return parse


# Server generation ----------------------------------------------------------------------------


def is_v1(raw: RawResponse) -> bool:
    """Whether a ``GET /api/status`` answer is a v1 server's: ``api_version`` exactly "1".

    Anything else (upstream's "1.0", a 404, a body that is no envelope) is a legacy server (§8).
    """
    body = _loads_quietly(raw) if raw.status == 200 else None
    data = body.get("data") if isinstance(body, dict) else None
    return isinstance(data, dict) and data.get("api_version") == "1"


def version_parser(op: Operation[Any], raw: RawResponse) -> bool:
    """Parse the status probe; answers that say nothing of the version (401, 429, 5xx) raise."""
    if raw.status in (401, 429) or raw.status >= 500:
        check_status(op, raw)
    return is_v1(raw)


def require_v1(op: Operation[Any], v1: bool) -> None:
    """Refuse to send a POST to a legacy server, whose POSTs mean something else (§8 #19)."""
    if not v1:
        raise exceptions.UnsupportedByServer(
            f"{op.method} {op.path}: unsupported by this server (it does not speak API v1)"
        )


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


def backoff(
    attempt: int, retry_after: float | None, rng: Callable[[], float] = random.random
) -> float:
    """Seconds before attempt ``attempt + 1``: ``Retry-After`` (capped) or jittered doubling."""
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    jitter: float = 0.5 + rng() / 2
    return BACKOFF * float(2**attempt) * jitter


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


def walk_pages(
    first: Mapping[str, Any], page_size: int
) -> Generator[dict[str, Any], Page[Any], None]:
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
