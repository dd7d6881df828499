"""Run endpoints (§5.3, and ``/api/c/{codebase}/runs``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from .. import schema as t
from ..context import Call
from ..errors import ApiError, not_found, validation_error
from ..http import cacheable, data_response, json_body, optional_field, post_response
from . import listing
from .codebases import require_codebase
from .queue import queue_entry
from .runs_query import (
    RUN_COLUMNS,
    RUN_DEFAULT_ORDER,
    RUN_KEY,
    RUN_SORTABLE,
    load_run,
    run_conditions,
    runs_json,
)

RUN_ORDERING = listing.Ordering(RUN_SORTABLE, RUN_DEFAULT_ORDER, RUN_KEY)
#: Estimated duration when no run gives one (§5.3 reschedule, step 3).
FALLBACK_DURATION = 15.0


async def list_runs(request: Request) -> Response:
    call = await Call.begin(request)
    statement = sa.select(*RUN_COLUMNS).where(*run_conditions(call.params))
    return await listing.respond(call, statement, RUN_ORDERING, runs_json)


async def codebase_runs(request: Request) -> Response:
    call = await Call.begin(request)
    codebase = call.path("codebase")
    conditions = run_conditions(call.params, with_codebase=False)
    statement = sa.select(*RUN_COLUMNS).where(t.run.c.codebase == codebase, *conditions)
    return await listing.respond(
        call, statement, RUN_ORDERING, runs_json, lambda conn: require_codebase(conn, codebase)
    )


def _require_run(conn: Connection, run_id: str) -> dict[str, Any]:
    run = load_run(conn, run_id)
    if run is None:
        raise not_found("run", run_id=run_id)
    return run


async def get_run(request: Request) -> Response:
    call = await Call.begin(request)
    run_id = call.path("run_id")
    return data_response(request, await call.read(lambda conn: _require_run(conn, run_id)))


async def update_run(request: Request) -> Response:
    call = await Call.begin(request, "QaReviewer")
    run_id = call.path("run_id")
    body = await json_body(request)
    if "description" in body:
        description = optional_field(body, "description", (str, type(None)), "a string or null")

    def work(conn: Connection) -> dict[str, Any]:
        _require_run(conn, run_id)
        if "description" in body:
            conn.execute(
                t.run.update()
                .where(t.run.c.id == run_id)
                .values(
                    description=description,
                    description_lower=None if description is None else description.lower(),
                )
            )
        return _require_run(conn, run_id)

    return post_response(await call.write(work))


async def run_diff(request: Request) -> Response:
    call = await Call.begin(request)
    run_id = call.path("run_id")
    role = call.params.string("role") or "main"
    store_enabled = "vcs" not in call.emulator.config.disabled_services

    def work(conn: Connection) -> bytes:
        run = _require_run(conn, run_id)
        unavailable = ApiError(
            "diff_unavailable",
            f"Run {run_id!r} has no diff for role {role!r}",
            {"run_id": run_id, "role": role},
        )
        branch = next((b for b in run["result_branches"] if b["role"] == role), None)
        if run["vcs_type"] is None or branch is None or branch["revision"] is None:
            raise unavailable
        if not store_enabled:
            from ..errors import unavailable as service_unavailable

            raise service_unavailable("vcs")
        d = t.vcs_diff.c
        row = conn.execute(
            sa.select(d.diff, d.base_revision).where(
                d.codebase == run["codebase"], d.revision == branch["revision"]
            )
        ).first()
        if row is None or row.base_revision != branch["base_revision"]:
            raise unavailable
        return bytes(row.diff)

    return cacheable(request, await call.read(work), "text/x-diff")


async def reschedule(request: Request) -> Response:
    call = await Call.begin(request, "QaReviewer")
    run_id = call.path("run_id")
    body = await json_body(request)
    offset = optional_field(body, "offset", int, "an integer")
    offset = -1 if offset is None else offset
    refresh = bool(optional_field(body, "refresh", bool, "a boolean"))
    requester = optional_field(body, "requester", str, "a string")
    if requester is None:
        assert call.principal is not None
        requester = call.principal.requester

    def work(conn: Connection) -> dict[str, Any]:
        run = _require_run(conn, run_id)
        if run["result_code"] == "success":
            raise ApiError(
                "cannot_reschedule_success",
                f"Run {run_id!r} succeeded; it cannot be rescheduled",
                {"run_id": run_id, "result_code": "success"},
            )
        command = _command_for(conn, run)
        if command is None:
            raise ApiError(
                "no_command", f"No command is known for run {run_id!r}", {"run_id": run_id}
            )
        minimum = conn.scalar(sa.select(sa.func.min(t.queue.c.priority))) or 0
        priority = minimum + offset
        if not -(2**63) <= priority < 2**63:
            raise validation_error(
                "offset", offset, "an offset keeping the priority within 64 bits"
            )
        queue_id = _upsert_queue(
            conn,
            run,
            {
                "bucket": "manual",
                "command": command,
                "priority": priority,
                "estimated_duration": _estimated_duration(conn, run["codebase"], run["campaign"]),
                "refresh": refresh,
                "requester": requester,
                "context": None,
            },
        )
        entry = queue_entry(conn, queue_id)
        return {
            "queue_id": entry["id"],
            "codebase": entry["codebase"],
            "campaign": entry["campaign"],
            "bucket": entry["bucket"],
            "offset": offset,
            "estimated_duration_seconds": entry["estimated_duration"],
            "queue_position": entry["position"],
            "queue_wait_time": entry["wait_time"] or 0.0,
            "refresh": entry["refresh"],
            "requester": entry["requester"],
        }

    return post_response(await call.write(work))


def _command_for(conn: Connection, run: dict[str, Any]) -> str | None:
    from .runs_query import chosen_candidate_id

    c = t.candidate.c
    command: str | None = conn.scalar(
        sa.select(c.command).where(c.id == chosen_candidate_id(run["codebase"], run["campaign"]))
    )
    fallback: str | None = run["command"]
    return command if command is not None else fallback


def _estimated_duration(conn: Connection, codebase: str, campaign: str) -> float:
    r = t.run.c
    stable = r.failure_transient.is_not(sa.true())
    for scope in (
        (r.codebase == codebase, r.suite == campaign),
        (r.codebase == codebase,),
        (r.suite == campaign,),
    ):
        average = conn.scalar(sa.select(sa.func.avg(r.duration)).where(stable, *scope))
        if average is not None:
            return float(average)
    return FALLBACK_DURATION


def _upsert_queue(conn: Connection, run: dict[str, Any], values: dict[str, Any]) -> int:
    """Insert or overwrite the pair's queue row, unless it sits in an earlier bucket.

    One ``INSERT … ON CONFLICT DO UPDATE`` on the queue's unique key, so that concurrent
    reschedules of a pair cannot both insert. Its ``WHERE`` leaves a row of an earlier bucket
    alone; that row's id is then read back (the statement returns no row).
    """
    q = t.queue.c
    insert = sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
    buckets = t.ENUMS["queue_bucket"]
    earlier = buckets[: buckets.index(values["bucket"])]
    statement = (
        insert(t.queue)
        .values(
            codebase=run["codebase"],
            codebase_lower=run["codebase"].lower(),
            suite=run["campaign"],
            branch_url=None,
            change_set=None,
            **values,
        )
        .on_conflict_do_update(
            index_elements=t.QUEUE_KEY, set_=values, where=q.bucket.not_in(earlier)
        )
        .returning(q.id)
    )
    queue_id = conn.scalar(statement)
    if queue_id is None:
        queue_id = conn.scalar(
            sa.select(q.id).where(
                q.codebase == run["codebase"], q.suite == run["campaign"], q.change_set.is_(None)
            )
        )
    assert queue_id is not None
    return int(queue_id)
