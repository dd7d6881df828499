"""SQL building blocks shared by the resources: substring search, ordering, paging."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from .params import Page, SortKey


class position_of(sa.sql.functions.FunctionElement[int]):
    """1-based position of ``needle`` in ``haystack`` (0 when absent), by code points."""

    inherit_cache = True
    type = sa.Integer()


@compiles(position_of)
def _position_sqlite(element: position_of, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"instr({compiler.process(haystack, **kw)}, {compiler.process(needle, **kw)})"


@compiles(position_of, "postgresql")
def _position_postgresql(element: position_of, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"strpos({compiler.process(haystack, **kw)}, {compiler.process(needle, **kw)})"


def storable(text: str) -> bool:
    """Whether a text column can hold ``text``. PostgreSQL cannot hold U+0000 (§2.4): such a
    value matches no row, on every backend."""
    return "\x00" not in text


def search(q: str | None, lowered_columns: Sequence[sa.ColumnElement[Any]]) -> list[Any]:
    """The ``q`` condition: any of the ``*_lower`` columns contains ``q.lower()`` (§2.7)."""
    if q is None:
        return []
    needle = q.lower()
    return [sa.or_(*(position_of(column, needle) > 0 for column in lowered_columns))]


def prefix_rank(q: str, lowered: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """0 when ``lowered`` starts with ``q.lower()``, else 1 (the search default order)."""
    return sa.case((position_of(lowered, q.lower()) == 1, 0), else_=1)


def order_by(
    columns: Mapping[str, sa.ColumnElement[Any]],
    keys: Sequence[SortKey],
    inverted: Collection[str] = (),
) -> list[Any]:
    """ORDER BY clauses with nulls last in both directions (§2.6).

    ``inverted`` fields sort by their column in the opposite direction (a duration until now
    grows as its start time falls).
    """
    clauses = []
    for key in keys:
        column = columns[key.field]
        descending = key.descending != (key.field in inverted)
        clause = column.desc() if descending else column.asc()
        # NULLS LAST only where NULL can occur: on a NOT NULL key it would keep indexes unused.
        clauses.append(clause.nulls_last() if getattr(column, "nullable", True) else clause)
    return clauses


def fetch_page(
    conn: Connection,
    statement: sa.Select[Any],
    order: Sequence[Any],
    page: Page,
) -> tuple[list[Row[Any]], int]:
    """The rows of one page and the total count of ``statement`` (one COUNT, one SELECT)."""
    total = conn.scalar(sa.select(sa.func.count()).select_from(statement.subquery())) or 0
    if page.limit == 0 or page.offset >= total:
        return [], total
    paged = statement.order_by(*order).offset(page.offset)
    if page.limit is not None:
        paged = paged.limit(page.limit)
    return list(conn.execute(paged)), total
