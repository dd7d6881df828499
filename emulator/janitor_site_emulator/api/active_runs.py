"""Active run endpoints (§5.6), served from the emulator's own runner store."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from starlette.requests import Request
from starlette.responses import Response

from .. import schema as t
from ..context import Call
from ..errors import not_found, unavailable
from ..http import data_response, timestamp
from ..params import SortKey
from ..sql import search, storable
from . import listing

ACTIVE = t.active_run.c


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


#: ``current_duration`` is computed when the response is made: it sorts by start time, inverted.
ACTIVE_ORDERING = listing.Ordering(
    sortable={
        "start_time": ACTIVE.start_time,
        "run_id": ACTIVE.run_id,
        "codebase": ACTIVE.codebase,
        "campaign": ACTIVE.suite,
        "worker_name": ACTIVE.worker,
        "current_duration": ACTIVE.start_time,
    },
    default=(SortKey("start_time"), SortKey("run_id")),
    key=("run_id",),
    inverted=frozenset({"current_duration"}),
)


def active_run_json(row: Row[Any], now: dt.datetime) -> dict[str, Any]:
    return {
        "run_id": row.run_id,
        "queue_id": row.queue_id,
        "codebase": row.codebase,
        "campaign": row.suite,
        "suite": row.suite,
        "command": row.command,
        "change_set": row.change_set,
        "start_time": timestamp(row.start_time),
        "current_duration": (now - row.start_time).total_seconds(),
        "estimated_duration": row.estimated_duration,
        "worker_name": row.worker,
        "worker_link": row.worker_link,
        "vcs_type": row.vcs_type,
        "branch_url": row.branch_url,
        "subpath": row.subpath,
        "instigated_context": row.instigated_context,
        "resume_from": row.resume_from,
    }


def _active_runs_json(_conn: Connection, rows: list[Row[Any]]) -> list[dict[str, Any]]:
    now = _now()
    return [active_run_json(row, now) for row in rows]


def _require_runner(call: Call) -> None:
    """503 when the runner is switched off: after the request's own checks (§2.1 step 7)."""
    if "runner" in call.emulator.config.disabled_services:
        raise unavailable("runner")


async def list_active_runs(request: Request) -> Response:
    call = await Call.begin(request)
    params = call.params
    conditions = search(params.string("q", "search"), (ACTIVE.codebase_lower,))
    if (codebase := params.string("codebase")) is not None:
        conditions.append(ACTIVE.codebase == codebase)
    if (campaign := params.string("campaign", "suite")) is not None:
        conditions.append(ACTIVE.suite == campaign)
    if (worker := params.string("worker_name")) is not None:
        conditions.append(ACTIVE.worker == worker)
    statement = sa.select(t.active_run).where(*conditions)
    return await listing.respond(
        call, statement, ACTIVE_ORDERING, _active_runs_json, lambda _conn: _require_runner(call)
    )


async def get_active_run(request: Request) -> Response:
    call = await Call.begin(request)
    _require_runner(call)
    run_id = call.path("run_id")

    def work(conn: Connection) -> dict[str, Any]:
        query = sa.select(t.active_run).where(ACTIVE.run_id == run_id)
        row = conn.execute(query).first() if storable(run_id) else None
        if row is None:
            raise not_found("active_run", run_id=run_id)
        return active_run_json(row, _now())

    return data_response(request, await call.read(work))
