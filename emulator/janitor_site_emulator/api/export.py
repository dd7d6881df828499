"""Export endpoints (§5.9): every matching codebase or run, streamed as JSON or CSV."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..context import Call
from ..http import dumps
from ..params import Page
from .codebases import CODEBASE_ORDERING, codebase_json, codebases_json, codebases_statement
from .listing import Ordering, Serializer
from .runs import RUN_ORDERING
from .runs_query import RUN_COLUMNS, run_conditions, run_json, runs_json

#: Rows fetched per database round trip while streaming.
CHUNK = 500
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8; header=present"}


def csv_field(value: Any) -> str:
    """One RFC 4180 field: quoted only when it holds ``,`` ``"`` CR or LF."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(values: list[Any]) -> bytes:
    return (",".join(csv_field(value) for value in values) + "\r\n").encode()


class _Encoder:
    """Turns item dicts into the body of one export format, piece by piece."""

    def __init__(self, format: str) -> None:
        self.format = format
        self.started = False

    def items(self, items: list[dict[str, Any]]) -> bytes:
        if self.format == "csv":
            header = b"" if self.started or not items else csv_line(list(items[0]))
            self.started = self.started or bool(items)
            return header + b"".join(csv_line(list(item.values())) for item in items)
        pieces = [
            (b"," if self.started or index else b"[") + dumps(item)
            for index, item in enumerate(items)
        ]
        self.started = self.started or bool(items)
        return b"".join(pieces)

    def end(self, header: list[str]) -> bytes:
        if self.format == "csv":
            return b"" if self.started else csv_line(header)
        return b"]" if self.started else b"[]"


class _NullRow:
    """A row whose every column is NULL: serialising it yields an item's keys in order."""

    def __getattr__(self, name: str) -> None:
        return None


CODEBASE_KEYS = list(codebase_json(_NullRow()))
RUN_KEYS = list(run_json(_NullRow(), ()))


def _chunk_size(page: Page, offset: int) -> int:
    if page.limit is None:
        return CHUNK
    return max(0, min(CHUNK, page.offset + page.limit - offset))


async def _export(
    request: Request,
    kind: str,
    build: Callable[[Call], sa.Select[Any]],
    ordering: Ordering,
    serialize: Serializer,
    keys: list[str],
) -> Response:
    call = await Call.begin(request)
    format = call.params.choice("format", ("json", "csv"), "json")
    statement = build(call)
    order = ordering.clauses(call)
    page = call.params.export_page()

    def fetch(conn: Connection, offset: int) -> list[dict[str, Any]]:
        size = _chunk_size(page, offset)
        if size == 0:
            return []
        return serialize(
            conn, list(conn.execute(statement.order_by(*order).offset(offset).limit(size)))
        )

    first = await call.read(lambda conn: fetch(conn, page.offset))
    encoder = _Encoder(format)

    async def body() -> AsyncIterator[bytes]:
        items, offset = first, page.offset
        while items:
            yield encoder.items(items)
            offset += len(items)
            full = len(items) == CHUNK
            items = await call.read(functools.partial(fetch, offset=offset)) if full else []
        yield encoder.end(keys)

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d_%H%M%S")
    return StreamingResponse(
        body(),
        headers={
            "Content-Type": MEDIA_TYPES[format],
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{kind}_export_{stamp}.{format}"',
        },
    )


async def export_codebases(request: Request) -> Response:
    return await _export(
        request,
        "codebases",
        lambda call: codebases_statement(call.params),
        CODEBASE_ORDERING,
        codebases_json,
        CODEBASE_KEYS,
    )


async def export_runs(request: Request) -> Response:
    return await _export(
        request,
        "runs",
        lambda call: sa.select(*RUN_COLUMNS).where(*run_conditions(call.params)),
        RUN_ORDERING,
        runs_json,
        RUN_KEYS,
    )
