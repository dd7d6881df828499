"""Export endpoints over HTTP (§5.9): JSON and CSV bodies byte for byte, headers, filters,
order and paging without a maximum."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import httpx
import pytest

from .api_support import (
    Model,
    compact,
    error,
    fetch_all,
    invalid_parameter,
    same,
    sort_items,
)

CSV_TYPE = "text/csv; charset=utf-8; header=present"
RUN_KEYS = [
    "run_id", "codebase", "campaign", "suite", "command", "description", "result_code",
    "failure_stage", "failure_details", "failure_transient", "start_time", "finish_time",
    "duration", "main_branch_revision", "revision", "context", "instigated_context", "result",
    "vcs_type", "branch_url", "subpath", "target_branch_url", "logfilenames", "publish_status",
    "value", "worker_name", "worker_link", "change_set", "resume_from", "result_branches",
    "result_tags",
]  # fmt: skip
CODEBASE_KEYS = ["name", "url", "branch", "branch_url", "subpath", "vcs_type", "vcs_last_revision",
                 "last_scanned", "web_url", "value", "inactive", "hostname"]  # fmt: skip


@pytest.fixture(scope="module")
def all_runs(model: Model) -> list[dict[str, Any]]:
    runs = [model.run_json(run_id) for run_id in model.runs]
    return sort_items(runs, [("start_time", True), ("run_id", False)], {"start_time": "ts"})


def csv_cell(value: Any) -> str:
    """§5.9 CSV field: null empty, scalars as JSON, strings as is; quoted only when needed."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else compact(value).decode()
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_body(keys: list[str], items: list[dict[str, Any]]) -> bytes:
    lines = [",".join(keys)] + [",".join(csv_cell(item[key]) for key in keys) for item in items]
    return "".join(line + "\r\n" for line in lines).encode()


def check_export_headers(response: httpx.Response, kind: str, extension: str) -> None:
    assert response.status_code == 200
    assert "etag" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    match = re.fullmatch(
        rf'attachment; filename="{kind}_export_(\d{{8}}_\d{{6}})\.{extension}"',
        response.headers["content-disposition"],
    )
    assert match is not None
    stamp = dt.datetime.strptime(match[1], "%Y%m%d_%H%M%S").replace(tzinfo=dt.timezone.utc)
    assert abs((dt.datetime.now(dt.timezone.utc) - stamp).total_seconds()) < 120
    assert response.headers["x-request-id"]


def test_runs_json(api: httpx.Client, all_runs: list[dict[str, Any]]) -> None:
    response = api.get("/api/export/runs")
    check_export_headers(response, "runs", "json")
    assert response.headers["content-type"] == "application/json"
    assert response.content == compact(all_runs)
    first = compact(all_runs[:10])
    assert api.get("/api/export/runs", params={"format": "json", "limit": 10}).content == first
    assert api.get("/api/export/runs", params={"format": "", "limit": 10}).content == first


def test_runs_csv(api: httpx.Client, all_runs: list[dict[str, Any]]) -> None:
    response = api.get("/api/export/runs", params={"format": "csv"})
    check_export_headers(response, "runs", "csv")
    assert response.headers["content-type"] == CSV_TYPE
    assert response.content == csv_body(RUN_KEYS, all_runs)
    rows = list(csv.reader(io.StringIO(response.content.decode(), newline="")))
    assert rows[0] == RUN_KEYS
    assert len(rows) == len(all_runs) + 1
    quoted = [run for run in all_runs if run["context"] and '"' in run["context"]]
    assert (
        quoted
        and rows[1 + all_runs.index(quoted[0])][RUN_KEYS.index("context")] == quoted[0]["context"]
    )


def test_codebases(api: httpx.Client, model: Model) -> None:
    active = [model.codebase_json(n) for n in sorted(model.codebases)
              if not model.codebases[n]["inactive"]]  # fmt: skip
    everything = [model.codebase_json(n) for n in sorted(model.codebases)]
    response = api.get("/api/export/codebases")
    check_export_headers(response, "codebases", "json")
    assert response.content == compact(active)
    response = api.get(
        "/api/export/codebases", params={"format": "csv", "include_inactive": "true"}
    )
    check_export_headers(response, "codebases", "csv")
    assert response.headers["content-type"] == CSV_TYPE
    assert response.content == csv_body(CODEBASE_KEYS, everything)
    assert b",true," in response.content and b",false," in response.content


