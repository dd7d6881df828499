"""Run endpoints over HTTP (§5.3): the list, its filters and orders, one run and its diff;
expectations computed in Python from the database (§4.2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest

from .api_support import (
    ENUMS,
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

KINDS = {
    "start_time": "ts",
    "finish_time": "ts",
    "publish_status": ENUMS["PublishStatus"],
}
SORTABLE = ["run_id", "codebase", "campaign", "start_time", "finish_time", "duration",
            "result_code", "publish_status", "value", "worker_name"]  # fmt: skip
DEFAULT = [("start_time", True), ("run_id", False)]
#: A subset of ~640 runs holding NULLs in every nullable sortable field.
SUBSET = {"campaigns": "debianize,scrub-obsolete"}


@pytest.fixture(scope="module")
def all_runs(model: Model) -> list[dict[str, Any]]:
    """Every run as the v1 object, in the default order."""
    return sort_items([model.run_json(run_id) for run_id in model.runs], DEFAULT, KINDS)


def test_full_list(api: httpx.Client, all_runs: list[dict[str, Any]]) -> None:
    same(fetch_all(api, "/api/runs"), all_runs)


def test_one_run(api: httpx.Client, model: Model, all_runs: list[dict[str, Any]]) -> None:
    picks = all_runs[::97] + [
        next(r for r in all_runs if r["result_tags"]),
        next(r for r in all_runs if len(r["result_branches"]) > 1),
        next(r for r in all_runs if r["failure_details"] is not None),
        next(r for r in all_runs if r["start_time"] is None),
        next(r for r in all_runs if r["resume_from"] is not None),
    ]
    for run in picks:
        same(ok(api.get(f"/api/run/{run['run_id']}")), run)


@pytest.mark.parametrize("run_id", ["no-such-run", "ÄÖÜ", "a b"])
def test_unknown_run(api: httpx.Client, run_id: str, all_runs: list[dict[str, Any]]) -> None:
    raw = httpx.URL("/api/run/" + run_id).raw_path.decode()
    error(api.get(raw), 404, "not_found", {"resource": "run", "run_id": run_id})
    error(api.get(raw + "/diff"), 404, "not_found", {"resource": "run", "run_id": run_id})
    upper = all_runs[0]["run_id"].upper()
    error(api.get(f"/api/run/{upper}"), 404, "not_found", {"resource": "run", "run_id": upper})


# Filters ---------------------------------------------------------------------------------------


#: Exact and IN filters of ``GET /api/runs``: parameter -> Run key.
EXACT = {
    "run_id": "run_id",
    "codebase": "codebase",
    "result_code": "result_code",
    "worker_name": "worker_name",
    "change_set": "change_set",
    "publish_status": "publish_status",
    "vcs_type": "vcs_type",
}
PLURAL = {
    "run_ids": "run_id",
    "codebases": "codebase",
    "campaigns": "campaign",
    "result_codes": "result_code",
}


def _equals(field: str, value: str) -> Callable[[dict[str, Any]], bool]:
    return lambda item: item[field] == value


def _within(field: str, values: list[str]) -> Callable[[dict[str, Any]], bool]:
    return lambda item: item[field] in values


def run_filter(model: Model, params: Mapping[str, str]) -> Callable[[dict[str, Any]], bool]:
    """§5.3 filters of one request, in Python, as a predicate on Run objects."""
    tests: list[Callable[[dict[str, Any]], bool]] = []
    q = params.get("q") or params.get("search")
    if q is not None:
        tests.append(
            lambda r: any(contains(r[f], q) for f in ("run_id", "codebase", "description"))
        )
    for name, field in EXACT.items():
        if name in params:
            tests.append(_equals(field, params[name]))
    for name, field in PLURAL.items():
        if name in params:
            tests.append(_within(field, params[name].split(",")))
    campaign = params.get("campaign") or params.get("suite")
    if campaign is not None:
        tests.append(lambda r: r["campaign"] == campaign)
    if params.get("success_only") == "true":
        tests.append(lambda r: r["result_code"] == "success")
    if "failure_transient" in params:
        wanted = params["failure_transient"] == "true"
        tests.append(lambda r: r["failure_transient"] is wanted)
    if params.get("publishable_only") == "true":
        tests.append(lambda r: r["run_id"] in model.ready_run_ids)
    if "start_time" in params:
        low = parse_ts(params["start_time"])
        tests.append(lambda r: r["start_time"] is not None and parse_ts(r["start_time"]) >= low)
    if "end_time" in params:
        high = parse_ts(params["end_time"])
        tests.append(lambda r: r["start_time"] is not None and parse_ts(r["start_time"]) < high)
    return lambda run: all(test(run) for test in tests)


FILTERS: list[dict[str, str]] = [
    {"q": "ISTANBUL"},
    {"q": "İSTANBUL"},
    {"q": "i̇stanbul"},
    {"q": "ΣΊΣΥΦΟΣ"},
    {"q": "σίσυφος"},
    {"q": "straße"},
    {"q": "STRASSE"},
    {"q": "ångström"},
    {"q": "ıi"},
    {"search": "Fixed 3"},
    {"q": "python-debian"},
    {"q": "%"},
    {"q": "_"},
    {"q": "*"},
    {"q": "\\"},
    {"q": "exit status 6."},
    {"q": "00"},
    {"codebase": "python-debian"},
    {"codebase": "PYTHON-DEBIAN"},
    {"codebases": "0ad,python-debian,gtk+3.0"},
    {"codebase": "0ad", "codebases": "0ad,python-debian"},
    {"codebase": "0ad", "codebases": "python-debian"},
    {"campaign": "debianize"},
    {"suite": "debianize"},
    {"campaigns": "debianize,multiarch-fixes"},
    {"campaign": "debianize", "campaigns": "debianize,scrub-obsolete"},
    {"campaign": "no-such-campaign"},
    {"result_code": "build-failed"},
    {"result_codes": "nothing-to-do,nothing-new-to-do"},
    {"result_code": "success", "result_codes": "success,cancelled", "campaign": "fresh-releases"},
    {"success_only": "true", "campaign": "scrub-obsolete"},
    {"success_only": "false", "campaign": "debianize"},
    *({"publish_status": value, "campaign": "fresh-snapshots"} for value in ENUMS["PublishStatus"]),
    *({"vcs_type": value} for value in ("bzr", "svn", "mtn", "hg", "arch", "cvs", "darcs")),
    {"vcs_type": "git", "campaign": "debianize"},
    {"worker_name": "worker-3", "campaign": "multiarch-fixes"},
    {"worker_name": "worker-9"},
    {"failure_transient": "true"},
    {"failure_transient": "false"},
    {"failure_transient": "false", "result_code": "build-failed"},
    {"publishable_only": "true"},
    {"publishable_only": "true", "campaign": "lintian-fixes"},
    {"publishable_only": "false", "campaign": "debianize"},
    {"start_time": "2026-10-15T00:00:00Z"},
    {"end_time": "2025-01-01"},
    {
        "start_time": "2026-01-01T02:00:00+02:00",
        "end_time": "2026-02-01",
        "codebases": "0ad,node-io",
    },
    {"start_time": "2026-10-31", "end_time": "2026-10-30"},
    {"q": "fixed", "success_only": "true", "vcs_type": "git", "campaign": "multiarch-fixes"},
]


@pytest.mark.parametrize(
    "params", FILTERS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_filter(
    api: httpx.Client, model: Model, all_runs: list[dict[str, Any]], params: dict[str, str]
) -> None:
    data, pagination = listing(api.get("/api/runs", params={**params, "limit": 1000}))
    expected = [run for run in all_runs if run_filter(model, params)(run)]
    assert pagination["total"] == len(expected)
    same(data, expected[:1000])


def test_change_set_filter(api: httpx.Client, all_runs: list[dict[str, Any]]) -> None:
    counts: dict[str, int] = {}
    for run in all_runs:
        counts[run["change_set"]] = counts.get(run["change_set"], 0) + 1
    shared = max(counts, key=lambda change_set: counts[change_set])
    assert counts[shared] > 1
    same(fetch_all(api, "/api/runs", {"change_set": shared}),
         [r for r in all_runs if r["change_set"] == shared])  # fmt: skip


def test_run_id_filters(api: httpx.Client, all_runs: list[dict[str, Any]]) -> None:
    picked = [r["run_id"] for r in all_runs[10:15]]
    same(fetch_all(api, "/api/runs", {"run_id": picked[0]}), all_runs[10:11])
    same(fetch_all(api, "/api/runs", {"run_ids": ",".join(picked + ["nope"])}), all_runs[10:15])
    assert fetch_all(api, "/api/runs", {"run_id": picked[0].upper()}) == []


def test_time_bounds_are_half_open(api: httpx.Client, all_runs: list[dict[str, Any]]) -> None:
    """``start_time`` is inclusive, ``end_time`` exclusive, at microsecond precision and in any
    offset (§2.7, §2.4)."""
    run = next(r for r in all_runs if r["start_time"] and "." in r["start_time"])
    moment = parse_ts(run["start_time"])
    later = moment + dt.timedelta(microseconds=1)
    shifted = moment.astimezone(dt.timezone(dt.timedelta(hours=-5, minutes=-30))).isoformat()

    def ids(**params: str) -> set[str]:
        return {r["run_id"] for r in fetch_all(api, "/api/runs", {"codebase": run["codebase"],
                                                                   **params})}  # fmt: skip

    assert run["run_id"] in ids(start_time=run["start_time"])
    assert run["run_id"] in ids(start_time=shifted)
    assert run["run_id"] not in ids(start_time=ts(later.replace(tzinfo=None)))
    assert run["run_id"] not in ids(end_time=run["start_time"])
    assert run["run_id"] not in ids(end_time=shifted)
    assert run["run_id"] in ids(end_time=ts(later.replace(tzinfo=None)))
    assert ids(start_time=run["start_time"], end_time=ts(later.replace(tzinfo=None))) >= {
        run["run_id"]
    }


def test_whole_second_bound_with_a_full_date(
    api: httpx.Client, all_runs: list[dict[str, Any]]
) -> None:
    midnight = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
    expected = [r for r in all_runs if r["start_time"] and parse_ts(r["start_time"]) >= midnight]
    same(fetch_all(api, "/api/runs", {"start_time": "2026-10-01"}), expected)


# Order -----------------------------------------------------------------------------------------

SORTS = [*SORTABLE, *(f"-{field}" for field in SORTABLE),
         "campaign,-start_time", "-publish_status,codebase", "result_code,-duration",
         "worker_name,-value", "-value,-finish_time", "codebase,campaign,-run_id"]  # fmt: skip


@pytest.fixture(scope="module")
def subset(all_runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    campaigns = SUBSET["campaigns"].split(",")
    runs = [r for r in all_runs if r["campaign"] in campaigns]
    for field in ("start_time", "finish_time", "duration", "value", "worker_name"):
        assert any(r[field] is None for r in runs), field
    return runs


@pytest.mark.parametrize("sort", SORTS)
def test_sort(api: httpx.Client, subset: list[dict[str, Any]], sort: str) -> None:
    data, pagination = listing(api.get("/api/runs", params={**SUBSET, "sort": sort, "limit": 1000}))
    assert pagination["total"] == len(subset) < 1000
    expected = sort_items(subset, with_key(parse_sort(sort), ["run_id"]), KINDS)
    assert [r["run_id"] for r in data] == [r["run_id"] for r in expected]


@pytest.mark.parametrize("field", ["start_time", "publish_status", "value"])
def test_sort_of_everything(api: httpx.Client, all_runs: list[dict[str, Any]], field: str) -> None:
    for sort in (field, f"-{field}"):
        expected = sort_items(all_runs, with_key(parse_sort(sort), ["run_id"]), KINDS)
        for offset in (0, len(all_runs) - 1000):
            params = {"sort": sort, "limit": 1000, "offset": offset}
            data, _ = listing(api.get("/api/runs", params=params))
            expected_ids = [r["run_id"] for r in expected[offset : offset + 1000]]
            assert [r["run_id"] for r in data] == expected_ids


def test_publish_status_sorts_in_declaration_order(
    api: httpx.Client, all_runs: list[dict[str, Any]]
) -> None:
    params = {"sort": "publish_status", "limit": 1000, "offset": len(all_runs) - 1000}
    data, _ = listing(api.get("/api/runs", params=params))
    statuses = [r["publish_status"] for r in data]
    ranks = [ENUMS["PublishStatus"].index(s) for s in statuses]
    assert ranks == sorted(ranks)
    assert statuses[-1] == "ignored" and "rejected" in statuses and "approved" in statuses


# Diffs -----------------------------------------------------------------------------------------


def _main_diff(model: Model, run_id: str) -> bytes | None:
    """The VCS store's diff of the run's ``main`` branch, if the store has it (§5.3)."""
    run = model.runs[run_id]
    main = next((b for b in model.branches.get(run_id, []) if b["role"] == "main"), None)
    if main is None or main["revision"] is None or not run["vcs_type"]:
        return None
    diff = model.diffs.get((run["codebase"], main["revision"]))
    if diff is None or diff["base_revision"] != main["base_revision"]:
        return None
    return bytes(diff["diff"])


def _runs_with_diffs(model: Model) -> list[str]:
    return [run_id for run_id in sorted(model.branches) if _main_diff(model, run_id) is not None]


def test_diff(api: httpx.Client, model: Model) -> None:
    with_diffs = _runs_with_diffs(model)
    assert len(with_diffs) > 100
    latin1 = [i for i in with_diffs if b"Fran\xe7ois" in (_main_diff(model, i) or b"")]
    assert len(latin1) == 1
    for run_id in latin1 + with_diffs[::40]:
        expected = _main_diff(model, run_id)
        for params in ({}, {"role": "main"}, {"role": ""}):
            response = api.get(f"/api/run/{run_id}/diff", params=params)
            assert response.status_code == 200
            assert response.content == expected
            assert response.headers["content-type"] == "text/x-diff"
            assert response.headers["cache-control"] == "no-cache"
            etag = response.headers["etag"]
        again = api.get(f"/api/run/{run_id}/diff", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""


def test_diff_unavailable(api: httpx.Client, model: Model) -> None:
    with_diffs = set(_runs_with_diffs(model))
    cases = []
    failed = next(i for i, r in sorted(model.runs.items()) if i not in model.branches)
    cases.append((failed, "main"))
    cases.append((next(iter(sorted(with_diffs))), "upstream"))
    cases.append((next(iter(sorted(with_diffs))), "MAIN"))
    no_store = next(
        i for i in sorted(model.branches) if i not in with_diffs and model.runs[i]["vcs_type"]
    )
    cases.append((no_store, "main"))
    no_vcs = next((i for i in sorted(model.branches) if not model.runs[i]["vcs_type"]), None)
    if no_vcs is not None:
        cases.append((no_vcs, "main"))
    extra = next(
        (i, b["role"])
        for i, bs in sorted(model.branches.items())
        for b in bs
        if b["role"] != "main"
    )
    cases.append(extra)
    for run_id, role in cases:
        response = api.get(f"/api/run/{run_id}/diff", params={"role": role})
        error(response, 404, "diff_unavailable", {"run_id": run_id, "role": role})
