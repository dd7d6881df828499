"""One list endpoint answer (§2.5–2.7): validate paging and order, fetch a page, envelope it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from starlette.responses import Response

from ..context import Call
from ..http import list_response
from ..params import SortKey
from ..sql import fetch_page, order_by

Serializer = Callable[[Connection, list[Row[Any]]], list[Any]]


@dataclasses.dataclass(frozen=True)
class Ordering:
    """What a list endpoint can sort by, its default order and its key (§2.6)."""

    sortable: Mapping[str, sa.ColumnElement[Any]]
    default: Sequence[SortKey]
    key: Sequence[str]
    #: Expressions usable in ``default`` but not by clients (e.g. the search prefix rank).
    internal: Mapping[str, sa.ColumnElement[Any]] = dataclasses.field(default_factory=dict)
    #: Fields sorted by their column in the opposite direction.
    inverted: frozenset[str] = frozenset()

    def clauses(self, call: Call) -> list[Any]:
        keys = call.params.sort(self.sortable, self.default, self.key)
        return order_by({**self.sortable, **self.internal}, keys, self.inverted)


async def respond(
    call: Call,
    statement: sa.Select[Any],
    ordering: Ordering,
    serialize: Serializer,
    check: Callable[[Connection], None] | None = None,
) -> Response:
    """Answer a list request; ``check`` runs first in the same connection (parent 404s)."""
    page = call.params.page()
    order = ordering.clauses(call)

    def work(conn: Connection) -> tuple[list[Any], int]:
        if check is not None:
            check(conn)
        rows, total = fetch_page(conn, statement, order, page)
        return serialize(conn, rows), total

    items, total = await call.read(work)
    assert page.limit is not None
    return list_response(call.request, items, total, page.offset, page.limit)
