"""Legacy (pre-v1) servers: their answers normalised to v1 results, and their detection (§8).

The parsers try the v1 shape first and come here only when it does not match.
"""

from __future__ import annotations

import functools
import operator
import types
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import pydantic
from pydantic import AliasChoices, BeforeValidator, Field

from .. import exceptions, schemas
from ._errors import api_error, check_status, error_fields, invalid, loads, loads_quietly
from ._wire import Operation, RawResponse
from .paging import Page

T = TypeVar("T")

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
#: Legacy spellings of v1 keys (§8 #10); ``campaign`` and ``suite`` are one value in v1 (§4.2).
_LEGACY_ALIASES = {
    "run_id": ("id",), "worker_name": ("worker",), "suite": ("campaign",), "campaign": ("suite",),
}  # fmt: skip


# Errors -------------------------------------------------------------------------------------


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


def raise_embedded_error(op: Operation[Any], body: Any, raw: RawResponse) -> None:
    """Upstream Rust handlers answer errors with HTTP 200 and an ``error`` key (§8 #1)."""
    if isinstance(body, dict) and "error" in body and "data" not in body:
        raise api_error(op, _status_for(error_fields(body)[0]), body, raw)


# Models -------------------------------------------------------------------------------------


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


# Answers ------------------------------------------------------------------------------------


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


def parse_legacy_page(
    op: Operation[Any], raw: RawResponse, model: type[T], v1_error: pydantic.ValidationError
) -> Page[T]:
    """A list answer that is not v1: the legacy shapes, pagination guessed where missing."""
    body = loads(op, raw)
    raise_embedded_error(op, body, raw)
    items, pagination = _legacy_items(op, body)
    if isinstance(body, dict) and body.get("data") is items and pagination.get("total") is not None:
        raise invalid(op, v1_error)  # a v1 answer with a wrong item: no second guess
    try:
        parsed: list[T] = _validate_legacy(list[model], items)  # type: ignore[valid-type]
    except pydantic.ValidationError as exc:
        raise invalid(op, exc) from exc
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


def parse_legacy_object(
    op: Operation[Any], raw: RawResponse, model: Any, v1_error: pydantic.ValidationError
) -> Any:
    """A legacy single object: enveloped or bare; a list instead means another endpoint."""
    body = loads(op, raw)
    raise_embedded_error(op, body, raw)
    data = body["data"] if isinstance(body, dict) and "data" in body else body
    try:
        return _validate_legacy(model, data)
    except pydantic.ValidationError:
        if isinstance(data, list):  # e.g. Python's /api/queue: the runner's queue (§8 #7)
            raise exceptions.UnsupportedByServer(
                f"{op.method} {op.path}: the server answers a list, not one object"
            ) from None
        raise invalid(op, v1_error) from v1_error


# Server generation ----------------------------------------------------------------------------


def is_v1(raw: RawResponse) -> bool:
    """Whether a ``GET /api/status`` answer is a v1 server's: ``api_version`` exactly "1".

    Anything else (upstream's "1.0", a 404, a body that is no envelope) is a legacy server (§8).
    """
    body = loads_quietly(raw) if raw.status == 200 else None
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
