"""Queue endpoints (§5.5): the queue in its order, and its statistics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from starlette.requests import Request
from starlette.responses import Response

from .. import schema as t
from ..context import Call
from ..http import data_response, timestamp
from ..params import SortKey
from ..sql import search
from . import listing

#: Queue order: bucket (enum order), priority, id.
QUEUE_ORDER = (t.enum_rank(t.queue.c.bucket, "queue_bucket"), t.queue.c.priority, t.queue.c.id)


def _positions() -> sa.Subquery:
    """Each queue row with its 1-based ``position`` and ``wait_time`` (view queue_positions)."""
    q = t.queue.c
    running_total = sa.func.sum(q.estimated_duration).over(order_by=QUEUE_ORDER)
    return sa.select(
        t.queue,
        sa.func.row_number().over(order_by=QUEUE_ORDER).label("position"),
        (running_total - sa.func.coalesce(q.estimated_duration, 0.0)).label("wait_time"),
    ).subquery("queue_positions")


POSITIONED = _positions()

QUEUE_ORDERING = listing.Ordering(
    sortable={
        "position": POSITIONED.c.position,
        "id": POSITIONED.c.id,
        "codebase": POSITIONED.c.codebase,
        "campaign": POSITIONED.c.suite,
        "bucket": t.enum_rank(POSITIONED.c.bucket, "queue_bucket"),
        "priority": POSITIONED.c.priority,
        "estimated_duration": POSITIONED.c.estimated_duration,
    },
    default=(SortKey("position"), SortKey("id")),
    key=("id",),
)


def queue_item_json(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "position": row.position,
        "bucket": row.bucket,
        "codebase": row.codebase,
        "campaign": row.suite,
        "suite": row.suite,
        "command": row.command,
        "priority": row.priority,
        "context": row.context,
        "estimated_duration": row.estimated_duration,
        "wait_time": None if row.wait_time is None else float(row.wait_time),
        "refresh": bool(row.refresh),
        "requester": row.requester,
        "change_set": row.change_set,
        "branch_url": row.branch_url,
    }


def queue_entry(conn: Connection, queue_id: int) -> dict[str, Any]:
    """One queue row as a QueueItem object (it must exist)."""
    row = conn.execute(sa.select(POSITIONED).where(POSITIONED.c.id == queue_id)).one()
    return queue_item_json(row)


def _items_json(_conn: Connection, rows: list[Row[Any]]) -> list[dict[str, Any]]:
    return [queue_item_json(row) for row in rows]


async def list_queue_items(request: Request) -> Response:
    call = await Call.begin(request)
    params, q = call.params, POSITIONED.c
    conditions = search(params.string("q", "search"), (q.codebase_lower,))
    if (item_id := params.integer("id")) is not None:
        conditions.append(q.id == item_id)
    if (ids := params.integers("ids")) is not None:
        conditions.append(q.id.in_(ids))
    for name, column in (
        ("codebase", q.codebase),
        ("change_set", q.change_set),
        ("requester", q.requester),
    ):
        if (value := params.string(name)) is not None:
            conditions.append(column == value)
    if (codebases := params.strings("codebases")) is not None:
        conditions.append(q.codebase.in_(codebases))
    if (campaign := params.string("campaign", "suite")) is not None:
        conditions.append(q.suite == campaign)
    if (campaigns := params.strings("campaigns")) is not None:
        conditions.append(q.suite.in_(campaigns))
    if (bucket := params.enum("bucket", "queue_bucket")) is not None:
        conditions.append(q.bucket == bucket)
    statement = sa.select(POSITIONED).where(*conditions)
    return await listing.respond(call, statement, QUEUE_ORDERING, _items_json)


async def queue_stats(request: Request) -> Response:
    call = await Call.begin(request)
    runner_enabled = "runner" not in call.emulator.config.disabled_services
    return data_response(request, await call.read(lambda conn: _stats(conn, runner_enabled)))


def _stats(conn: Connection, runner_enabled: bool) -> dict[str, Any]:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    cand, cb, q, run, active = t.candidate.c, t.codebase.c, t.queue.c, t.run.c, t.active_run.c
    candidates: dict[str, int] = dict(
        conn.execute(
            sa.select(cand.suite, sa.func.count())
            .select_from(t.candidate.join(t.codebase, cb.name == cand.codebase))
            .where(cb.inactive.is_(sa.false()))
            .group_by(cand.suite)
        ).all()
    )
    pending: dict[str, int] = dict(
        conn.execute(sa.select(q.suite, sa.func.count()).group_by(q.suite)).all()
    )
    # Every campaign with a candidate (of any codebase) or a queue item is listed (§4.7).
    names = set(conn.scalars(sa.select(cand.suite).distinct())) | set(pending)
    running: dict[str, int] | None = (
        dict(conn.execute(sa.select(active.suite, sa.func.count()).group_by(active.suite)).all())
        if runner_enabled
        else None
    )
    run_stats = {
        row.suite: row
        for row in conn.execute(
            sa.select(
                run.suite,
                sa.func.count().label("runs"),
                sa.func.sum(sa.case((run.result_code == "success", 1), else_=0)).label("successes"),
                sa.func.max(run.finish_time).label("last_updated"),
            )
            .where(run.suite.in_(names))
            .group_by(run.suite)
        )
    }
    descriptions = dict(conn.execute(sa.select(t.campaign.c.name, t.campaign.c.description)).all())
    campaigns = []
    for name in sorted(names):
        stats = run_stats.get(name)
        campaigns.append(
            {
                "name": name,
                "total_candidates": candidates.get(name, 0),
                "pending_candidates": pending.get(name, 0),
                "active_runs": None if running is None else running.get(name, 0),
                "success_rate": stats.successes / stats.runs if stats else None,
                "last_updated": timestamp(stats.last_updated) if stats else None,
                "description": descriptions.get(name),
            }
        )
    recent = conn.scalar(
        sa.select(sa.func.count()).where(
            run.result_code == "success", run.finish_time >= now - dt.timedelta(hours=24)
        )
    )
    return {
        "queue": {
            "total_candidates": sum(candidates.values()),
            "pending_candidates": sum(pending.values()),
            "active_runs": None if running is None else sum(running.values()),
            "campaigns": campaigns,
        },
        "additional_stats": {"recent_successful_runs": recent, "timestamp": timestamp(now)},
    }
