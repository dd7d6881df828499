"""Campaign endpoints (§5.7): the ready list, one codebase in a campaign, and publishing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from starlette.requests import Request
from starlette.responses import Response

from .. import schema as t
from ..context import Call
from ..errors import ApiError, not_found, unavailable, validation_error
from ..http import data_response, json_body, optional_field, post_response
from ..params import SortKey
from ..sql import search, storable
from . import listing
from .codebases import require_codebase
from .queue import POSITIONED
from .runs_query import RUN_COLUMNS, load_run, ready_runs, runs_json

#: Reserved first segments (§1): never a campaign.
RESERVED = frozenset(
    [
        "active-runs",
        "admin",
        "c",
        "codebases",
        "export",
        "health",
        "merge-proposals",
        "pkgnames",
        "queue",
        "run",
        "runner",
        "runs",
        "search",
        "status",
        "templates",
        "user",
    ]
)
PUBLISH_MODES = ("push-derived", "push", "propose", "attempt-push")

READY = ready_runs()

READY_ORDERING = listing.Ordering(
    sortable={
        "value": t.run.c.value,
        "start_time": t.run.c.start_time,
        "finish_time": t.run.c.finish_time,
        "codebase": t.run.c.codebase,
        "run_id": t.run.c.id,
    },
    default=(SortKey("value", True), SortKey("start_time", True), SortKey("run_id")),
    key=("run_id",),
)


def campaign_known(conn: Connection, campaign: str) -> bool:
    """Known from candidates, the queue, runs or the campaign configuration (§5.4)."""
    sources = (t.candidate.c.suite, t.queue.c.suite, t.run.c.suite, t.campaign.c.name)
    return storable(campaign) and any(
        conn.scalar(sa.select(sa.literal(1)).where(column == campaign).limit(1)) is not None
        for column in sources
    )


def require_campaign(conn: Connection, campaign: str) -> None:
    if not campaign_known(conn, campaign):
        raise not_found("campaign", campaign=campaign)


def _unpublished_branches(
    conn: Connection, rows: list[Row[Any]]
) -> dict[str, list[dict[str, Any]]]:
    """UnpublishedBranch lists of ready runs: non-``main`` roles first, then ``main``."""
    b, rule = t.new_result_branch.c, t.publish_policy_rule.c
    policies = {row.id: row.publish_policy for row in rows}
    rules = {
        (r.policy_name, r.role): r
        for r in conn.execute(
            sa.select(t.publish_policy_rule).where(rule.policy_name.in_(set(policies.values())))
        )
    }
    branches: dict[str, list[dict[str, Any]]] = defaultdict(list)
    unabsorbed = conn.execute(
        sa.select(t.new_result_branch)
        .where(
            b.run_id.in_(list(policies)), sa.func.coalesce(b.absorbed, sa.false()).is_(sa.false())
        )
        .order_by(b.run_id, sa.case((b.role == "main", 1), else_=0), b.role)
    )
    for branch in unabsorbed:
        policy_rule = rules.get((policies[branch.run_id], branch.role))
        branches[branch.run_id].append(
            {
                "role": branch.role,
                "name": branch.remote_name,
                "base_revision": branch.base_revision,
                "revision": branch.revision,
                "mode": policy_rule.mode if policy_rule else None,
                "frequency_days": policy_rule.frequency_days if policy_rule else None,
            }
        )
    return branches


def _ready_runs_json(conn: Connection, rows: list[Row[Any]]) -> list[dict[str, Any]]:
    runs = runs_json(conn, rows)
    branches = _unpublished_branches(conn, rows)
    for run, row in zip(runs, rows, strict=True):
        run.update(
            publish_policy=row.publish_policy,
            rate_limit_bucket=row.rate_limit_bucket,
            policy_command=row.policy_command,
            change_set_state=row.change_set_state,
            unpublished_branches=branches.get(row.id, []),
        )
    return runs


async def ready_list(request: Request) -> Response:
    call = await Call.begin(request)
    campaign = call.path("campaign")
    params, run = call.params, t.run.c
    conditions = search(params.string("q", "search"), (run.codebase_lower,))
    if (codebase := params.string("codebase")) is not None:
        conditions.append(run.codebase == codebase)
    if (codebases := params.strings("codebases")) is not None:
        conditions.append(run.codebase.in_(codebases))
    if (status := params.enum("publish_status", "publish_status")) is not None:
        conditions.append(run.publish_status == status)
    statement = (
        sa.select(
            *RUN_COLUMNS,
            READY.c.publish_policy,
            READY.c.rate_limit_bucket,
            READY.c.policy_command,
            READY.c.change_set_state,
        )
        .select_from(t.run.join(READY, READY.c.run_id == run.id))
        .where(READY.c.suite == campaign, *conditions)
    )
    return await listing.respond(
        call,
        statement,
        READY_ORDERING,
        _ready_runs_json,
        lambda conn: require_campaign(conn, campaign),
    )


def _chosen(table: sa.Table, codebase: str, campaign: str) -> sa.Select[Any]:
    """The pair's row of ``candidate`` or ``queue``: without change set first, then by id."""
    c = table.c
    return (
        sa.select(table)
        .where(c.codebase == codebase, c.suite == campaign)
        .order_by(sa.case((c.change_set.is_(None), 0), else_=1), c.id)
        .limit(1)
    )


