"""Active run endpoints over HTTP (§5.6), against the emulator's own runner store (§4.5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from .api_support import (
    Model,
    contains,
    error,
    fetch_all,
    listing,
    ok,
    parse_sort,
    parse_ts,
    same,
    sort_items,
    ts,
    with_key,
)

KINDS = {"start_time": "ts"}
SORTABLE = ["start_time", "run_id", "codebase", "campaign", "worker_name", "current_duration"]


def expected_active_run(row: dict[str, Any]) -> dict[str, Any]:
    """The ActiveRun object, ``current_duration`` left as None (it depends on the clock)."""
    return {
        "run_id": row["run_id"],
        "queue_id": row["queue_id"],
        "codebase": row["codebase"],
        "campaign": row["suite"],
        "suite": row["suite"],
        "command": row["command"],
        "change_set": row["change_set"],
        "start_time": ts(row["start_time"]),
        "current_duration": None,
        "estimated_duration": row["estimated_duration"],
        "worker_name": row["worker"],
        "worker_link": row["worker_link"],
        "vcs_type": row["vcs_type"],
        "branch_url": row["branch_url"],
        "subpath": row["subpath"],
        "instigated_context": row["instigated_context"],
        "resume_from": row["resume_from"],
    }


@pytest.fixture(scope="module")
def active(model: Model) -> list[dict[str, Any]]:
    runs = [expected_active_run(row) for row in model.active_runs]
    return sort_items(runs, [("start_time", False), ("run_id", False)], KINDS)


def check_durations(runs: list[dict[str, Any]], before: dt.datetime, after: dt.datetime) -> list:
    """Check ``current_duration`` = response time − ``start_time``; return the runs without it."""
    for run in runs:
        start = parse_ts(run["start_time"])
        low, high = (before - start).total_seconds(), (after - start).total_seconds()
        assert low - 1 <= run["current_duration"] <= high + 1
    return [{**run, "current_duration": None} for run in runs]


def get_runs(api: httpx.Client, **params: str) -> list[dict[str, Any]]:
    before = dt.datetime.now(dt.timezone.utc)
    runs = fetch_all(api, "/api/active-runs", params)
    return check_durations(runs, before, dt.datetime.now(dt.timezone.utc))


def test_list(api: httpx.Client, active: list[dict[str, Any]]) -> None:
    assert len(active) >= 3
    same(get_runs(api), active)
    assert any(run["queue_id"] is None for run in active)
    assert any(run["instigated_context"] is not None for run in active)


def test_one_active_run(api: httpx.Client, active: list[dict[str, Any]]) -> None:
    for run in active:
        before = dt.datetime.now(dt.timezone.utc)
        response = api.get(f"/api/active-runs/{run['run_id']}")
        got = check_durations([ok(response)], before, dt.datetime.now(dt.timezone.utc))
        same(got, [run])
        assert response.headers["etag"] and response.headers["cache-control"] == "no-cache"


def test_finished_run_is_no_active_run(api: httpx.Client, model: Model) -> None:
    run_id = sorted(model.runs)[0]
    details = {"resource": "active_run", "run_id": run_id}
    error(api.get(f"/api/active-runs/{run_id}"), 404, "not_found", details)
    details = {"resource": "active_run", "run_id": "nope"}
    error(api.get("/api/active-runs/nope"), 404, "not_found", details)


def active_matches(params: Mapping[str, str], run: dict[str, Any]) -> bool:
    q = params.get("q") or params.get("search")
    campaign = params.get("campaign") or params.get("suite")
    return all(
        [
            q is None or contains(run["codebase"], q),
            "codebase" not in params or run["codebase"] == params["codebase"],
            campaign is None or run["campaign"] == campaign,
            "worker_name" not in params or run["worker_name"] == params["worker_name"],
        ]
    )


def test_filters(api: httpx.Client, active: list[dict[str, Any]]) -> None:
    first = active[0]
    cases: list[dict[str, str]] = [
        {"q": first["codebase"][1:4].upper()},
        {"search": first["codebase"]},
        {"q": first["codebase"], "search": "zzz"},
        {"codebase": first["codebase"]},
        {"codebase": first["codebase"].upper()},
        {"campaign": first["campaign"]},
        {"suite": first["campaign"]},
        {"campaign": "no-such-campaign"},
        {"worker_name": first["worker_name"]},
        {"worker_name": "worker-1", "campaign": "lintian-fixes"},
    ]
    for params in cases:
        expected = [run for run in active if active_matches(params, run)]
        same(get_runs(api, **params), expected)


@pytest.mark.parametrize(
    "sort",
    [*SORTABLE, *(f"-{field}" for field in SORTABLE), "campaign,-start_time",
     "-worker_name,codebase", "current_duration,run_id", "-current_duration,-run_id"],
)  # fmt: skip
def test_sort(api: httpx.Client, active: list[dict[str, Any]], sort: str) -> None:
    keys = with_key(parse_sort(sort), ["run_id"])
    # current_duration grows as start_time falls: sort by start_time the other way round.
    keys = [("start_time", not d) if f == "current_duration" else (f, d) for f, d in keys]
    expected = sort_items(active, keys, KINDS)
    data, _ = listing(api.get("/api/active-runs", params={"sort": sort}))
    assert [run["run_id"] for run in data] == [run["run_id"] for run in expected]
    if sort.endswith("current_duration"):
        durations = [run["current_duration"] for run in data]
        assert durations == sorted(durations, reverse=sort.startswith("-"))
