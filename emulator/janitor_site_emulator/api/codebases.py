"""Codebase endpoints (§5.2)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from starlette.requests import Request
from starlette.responses import Response

from .. import schema as t
from ..context import Call
from ..errors import not_found
from ..http import data_response, timestamp
from ..params import QueryParams, SortKey
from ..sql import search, storable
from . import listing
from .runs_query import ready_runs, time_range

CODEBASE_COLUMNS = (
    t.codebase.c.name,
    t.codebase.c.url,
    t.codebase.c.branch,
    t.codebase.c.branch_url,
    t.codebase.c.subpath,
    t.codebase.c.vcs_type,
    t.codebase.c.vcs_last_revision,
    t.codebase.c.last_scanned,
    t.codebase.c.web_url,
    t.codebase.c.value,
    t.codebase.c.inactive,
    t.codebase.c.hostname,
)

CODEBASE_ORDERING = listing.Ordering(
    sortable={
        "name": t.codebase.c.name,
        "url": t.codebase.c.url,
        "branch": t.codebase.c.branch,
        "subpath": t.codebase.c.subpath,
        "vcs_type": t.enum_rank(t.codebase.c.vcs_type, "vcs_type"),
        "value": t.codebase.c.value,
        "last_scanned": t.codebase.c.last_scanned,
        "web_url": t.codebase.c.web_url,
        "inactive": t.codebase.c.inactive,
    },
    default=(SortKey("name"),),
    key=("name",),
)


def codebase_json(row: Any) -> dict[str, Any]:
    """The v1 Codebase object of a row selected with :data:`CODEBASE_COLUMNS`."""
    return {
        "name": row.name,
        "url": row.url,
        "branch": row.branch,
        "branch_url": row.branch_url,
        "subpath": row.subpath,
        "vcs_type": row.vcs_type,
        "vcs_last_revision": row.vcs_last_revision,
        "last_scanned": timestamp(row.last_scanned),
        "web_url": row.web_url,
        "value": row.value,
        "inactive": bool(row.inactive),
        "hostname": row.hostname,
    }


def codebases_json(_conn: Connection, rows: list[Row[Any]]) -> list[dict[str, Any]]:
    return [codebase_json(row) for row in rows]


def require_codebase(conn: Connection, name: str) -> None:
    """404 unless a codebase has this name (inactive ones count)."""
    query = sa.select(sa.literal(1)).where(t.codebase.c.name == name)
    if not storable(name) or conn.scalar(query) is None:
        raise not_found("codebase", codebase=name)


def codebase_conditions(params: QueryParams) -> list[Any]:
    """WHERE conditions for the filters of ``GET /api/codebases`` (§5.2)."""
    cb = t.codebase.c
    conditions: list[Any] = [cb.name.is_not(None)]
    conditions += search(params.string("q", "search"), (cb.name_lower, cb.url_lower))
    if (name := params.string("name")) is not None:
        conditions.append(cb.name == name)
    if (names := params.strings("names")) is not None:
        conditions.append(cb.name.in_(names))
    if (vcs_type := params.enum("vcs_type", "vcs_type")) is not None:
        conditions.append(cb.vcs_type == vcs_type)
    if not params.flag("include_inactive"):
        conditions.append(cb.inactive.is_(sa.false()))
    campaign = params.string("campaign", "suite")
    if campaign is not None:
        conditions.append(_in_campaign(campaign))
    conditions += _last_run_conditions(params, campaign)
    conditions += _candidate_conditions(params, campaign)
    if params.flag("publishable_only"):
        ready = ready_runs()
        publishable = sa.select(ready.c.codebase)
        if campaign is not None:
            publishable = publishable.where(ready.c.suite == campaign)
        conditions.append(cb.name.in_(publishable))
    return conditions


def _in_campaign(campaign: str) -> Any:
    cand, last = t.candidate.c, t.last_run.c
    return sa.or_(
        sa.exists().where(cand.codebase == t.codebase.c.name, cand.suite == campaign),
        sa.exists().where(last.codebase == t.codebase.c.name, last.suite == campaign),
    )


def _last_run_conditions(params: QueryParams, campaign: str | None) -> list[Any]:
    """ "LR" conditions: all hold on one ``last_runs`` row of the codebase."""
    run = t.run.c
    wanted = []
    if (code := params.string("result_code")) is not None:
        wanted.append(run.result_code == code)
    if (codes := params.strings("result_codes")) is not None:
        wanted.append(run.result_code.in_(codes))
    if params.flag("success_only"):
        wanted.append(run.result_code == "success")
    wanted += time_range(params, run.start_time)
    if not wanted:
        return []
    last = t.last_run.c
    if campaign is not None:
        wanted.append(last.suite == campaign)
    return [
        sa.exists()
        .select_from(t.last_run.join(t.run, run.id == last.last_run_id))
        .where(last.codebase == t.codebase.c.name, *wanted)
    ]


def _candidate_conditions(params: QueryParams, campaign: str | None) -> list[Any]:
    """ "C" conditions: all hold on one candidate row of the codebase."""
    cand = t.candidate.c
    wanted = []
    if (low := params.number("min_success_chance", 0, 1)) is not None:
        wanted.append(cand.success_chance >= low)
    if (high := params.number("max_success_chance", 0, 1)) is not None:
        wanted.append(cand.success_chance <= high)
    if not wanted:
        return []
    if campaign is not None:
        wanted.append(cand.suite == campaign)
    return [sa.exists().where(cand.codebase == t.codebase.c.name, *wanted)]


def codebases_statement(params: QueryParams) -> sa.Select[Any]:
    return sa.select(*CODEBASE_COLUMNS).where(*codebase_conditions(params))


async def list_codebases(request: Request) -> Response:
    call = await Call.begin(request)
    statement = codebases_statement(call.params)
    return await listing.respond(call, statement, CODEBASE_ORDERING, codebases_json)


async def get_codebase(request: Request) -> Response:
    call = await Call.begin(request)
    name = call.path("codebase")
    conditions = [t.codebase.c.name == name]
    if not call.params.flag("include_inactive"):
        conditions.append(t.codebase.c.inactive.is_(sa.false()))

    def work(conn: Connection) -> dict[str, Any]:
        query = sa.select(*CODEBASE_COLUMNS).where(*conditions)
        row = conn.execute(query).first() if storable(name) else None
        if row is None:
            raise not_found("codebase", codebase=name)
        return codebase_json(row)

    return data_response(request, await call.read(work))