async def campaign_codebase(request: Request) -> Response:
    call = await Call.begin(request)
    campaign, codebase = call.path("campaign"), call.path("codebase")
    return data_response(
        request, await call.read(lambda conn: _campaign_codebase(conn, campaign, codebase))
    )


def _campaign_codebase(conn: Connection, campaign: str, codebase: str) -> dict[str, Any]:
    require_codebase(conn, codebase)
    require_campaign(conn, campaign)
    candidate = conn.execute(_chosen(t.candidate, codebase, campaign)).first()
    has_run = conn.scalar(
        sa.select(sa.literal(1))
        .where(t.run.c.codebase == codebase, t.run.c.suite == campaign)
        .limit(1)
    )
    if candidate is None and has_run is None:
        raise not_found("campaign_codebase", campaign=campaign, codebase=codebase)
    cb = conn.execute(sa.select(t.codebase).where(t.codebase.c.name == codebase)).one()
    last = conn.execute(
        sa.select(t.last_run).where(
            t.last_run.c.codebase == codebase, t.last_run.c.suite == campaign
        )
    ).first()
    queued_id = conn.scalar(sa.select(_chosen(t.queue, codebase, campaign).subquery().c.id))
    queued = (
        conn.execute(sa.select(POSITIONED).where(POSITIONED.c.id == queued_id)).first()
        if queued_id is not None
        else None
    )
    return {
        "codebase": codebase,
        "campaign": campaign,
        "command": candidate.command if candidate else None,
        "publish_policy": candidate.publish_policy if candidate else None,
        "value": candidate.value if candidate else None,
        "success_chance": candidate.success_chance if candidate else None,
        "context": candidate.context if candidate else None,
        "change_set": candidate.change_set if candidate else None,
        "priority": queued.priority if queued else None,
        "vcs_url": cb.url,
        "vcs_type": cb.vcs_type,
        "branch_url": cb.branch_url,
        "last_run": load_run(conn, last.last_run_id) if last and last.last_run_id else None,
        "last_effective_run_id": last.last_effective_run_id if last else None,
        "last_unabsorbed_run_id": last.last_unabsorbed_run_id if last else None,
        "queue_id": queued.id if queued else None,
        "queue_position": queued.position if queued else None,
        "queue_wait_time": None
        if queued is None or queued.wait_time is None
        else float(queued.wait_time),
    }


async def publish(request: Request) -> Response:
    call = await Call.begin(request, "Admin")
    campaign, codebase = call.path("campaign"), call.path("codebase")
    body = await json_body(request)
    mode = optional_field(body, "mode", str, "one of " + ", ".join(PUBLISH_MODES))
    if mode is not None and mode not in PUBLISH_MODES:
        raise validation_error("mode", mode, "one of " + ", ".join(PUBLISH_MODES))
    requester = optional_field(body, "requester", str, "a string")
    if requester is None:
        assert call.principal is not None
        requester = call.principal.requester
    publisher_enabled = "publisher" not in call.emulator.config.disabled_services

    def work(conn: Connection) -> tuple[dict[str, Any], int]:
        require_codebase(conn, codebase)
        require_campaign(conn, campaign)
        run = _last_unabsorbed_run(conn, campaign, codebase)
        if run["result_code"] != "success":
            raise ApiError(
                "no_successful_run",
                f"The last unabsorbed run of {codebase!r} in {campaign!r} did not succeed",
                {
                    "campaign": campaign,
                    "codebase": codebase,
                    "run_id": run["run_id"],
                    "result_code": run["result_code"],
                },
            )
        if not publisher_enabled:
            raise unavailable("publisher")
        publish_ids = _publish_branches(conn, run, mode, requester)
        result = {
            "campaign": campaign,
            "codebase": codebase,
            "run_id": run["run_id"],
            "mode": mode,
            "status": "initiated" if publish_ids else "nothing_to_do",
            "publish_ids": publish_ids,
        }
        return result, 202 if publish_ids else 200

    data, status = await call.write(work)
    return post_response(data, status)


def _last_unabsorbed_run(conn: Connection, campaign: str, codebase: str) -> dict[str, Any]:
    last = t.last_run.c
    run_id = conn.scalar(
        sa.select(last.last_unabsorbed_run_id).where(
            last.codebase == codebase, last.suite == campaign
        )
    )
    run = load_run(conn, run_id) if run_id is not None else None
    if run is None:
        raise ApiError(
            "no_run_found",
            f"No unabsorbed run of {codebase!r} in {campaign!r}",
            {"campaign": campaign, "codebase": codebase},
        )
    return run


def _publish_branches(
    conn: Connection, run: dict[str, Any], mode: str | None, requester: str
) -> dict[str, str]:
    """The built-in publisher: record a publish of every unabsorbed branch of the run."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    publish_ids: dict[str, str] = {}
    for branch in run["result_branches"]:
        if branch["absorbed"]:
            continue
        publish_id = str(uuid.uuid4())
        conn.execute(
            t.publish.insert().values(
                id=publish_id,
                codebase=run["codebase"],
                suite=run["campaign"],
                run_id=run["run_id"],
                role=branch["role"],
                mode=mode,
                requester=requester,
                result_code="initiated",
                timestamp=now,
            )
        )
        publish_ids[branch["role"]] = publish_id
    return publish_ids
