"""Run rows: the v1 Run shape (§4.2), its filters and order, and the campaign ready list (§4.6)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import schema as t
from ..http import timestamp
from ..params import QueryParams, SortKey
from ..sql import search, storable

RUN_COLUMNS = (
    t.run.c.id,
    t.run.c.codebase,
    t.run.c.suite,
    t.run.c.command,
    t.run.c.description,
    t.run.c.result_code,
    t.run.c.failure_stage,
    t.run.c.failure_details,
    t.run.c.failure_transient,
    t.run.c.start_time,
    t.run.c.finish_time,
    t.run.c.duration,
    t.run.c.main_branch_revision,
    t.run.c.revision,
    t.run.c.context,
    t.run.c.instigated_context,
    t.run.c.result,
    t.run.c.vcs_type,
    t.run.c.branch_url,
    t.run.c.subpath,
    t.run.c.target_branch_url,
    t.run.c.logfilenames,
    t.run.c.publish_status,
    t.run.c.value,
    t.run.c.worker,
    t.run.c.worker_link,
    t.run.c.change_set,
    t.run.c.resume_from,
    t.run.c.result_tags,
)

RUN_SORTABLE: Mapping[str, sa.ColumnElement[Any]] = {
    "run_id": t.run.c.id,
    "codebase": t.run.c.codebase,
    "campaign": t.run.c.suite,
    "start_time": t.run.c.start_time,
    "finish_time": t.run.c.finish_time,
    "duration": t.run.c.duration,
    "result_code": t.run.c.result_code,
    "publish_status": t.enum_rank(t.run.c.publish_status, "publish_status"),
    "value": t.run.c.value,
    "worker_name": t.run.c.worker,
}
RUN_DEFAULT_ORDER = (SortKey("start_time", descending=True), SortKey("run_id"))
RUN_KEY = ("run_id",)

#: Publishing modes that put a branch on the ready list.
READY_MODES = ("propose", "attempt-push", "push-derived", "push")


def _json_column(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def run_json(row: Any, branches: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The v1 Run object of a row selected with :data:`RUN_COLUMNS`."""
    tags = _json_column(row.result_tags) or []
    return {
        "run_id": row.id,
        "codebase": row.codebase,
        "campaign": row.suite,
        "suite": row.suite,
        "command": row.command,
        "description": row.description,
        "result_code": row.result_code,
        "failure_stage": row.failure_stage,
        "failure_details": _json_column(row.failure_details),
        "failure_transient": row.failure_transient,
        "start_time": timestamp(row.start_time),
        "finish_time": timestamp(row.finish_time),
        "duration": row.duration,
        "main_branch_revision": row.main_branch_revision,
        "revision": row.revision,
        "context": row.context,
        "instigated_context": row.instigated_context,
        "result": _json_column(row.result),
        "vcs_type": row.vcs_type,
        "branch_url": row.branch_url,
        "subpath": row.subpath,
        "target_branch_url": row.target_branch_url,
        "logfilenames": _json_column(row.logfilenames) or [],
        "publish_status": row.publish_status,
        "value": row.value,
        "worker_name": row.worker,
        "worker_link": row.worker_link,
        "change_set": row.change_set,
        "resume_from": row.resume_from,
        "result_branches": list(branches),
        "result_tags": [{"name": tag["name"], "revision": tag["revision"]} for tag in tags],
    }


