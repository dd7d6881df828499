"""Answers → results: one parser per kind of answer (v1 first, legacy shapes as a fallback)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic

from .. import exceptions, schemas
from ._errors import check_status, loads, loads_quietly
from ._legacy import parse_legacy_object, parse_legacy_page, raise_embedded_error
from ._wire import Operation, Parser, RawResponse
from .paging import Page

T = TypeVar("T")

EXPORT_MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}


def page_parser(model: type[T]) -> Parser[Page[T]]:
    """Parse a list answer: v1 straight from bytes; legacy shapes through normalisation."""
    adapter = pydantic.TypeAdapter(schemas.ListEnvelope[model])  # type: ignore[valid-type]

    def parse(op: Operation[Any], raw: RawResponse) -> Page[T]:
        check_status(op, raw)
        try:
            envelope = adapter.validate_json(raw.content)
        except pydantic.ValidationError as exc:
            return parse_legacy_page(op, raw, model, exc)
        info = envelope.pagination
        asked = int(dict(op.params).get("offset", 0))
        if info.offset != asked and info.has_more:  # §2.5: v1 echoes the offset it used
            raise exceptions.ResponseValidationError(
                op.method,
                op.path,
                "pagination.offset",
                f"{info.offset} answers a request for offset {asked}: the server ignores the "
                "offset, so paging would never end",
            )
        return Page(list(envelope.data), info.total, info.offset, info.limit, info.has_more)

    return parse


def item_parser(
    pages: Parser[Page[T]], field: str, value: str, details: Mapping[str, str]
) -> Parser[T]:
    """A detail read through its list's exact-match filter (a key with ``/``, §2.1): the item
    whose ``field`` is ``value``, else the 404 ``not_found`` the detail path answers, with the
    same ``details`` (``{"resource": "run", "run_id": …}``) and reason."""
    keys = ", ".join(f"{name} {key!r}" for name, key in details.items() if name != "resource")
    reason = f"No {details['resource']} with {keys}"

    def parse(op: Operation[Any], raw: RawResponse) -> T:
        for item in pages(op, raw).items:
            if getattr(item, field) == value:  # a legacy server may ignore the filter (§8 #9)
                return item
        raise exceptions.NotFound(
            404,
            "not_found",
            reason,
            details=details,
            request_id=raw.request_id,
            method=op.method,
            path=op.path,
        )

    return parse


def data_parser(model: Any) -> Parser[Any]:
    """Parse a single-object answer ``{"data": …}`` (legacy shapes: §8 #7, #10)."""
    adapter = pydantic.TypeAdapter(schemas.DataEnvelope[model])

    def parse(op: Operation[Any], raw: RawResponse) -> Any:
        check_status(op, raw)
        try:
            return adapter.validate_json(raw.content).data
        except pydantic.ValidationError as exc:
            return parse_legacy_object(op, raw, model, exc)

    return parse


def text_parser(expected: str) -> Parser[str]:
    """Parse a non-JSON success (rendered HTML); a JSON envelope instead is an error or legacy."""

    def parse(op: Operation[Any], raw: RawResponse) -> str:
        check_status(op, raw)
        if raw.media_type == "application/json":
            raise_embedded_error(op, loads(op, raw), raw)
            raise exceptions.UnsupportedByServer(f"{op.method} {op.path}: no {expected} body")
        return raw.content.decode("utf-8")

    return parse


def bytes_parser(expected: str) -> Parser[bytes]:
    """Parse a byte body (a diff), passed through unchanged."""

    def parse(op: Operation[Any], raw: RawResponse) -> bytes:
        check_status(op, raw)
        if raw.media_type == "application/json":  # legacy: fake or embedded content (§8 #16)
            raise_embedded_error(op, loads(op, raw), raw)
            raise exceptions.UnsupportedByServer(f"{op.method} {op.path}: no {expected} body")
        return raw.content

    return parse


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
        raise_embedded_error(op, loads_quietly(raw), raw)  # e.g. export_failed (§8 #3)
        media_type = raw.media_type or "no media type"
        raise exceptions.UnsupportedByServer(
            f"{op.method} {op.path}: answered {media_type}, not a {format} export"
        )

    return parse
