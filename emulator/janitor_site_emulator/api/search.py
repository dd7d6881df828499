"""Search endpoints (§5.8): codebase/campaign search and codebase names for typeahead."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from starlette.requests import Request
from starlette.responses import Response

from .. import schema as t
from ..context import Call
from ..http import timestamp
from ..params import SortKey
from ..sql import prefix_rank, search
from . import listing
from .runs_query import ready_runs


def _items() -> sa.Subquery:
    """One row per (active codebase, one of its last runs), or one with NULLs when it has none."""
    cb, last, run = t.codebase, t.last_run, t.run
    return (
        sa.select(
            cb.c.name.label("codebase"),
            cb.c.name_lower,
            cb.c.url_lower,
            cb.c.url.label("vcs_url"),
            last.c.suite.label("campaign"),
            run.c.result_code,
            run.c.finish_time,
            run.c.id.label("last_run_id"),
        )
        .select_from(
            cb.outerjoin(last, last.c.codebase == cb.c.name).outerjoin(
                run, run.c.id == last.c.last_run_id
            )
        )
        .where(cb.c.name.is_not(None), cb.c.inactive.is_(sa.false()))
        .subquery("search_items")
    )


ITEMS = _items()
SEARCH_SORTABLE = {
    "codebase": ITEMS.c.codebase,
    "campaign": ITEMS.c.campaign,
    "finish_time": ITEMS.c.finish_time,
    "result_code": ITEMS.c.result_code,
}


def _search_json(_conn: Connection, rows: list[Row[Any]]) -> list[dict[str, Any]]:
    return [
        {
            "codebase": row.codebase,
            "campaign": row.campaign,
            "vcs_url": row.vcs_url,
            "result_code": row.result_code,
            "finish_time": timestamp(row.finish_time),
            "last_run_id": row.last_run_id,
        }
        for row in rows
    ]


async def search_codebases(request: Request) -> Response:
    call = await Call.begin(request)
    params = call.params
    q = params.string("q", "search")
    conditions = search(q, (ITEMS.c.name_lower, ITEMS.c.url_lower))
    if (campaign := params.string("campaign", "suite")) is not None:
        conditions.append(ITEMS.c.campaign == campaign)
    if (result_code := params.string("result_code")) is not None:
        conditions.append(ITEMS.c.result_code == result_code)
    if params.flag("publishable_only"):
        ready = ready_runs()
        conditions.append(
            sa.exists().where(
                ready.c.codebase == ITEMS.c.codebase, ready.c.suite == ITEMS.c.campaign
            )
        )
    if q is not None:
        default = (SortKey("rank"), SortKey("codebase"), SortKey("campaign"))
        internal = {"rank": prefix_rank(q, ITEMS.c.name_lower)}
    else:
        default = (SortKey("finish_time", True), SortKey("codebase"), SortKey("campaign"))
        internal = {}
    ordering = listing.Ordering(SEARCH_SORTABLE, default, ("codebase", "campaign"), internal)
    statement = sa.select(ITEMS).where(*conditions)
    return await listing.respond(call, statement, ordering, _search_json)


def _names_json(_conn: Connection, rows: list[Row[Any]]) -> list[str]:
    return [row.name for row in rows]


async def package_names(request: Request) -> Response:
    call = await Call.begin(request)
    params, cb = call.params, t.codebase.c
    q = params.string("q", "search")
    conditions: list[Any] = [cb.name.is_not(None), *search(q, (cb.name_lower,))]
    if not params.flag("include_inactive"):
        conditions.append(cb.inactive.is_(sa.false()))
    if q is not None:
        default = (SortKey("rank"), SortKey("name"))
        internal = {"rank": prefix_rank(q, cb.name_lower)}
    else:
        latest = (
            sa.select(sa.func.max(t.run.c.finish_time))
            .where(t.run.c.codebase == cb.name)
            .scalar_subquery()
        )
        default = (SortKey("latest", True), SortKey("name"))
        internal = {"latest": latest}
    ordering = listing.Ordering({"name": cb.name}, default, ("name",), internal)
    statement = sa.select(cb.name).where(*conditions)
    return await listing.respond(call, statement, ordering, _names_json)