def result_branches(conn: Connection, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The ResultBranch objects of several runs, each list ordered by role."""
    branches: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not run_ids:
        return branches
    nrb = t.new_result_branch
    rows = conn.execute(
        sa.select(nrb).where(nrb.c.run_id.in_(run_ids)).order_by(nrb.c.run_id, nrb.c.role)
    )
    for row in rows:
        branches[row.run_id].append(
            {
                "role": row.role,
                "name": row.remote_name,
                "base_revision": row.base_revision,
                "revision": row.revision,
                "absorbed": bool(row.absorbed),
            }
        )
    return branches


def runs_json(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    """Run objects for rows, with their result branches fetched in one query."""
    branches = result_branches(conn, [row.id for row in rows])
    return [run_json(row, branches.get(row.id, ())) for row in rows]


def load_run(conn: Connection, run_id: str) -> dict[str, Any] | None:
    if not storable(run_id):
        return None
    row = conn.execute(sa.select(*RUN_COLUMNS).where(t.run.c.id == run_id)).first()
    return None if row is None else runs_json(conn, [row])[0]


def run_conditions(params: QueryParams, *, with_codebase: bool = True) -> list[Any]:
    """WHERE conditions for the filters of ``GET /api/runs`` (§5.3)."""
    run = t.run.c
    conditions = search(
        params.string("q", "search"), (run.id_lower, run.codebase_lower, run.description_lower)
    )
    exact = {
        "run_id": run.id,
        "result_code": run.result_code,
        "worker_name": run.worker,
        "change_set": run.change_set,
    }
    plural = {"run_ids": run.id, "result_codes": run.result_code, "campaigns": run.suite}
    if with_codebase:
        exact["codebase"] = run.codebase
        plural["codebases"] = run.codebase
    for name, column in exact.items():
        if (value := params.string(name)) is not None:
            conditions.append(column == value)
    for name, column in plural.items():
        if (values := params.strings(name)) is not None:
            conditions.append(column.in_(values))
    if (campaign := params.string("campaign", "suite")) is not None:
        conditions.append(run.suite == campaign)
    if params.flag("success_only"):
        conditions.append(run.result_code == "success")
    for name, enum in (("publish_status", "publish_status"), ("vcs_type", "vcs_type")):
        if (value := params.enum(name, enum)) is not None:
            conditions.append(getattr(run, name) == value)
    if (transient := params.boolean("failure_transient")) is not None:
        conditions.append(run.failure_transient == transient)
    if params.flag("publishable_only"):
        conditions.append(run.id.in_(sa.select(ready_runs().c.run_id)))
    conditions += time_range(params, run.start_time)
    return conditions


def time_range(params: QueryParams, column: sa.ColumnElement[Any]) -> list[Any]:
    """``start_time`` (inclusive) and ``end_time`` (exclusive) bounds on ``column``."""
    conditions = []
    if (start := params.timestamp("start_time")) is not None:
        conditions.append(column >= start)
    if (end := params.timestamp("end_time")) is not None:
        conditions.append(column < end)
    return conditions


def chosen_candidate_id(codebase: Any, suite: Any) -> sa.ScalarSelect[Any]:
    """ "The candidate" of a pair (§4.6): the one without change set, else the smallest id."""
    c = t.candidate.alias("chosen_candidate").c
    return (
        sa.select(c.id)
        .where(c.codebase == codebase, c.suite == suite)
        .order_by(sa.case((c.change_set.is_(None), 0), else_=1), c.id)
        .limit(1)
        .scalar_subquery()
    )


def ready_branch(run_id: Any, policy: Any) -> sa.Exists:
    """A branch of the run with a publishing mode and no merge proposal for its revision."""
    b, rule, mp = t.new_result_branch.c, t.publish_policy_rule.c, t.merge_proposal.c
    return sa.exists().where(
        b.run_id == run_id,
        sa.func.coalesce(b.absorbed, sa.false()).is_(sa.false()),
        rule.policy_name == policy,
        rule.role == b.role,
        rule.mode.in_(READY_MODES),
        ~sa.exists().where(mp.revision == b.revision),
    )


def ready_runs() -> sa.Subquery:
    """The ready lists of all campaigns: ``publish_ready`` rows with a branch to publish."""
    run, cand, policy = t.run, t.candidate, t.named_publish_policy
    last, change_set = t.last_run, t.change_set
    return (
        sa.select(
            run.c.id.label("run_id"),
            run.c.suite.label("suite"),
            run.c.codebase.label("codebase"),
            policy.c.name.label("publish_policy"),
            policy.c.rate_limit_bucket.label("rate_limit_bucket"),
            cand.c.command.label("policy_command"),
            sa.func.coalesce(change_set.c.state, "created").label("change_set_state"),
        )
        .select_from(
            run.join(
                last,
                sa.and_(
                    last.c.codebase == run.c.codebase,
                    last.c.suite == run.c.suite,
                    last.c.last_effective_run_id == run.c.id,
                ),
            )
            .join(cand, cand.c.id == chosen_candidate_id(run.c.codebase, run.c.suite))
            .join(policy, policy.c.name == cand.c.publish_policy)
            .outerjoin(change_set, change_set.c.id == run.c.change_set)
        )
        .where(run.c.result_code == "success", ready_branch(run.c.id, policy.c.name))
        .subquery("ready")
    )
