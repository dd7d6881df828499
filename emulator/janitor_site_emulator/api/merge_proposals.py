"""Merge proposal endpoints (§5.4, and ``/api/c/{codebase}/merge-proposals``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from starlette.requests import Request
from starlette.responses import Response

from .. import schema as t
from ..context import Call
from ..http import timestamp
from ..params import QueryParams, SortKey
from ..sql import search
from . import listing
from .campaigns import require_campaign
from .codebases import require_codebase


def _mp_run(column: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    """``column`` of the MP's run (§4.3): latest ``finish_time`` (NULL last), then greatest id.

    A correlated subquery per MP rather than a join, so that filtering on the derived campaign
    cannot make SQLite drive the query from the runs of that campaign.
    """
    mp, run, b = t.merge_proposal, t.run, t.new_result_branch
    return (
        sa.select(column)
        .select_from(run.join(b, b.c.run_id == run.c.id))
        .where(b.c.revision == mp.c.revision)
        .order_by(run.c.finish_time.desc().nulls_last(), run.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _with_run() -> sa.Subquery:
    """merge_proposal rows with ``run_id`` and ``campaign`` of the MP's run (§4.3)."""
    run = t.run.c
    return sa.select(
        t.merge_proposal, _mp_run(run.id).label("run_id"), _mp_run(run.suite).label("campaign")
    ).subquery("mp")


MP = _with_run()

MP_ORDERING = listing.Ordering(
    sortable={
        "url": MP.c.url,
        "status": t.enum_rank(MP.c.status, "merge_proposal_status"),
        "codebase": MP.c.codebase,
        "campaign": MP.c.campaign,
        "merged_at": MP.c.merged_at,
        "last_scanned": MP.c.last_scanned,
        "can_be_merged": MP.c.can_be_merged,
    },
    default=(SortKey("merged_at", descending=True), SortKey("url")),
    key=("url",),
)


def mp_json(row: Row[Any]) -> dict[str, Any]:
    return {
        "url": row.url,
        "status": row.status,
        "codebase": row.codebase,
        "campaign": row.campaign,
        "run_id": row.run_id,
        "target_branch_url": row.target_branch_url,
        "revision": row.revision,
        "merged_by": row.merged_by,
        "merged_at": timestamp(row.merged_at),
        "last_scanned": timestamp(row.last_scanned),
        "can_be_merged": row.can_be_merged,
        "rate_limit_bucket": row.rate_limit_bucket,
    }


def _mps_json(_conn: Connection, rows: list[Row[Any]]) -> list[dict[str, Any]]:
    return [mp_json(row) for row in rows]


def _conditions(
    params: QueryParams, *, with_codebase: bool = True, with_campaign: bool = True
) -> list[Any]:
    conditions = search(params.string("q", "search"), (MP.c.url_lower, MP.c.codebase_lower))
    if (url := params.string("url")) is not None:
        conditions.append(MP.c.url == url)
    if (status := params.enum("status", "merge_proposal_status")) is not None:
        conditions.append(MP.c.status == status)
    if (statuses := params.enums("statuses", "merge_proposal_status")) is not None:
        conditions.append(MP.c.status.in_(statuses))
    if with_codebase:
        if (codebase := params.string("codebase")) is not None:
            conditions.append(MP.c.codebase == codebase)
        if (codebases := params.strings("codebases")) is not None:
            conditions.append(MP.c.codebase.in_(codebases))
    if with_campaign and (campaign := params.string("campaign", "suite")) is not None:
        conditions.append(MP.c.campaign == campaign)
    if (mergeable := params.boolean("can_be_merged")) is not None:
        conditions.append(MP.c.can_be_merged == mergeable)
    return conditions


async def list_merge_proposals(request: Request) -> Response:
    call = await Call.begin(request)
    statement = sa.select(MP).where(*_conditions(call.params))
    return await listing.respond(call, statement, MP_ORDERING, _mps_json)


async def codebase_merge_proposals(request: Request) -> Response:
    call = await Call.begin(request)
    codebase = call.path("codebase")
    conditions = _conditions(call.params, with_codebase=False)
    statement = sa.select(MP).where(MP.c.codebase == codebase, *conditions)
    return await listing.respond(
        call, statement, MP_ORDERING, _mps_json, lambda conn: require_codebase(conn, codebase)
    )


async def campaign_merge_proposals(request: Request) -> Response:
    call = await Call.begin(request)
    campaign = call.path("campaign")
    conditions = _conditions(call.params, with_campaign=False)
    statement = sa.select(MP).where(MP.c.campaign == campaign, *conditions)
    return await listing.respond(
        call, statement, MP_ORDERING, _mps_json, lambda conn: require_campaign(conn, campaign)
    )