@pytest.mark.parametrize(
    "params",
    [
        {"campaign": "debianize", "sort": "-duration"},
        {"q": "python", "result_codes": "success,build-failed", "sort": "codebase,-start_time"},
        {"publishable_only": "true", "sort": "value", "order": "desc"},
        {"vcs_type": "bzr", "failure_transient": "false"},
        {"suite": "scrub-obsolete", "search": "UPDATED"},
    ],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()),
)
def test_runs_filters_and_order_as_the_list(api: httpx.Client, params: dict[str, str]) -> None:
    listed = fetch_all(api, "/api/runs", params)
    assert listed
    assert api.get("/api/export/runs", params=params).content == compact(listed)
    csv_response = api.get("/api/export/runs", params={**params, "format": "csv"})
    assert csv_response.content == csv_body(RUN_KEYS, listed)


@pytest.mark.parametrize(
    "params",
    [
        {"vcs_type": "git", "sort": "-value"},
        {"campaign": "lintian-fixes", "min_success_chance": "0.5", "include_inactive": "true"},
        {"q": "perl", "sort": "url", "order": "desc"},
    ],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()),
)
def test_codebases_filters_and_order_as_the_list(api: httpx.Client, params: dict[str, str]) -> None:
    listed = fetch_all(api, "/api/codebases", params)
    assert listed
    assert api.get("/api/export/codebases", params=params).content == compact(listed)


def test_paging_without_maximum(api: httpx.Client, all_runs: list[dict[str, Any]]) -> None:
    def export(**params: Any) -> Any:
        response = api.get("/api/export/runs", params=params)
        assert response.status_code == 200
        return response.json()

    same(export(limit=2000), all_runs[:2000])
    same(export(limit=1200, offset=1100), all_runs[1100:2300])
    last = len(all_runs) - 10
    same(export(offset=last), all_runs[last:])
    same(export(offset=last, page=1), all_runs[last:])  # page is not accepted: ignored
    same(export(page=2, limit=3), all_runs[:3])
    assert (
        export(limit=0) == [] and export(offset=len(all_runs)) == [] and export(offset=10**12) == []
    )
    same(export(limit=10**12, offset=last - 990), all_runs[last - 990 :])
    assert export(limit=1) == all_runs[:1]


def test_empty_exports(api: httpx.Client) -> None:
    response = api.get("/api/export/runs", params={"codebase": "nope"})
    assert response.content == b"[]"
    response = api.get("/api/export/runs", params={"codebase": "nope", "format": "csv"})
    assert response.content == (",".join(RUN_KEYS) + "\r\n").encode()
    response = api.get("/api/export/codebases", params={"limit": 0, "format": "csv"})
    assert response.content == (",".join(CODEBASE_KEYS) + "\r\n").encode()


def test_no_etag_and_no_304(api: httpx.Client) -> None:
    for if_none_match in ("*", '"anything"'):
        response = api.get("/api/export/codebases", headers={"If-None-Match": if_none_match})
        assert response.status_code == 200 and response.content.startswith(b"[")
        assert "etag" not in response.headers
    head = api.head("/api/export/runs", params={"format": "csv"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == CSV_TYPE and "etag" not in head.headers


@pytest.mark.parametrize(
    ("params", "parameter", "value"),
    [
        ({"format": "xml"}, "format", "xml"),
        ({"format": "CSV"}, "format", "CSV"),
        ({"format": "json,csv"}, "format", "json,csv"),
        ({"limit": "-1"}, "limit", "-1"),
        ({"offset": "-1"}, "offset", "-1"),
        ({"limit": "x"}, "limit", "x"),
        ({"sort": "nope"}, "sort", "nope"),
        ({"order": "down"}, "order", "down"),
        ({"vcs_type": "GIT"}, "vcs_type", "GIT"),
        ({"start_time": "today"}, "start_time", "today"),
    ],
)
def test_errors_are_envelopes(
    api: httpx.Client, params: dict[str, str], parameter: str, value: str
) -> None:
    for kind in ("runs", "codebases"):
        invalid_parameter(api.get(f"/api/export/{kind}", params=params), parameter, value)


def test_repeated_format(api: httpx.Client) -> None:
    response = api.get("/api/export/runs?format=csv&format=csv")
    invalid_parameter(response, "format", ["csv", "csv"])
    error(api.get("/api/export/other"), 404, "not_found")
