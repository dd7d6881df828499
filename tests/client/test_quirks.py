"""Upstream quirks (contract §8): every row of the table, served as the legacy servers answer.

Each test serves the exact legacy answer (bodies, statuses and media types from
``shared/reference/upstream-rust-site-behaviour.md``) through an ``httpx.MockTransport`` handler,
to both clients. Rust bodies are compact JSON (serde_json); Python bodies are ``json.dumps``
output (aiohttp's ``json_response``). Answers to POSTs, which clients never send to legacy
servers (row 19), are fed to the shared I/O-free parser directly.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest

from janitor_site_django import exceptions, schemas
from janitor_site_django.client import operations as ops
from janitor_site_django.client._legacy import is_v1
from janitor_site_django.client._wire import RawResponse
from janitor_site_django.conf import SiteConfig
from janitor_site_django.testing import capture_api_calls
from janitor_site_django.testing.emulator import EmulatorServer

from .conftest import Both

pytestmark = pytest.mark.anyio

LEGACY = "http://legacy.test"

#: status, body, Content-Type (None: no such header)
Answer = tuple[int, bytes, str | None]
Route = Answer | Callable[[httpx.Request], Answer]

#: axum's answer to an unknown route (and Python's to /api/status): 404, empty body.
NO_ROUTE: Answer = (404, b"", None)


def rust(body: Any, status: int = 200) -> Answer:
    """A Rust handler's answer: compact JSON, and HTTP 200 even for errors (§8 #1)."""
    return status, json.dumps(body, separators=(",", ":")).encode(), "application/json"


def python(body: Any, status: int = 200) -> Answer:
    """A Python (aiohttp) handler's answer: bare JSON with a real status (§8 #7)."""
    return status, json.dumps(body).encode(), "application/json; charset=utf-8"


def text(status: int, body: str) -> Answer:
    return status, body.encode(), "text/plain; charset=utf-8"


class Legacy:
    """A legacy server: canned answers by path; records every request it gets."""

    def __init__(self, routes: Mapping[str, Route]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(request.url.path, NO_ROUTE)
        status, body, media_type = route(request) if callable(route) else route
        headers = {"Content-Type": media_type} if media_type else {}
        return httpx.Response(status, content=body, headers=headers)

    def seen(self) -> list[tuple[str, str]]:
        return [(request.method, request.url.path) for request in self.requests]


Serve = Callable[..., tuple[Both, Legacy]]


@pytest.fixture
def serve(make_client: Callable[..., Both]) -> Serve:
    """A client (sync or async) of a :class:`Legacy` server with the given routes."""

    def serve(routes: Mapping[str, Route], **options: Any) -> tuple[Both, Legacy]:
        server = Legacy(routes)
        options = {"base_url": LEGACY, "retries": 0, **options}
        return make_client(transport=httpx.MockTransport(server), **options), server

    return serve


def parse(op: Any, answer: Answer) -> Any:
    """What both clients make of ``answer`` to ``op`` (their shared parser, no I/O)."""
    status, body, media_type = answer
    return op.parse(op, RawResponse(status, {"content-type": media_type or ""}, body))


RUST_STATUS = {
    "data": {
        "service": "janitor-site", "version": "0.0.0", "build_time": "unknown",
        "git_revision": "unknown", "api_version": "1.0",
        "capabilities": ["content_negotiation", "authentication", "pagination", "rate_limiting"],
    }
}  # fmt: skip
V1_STATUS = {
    "data": {
        "service": "janitor-site", "version": "0.1.0", "api_version": "1", "build_time": None,
        "git_revision": None,
        "capabilities": ["pagination", "filtering", "sorting", "etag", "bearer_auth",
                         "session_auth", "templates", "export"],
    }
}  # fmt: skip
CODEBASES: list[dict[str, Any]] = [
    {"name": "python-debian", "url": "https://salsa.debian.org/debian.git", "branch": "master"},
    {"name": "python-debianbts", "url": "https://salsa.debian.org/debianbts.git", "branch": None},
    {"name": "python-dulwich", "url": "https://github.com/jelmer/dulwich", "branch": "main"},
    {"name": "python-fastimport", "url": "https://github.com/jelmer/fastimport", "branch": None},
    {"name": "silver-platter", "url": "https://github.com/jelmer/silver-platter", "branch": None},
]


def paged(items: list[dict[str, Any]], envelope: Callable[[list[Any]], Any]) -> Route:
    """A list route paging ``items`` as the Rust site does: ``total: null``, more if full."""

    def answer(request: httpx.Request) -> Answer:
        offset = int(request.url.params.get("offset", 0))
        limit = int(request.url.params.get("limit", 50))
        page = [] if "vcs_type" in request.url.params else items[offset : offset + limit]  # §8 #9
        more = len(page) >= limit
        pagination = {"total": None, "offset": offset, "limit": limit, "has_more": more}
        return rust({"data": envelope(page), "pagination": pagination})

    return answer


def rust_codebases(items: list[dict[str, Any]]) -> Route:
    """``/api/codebases`` of the Rust site: ``data`` is an object (§8 #5)."""
    return paged(
        items,
        lambda page: {"codebases": page, "filters_applied": {}, "total_results": len(page)},
    )


def v1_run(run_id: str) -> dict[str, Any]:
    return {
        "run_id": run_id, "codebase": "python-debian", "campaign": "lintian-fixes",
        "suite": "lintian-fixes", "result_code": "success", "logfilenames": [],
        "publish_status": "unknown", "change_set": run_id, "result_branches": [], "result_tags": [],
    }  # fmt: skip


# 1. Errors with HTTP 200 and an `error` key ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "args", "path", "body", "error", "status"),
    [
        ("get_codebase", ("foo",), "/api/c/foo",
         {"error": "not_found", "reason": "Codebase 'foo' not found"}, exceptions.NotFound, 404),
        ("get_run", ("r1",), "/api/run/r1",
         {"error": "not_found", "reason": "Run 'r1' not found",
          "details": {"run_id": "r1", "timestamp": "2025-06-08T10:00:00Z"}},
         exceptions.NotFound, 404),
        ("list_codebases", (), "/api/codebases",
         {"error": "database_error", "reason": "Failed to retrieve codebases: pool timed out"},
         exceptions.ServerError, 500),
        ("get_queue_status", (), "/api/queue",
         {"error": "database_error", "reason": "Failed to retrieve queue status: x"},
         exceptions.ServerError, 500),
    ],
)  # fmt: skip
async def test_1_an_error_key_fails_whatever_the_status(
    serve: Serve, method: str, args: tuple[str, ...], path: str, body: dict[str, Any],
    error: type[exceptions.APIError], status: int,
) -> None:  # fmt: skip
    api, _ = serve({path: rust(body)})
    with pytest.raises(error) as failure:
        await api(method, *args)
    assert (failure.value.status, failure.value.code) == (status, body["error"])
    assert failure.value.reason == body["reason"]
    assert failure.value.details == body.get("details", {})


# 2. Convention B: `error` = message, `reason` = UPPER_SNAKE code -------------------------------


@pytest.mark.parametrize(
    ("method", "args", "path", "body", "error", "code"),
    [
        ("get_active_run", ("r1",), "/api/active-runs/r1",
         {"error": "Run r1 not found", "reason": "NOT_FOUND"}, exceptions.NotFound, "not_found"),
        ("list_active_runs", (), "/api/active-runs",
         {"error": "Failed to connect to runner service", "reason": "CONNECTION_ERROR"},
         exceptions.Unavailable, "connection_error"),
        ("list_active_runs", (), "/api/active-runs",
         {"error": "Runner service error: 500 Internal Server Error", "reason": "RUNNER_ERROR"},
         exceptions.UpstreamError, "runner_error"),
        ("list_active_runs", (), "/api/active-runs",
         {"error": "Failed to parse active runs data", "reason": "PARSE_ERROR"},
         exceptions.UpstreamError, "parse_error"),
        ("get_run_diff", ("r1",), "/api/run/r1/diff",
         {"error": "No diff available - missing revision information",
          "reason": "MISSING_REVISION"}, exceptions.NotFound, "missing_revision"),
        ("get_run_diff", ("r1",), "/api/run/r1/diff",
         {"error": "Database error", "reason": "DATABASE_ERROR"},
         exceptions.ServerError, "database_error"),
        ("list_merge_proposals", (), "/api/merge-proposals",
         {"error": "Failed to retrieve merge proposals", "reason": "DATABASE_ERROR"},
         exceptions.ServerError, "database_error"),
        ("list_codebase_merge_proposals", ("python-debian",),
         "/api/c/python-debian/merge-proposals",
         {"error": "Failed to retrieve merge proposals", "reason": "DATABASE_ERROR"},
         exceptions.ServerError, "database_error"),
    ],
)  # fmt: skip
async def test_2_convention_b_is_swapped_and_lowercased(
    serve: Serve, method: str, args: tuple[str, ...], path: str, body: dict[str, str],
    error: type[exceptions.APIError], code: str,
) -> None:  # fmt: skip
    api, _ = serve({path: rust(body)})
    with pytest.raises(error) as failure:
        await api(method, *args)
    assert (failure.value.code, failure.value.reason) == (code, body["error"])


# 3. Other codes: *database* / *failed → 500, *service_error → 502, *not_found* → 404 -----------


@pytest.mark.parametrize(
    ("method", "args", "path", "body", "error"),
    [
        ("get_run", ("r1",), "/api/run/r1",
         {"error": "database_error", "reason": "Failed to retrieve run details",
          "details": {"run_id": "r1", "error": "column r.result_branches does not exist",
                      "timestamp": "2025-06-08T10:00:00Z"}}, exceptions.ServerError),
        ("search", ("py",), "/api/search",
         {"error": "search_failed", "reason": "Search failed: column c.summary does not exist"},
         exceptions.ServerError),
        ("get_active_run", ("r1",), "/api/active-runs/r1",
         {"error": "Run r1 is not active (already finished)", "reason": "NOT_ACTIVE"},
         exceptions.NotFound),  # v1: 404 when no run of that id is in progress (§5.6)
        ("get_active_run", ("r1",), "/api/active-runs/r1",
         {"error": "Run not found", "reason": "RUN_NOT_FOUND"}, exceptions.NotFound),
    ],
)  # fmt: skip
async def test_3_other_codes_by_shape(
    serve: Serve, method: str, args: tuple[str, ...], path: str, body: dict[str, Any],
    error: type[exceptions.APIError],
) -> None:  # fmt: skip
    api, _ = serve({path: rust(body)})
    with pytest.raises(error):
        await api(method, *args)


async def test_3_export_failed_is_a_server_error(serve: Serve) -> None:
    body = {"error": "export_failed", "reason": "Failed to export codebases: pool timed out"}
    api, _ = serve({"/api/export/codebases": rust(body)})
    with pytest.raises(exceptions.ServerError) as failure:
        await api.collect("export", "codebases", format="json")
    assert failure.value.code == "export_failed"


@pytest.mark.parametrize(
    ("op", "body", "error", "status"),
    [
        (ops.reschedule_run("r1"),
         {"error": "runner_service_error", "reason": "Failed to connect to runner service",
          "details": {"run_id": "r1", "runner_url": "http://localhost:9911/", "error": "refused",
                      "timestamp": "2025-06-08T10:00:00Z"}}, exceptions.UpstreamError, 502),
        (ops.publish("lintian-fixes", "python-debian"),
         {"error": "publish_service_error", "reason": "Failed to connect to publish service"},
         exceptions.UpstreamError, 502),
        (ops.update_run("r1", description="x"),
         {"error": "invalid_json", "reason": "Invalid JSON: expected value at line 1 column 1"},
         exceptions.BadRequest, 400),
        (ops.reschedule_run("r1"),
         {"error": "cannot_reschedule_success", "reason": "Successful runs cannot be rescheduled",
          "details": {"run_id": "r1", "result_code": "success"}}, exceptions.Conflict, 409),
        (ops.publish("lintian-fixes", "python-debian"),
         {"error": "no_run_found", "reason": "No run found for this campaign/codebase combination"},
         exceptions.Conflict, 409),
    ],
)  # fmt: skip
def test_3_codes_of_post_answers(
    op: Any, body: dict[str, Any], error: type[exceptions.APIError], status: int
) -> None:
    """Answers to POSTs (never sent to legacy servers, row 19) map the same way."""
    with pytest.raises(error) as failure:
        parse(op, rust(body))
    assert (failure.value.status, failure.value.code) == (status, body["error"])


# 4. `pagination.total: null` (and fake totals): page until has_more is false ------------------


async def test_4_unknown_total(serve: Serve) -> None:
    api, _ = serve({"/api/codebases": rust_codebases(CODEBASES)})
    page = await api("list_codebases", limit=2)
    assert page.total is None and page.has_more and len(page) == 2


@pytest.mark.parametrize("count", [5, 4])  # the last page is short, or empty
async def test_4_iteration_pages_until_has_more_is_false(serve: Serve, count: int) -> None:
    routes = {"/api/codebases": rust_codebases(CODEBASES[:count])}
    api, server = serve(routes, config=SiteConfig(url=LEGACY, page_size=2, retries=0))
    names = [codebase.name for codebase in await api.collect("iter_codebases")]
    assert names == [codebase["name"] for codebase in CODEBASES[:count]]
    assert [request.url.params["offset"] for request in server.requests] == ["0", "2", "4"]


async def test_4_iterating_runs_without_a_total(serve: Serve) -> None:
    runs = [v1_run(f"run-{i}") for i in range(3)]
    routes = {"/api/runs": paged(runs, lambda page: page)}
    api, server = serve(routes, config=SiteConfig(url=LEGACY, page_size=2, retries=0))
    assert [run.run_id for run in await api.collect("iter_runs")] == ["run-0", "run-1", "run-2"]
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("method", "path"),
    [("list_ready_runs", "/api/lintian-fixes/ready"),  # total = page length
     ("list_merge_proposals", "/api/lintian-fixes/merge-proposals")],  # total always 0
)  # fmt: skip
async def test_4_fake_totals(serve: Serve, method: str, path: str) -> None:
    body = {"data": [], "pagination": {"total": 0, "offset": 0, "limit": 50, "has_more": False}}
    api, _ = serve({path: rust(body)})
    page = await api(method, "lintian-fixes")
    assert (page.items, page.has_more) == ([], False)


# 5. /api/codebases `data` is an object, items only {name, url, branch} ---------------------------


async def test_5_codebases_object_is_unwrapped(serve: Serve) -> None:
    api, _ = serve({"/api/codebases": rust_codebases(CODEBASES)})
    page = await api("list_codebases")
    assert [(c.name, c.url, c.branch) for c in page] == [
        (c["name"], c["url"], c["branch"]) for c in CODEBASES
    ]
    first = page.items[0]
    assert type(first) is schemas.Codebase
    sent = {"name", "url", "branch"}
    missing = first.model_dump(exclude=sent)
    assert missing == dict.fromkeys(schemas.Codebase.model_fields.keys() - sent)  # inactive too
    assert (page.total, page.limit, page.has_more) == (None, 50, False)


async def test_5_one_codebase_has_the_same_keys(serve: Serve) -> None:
    api, _ = serve({"/api/c/python-debian": rust({"data": CODEBASES[0]})})
    codebase = await api("get_codebase", "python-debian")
    assert (codebase.name, codebase.branch, codebase.web_url) == ("python-debian", "master", None)


# 6. /api/search `results`; /api/runs placeholder ---------------------------------------------


async def test_6_search_results_are_unwrapped(serve: Serve) -> None:
    result = {
        "codebase": "python-debian", "summary": None, "vcs_url": CODEBASES[0]["url"],
        "campaign": "lintian-fixes", "result_code": "success",
        "finish_time": "2025-06-08T10:52:10.123456Z", "last_run_id": "r1",
    }  # fmt: skip
    filters = {"campaign": None, "result_code": None, "publishable_only": False}
    body = {"data": {"results": [result], "total": 1, "query": "py", "filters": filters}}
    api, _ = serve({"/api/search": rust(body)})
    page = await api("search", "py")
    assert [(item.codebase, item.campaign, item.last_run_id) for item in page] == [
        ("python-debian", "lintian-fixes", "r1")
    ]


RUNS_PLACEHOLDER = {
    "data": {
        "runs": [],
        "message": "Enhanced runs filtering not yet implemented - needs dedicated database query",
        "filters_requested": {"search": None, "campaign": None, "result_code": None},
    }
}


@pytest.mark.parametrize("method", ["list_runs", "iter_runs"])
async def test_6_runs_placeholder_is_unsupported(serve: Serve, method: str) -> None:
    api, _ = serve({"/api/runs": rust(RUNS_PLACEHOLDER)})
    with pytest.raises(exceptions.UnsupportedByServer):
        await (api.collect(method) if method.startswith("iter") else api(method))


# 7. Bare JSON without envelope; `{}` placeholders -------------------------------------------

#: An entry of the Python runner's ``processing`` list (``ActiveRun.json()``).
PYTHON_ACTIVE_RUN = {
    "queue_id": 1188, "id": "0e9d4c7a-7a6b-4b8e-8f6e-5c1d2a3b4c5d", "codebase": "python-debian",
    "change_set": None, "campaign": "lintian-fixes", "command": "lintian-brush",
    "estimated_duration": 81.5, "current_duration": 60.0,
    "start_time": "2025-06-08T10:59:00.123456+00:00", "worker": "worker-1", "worker_link": None,
    "vcs": {"vcs_type": "git", "branch_url": "https://salsa.debian.org/python-debian.git"},
    "instigated_context": None, "resume_from": None,
}  # fmt: skip


async def test_7_a_bare_array_is_the_item_list(serve: Serve) -> None:
    api, _ = serve({"/api/active-runs": python([PYTHON_ACTIVE_RUN])})
    page = await api("list_active_runs")
    run = page.items[0]
    assert (run.run_id, run.worker_name, run.suite, run.queue_id) == (
        PYTHON_ACTIVE_RUN["id"], "worker-1", "lintian-fixes", 1188,
    )  # fmt: skip
    assert run.start_time == dt.datetime(2025, 6, 8, 10, 59, 0, 123456, tzinfo=dt.timezone.utc)
    assert (page.total, page.has_more) == (None, False)


async def test_7_a_bare_object_is_the_data(serve: Serve) -> None:
    api, _ = serve({f"/api/active-runs/{PYTHON_ACTIVE_RUN['id']}": python(PYTHON_ACTIVE_RUN)})
    run = await api("get_active_run", PYTHON_ACTIVE_RUN["id"])
    assert (run.run_id, run.codebase, run.current_duration) == (
        PYTHON_ACTIVE_RUN["id"], "python-debian", 60.0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("method", "args", "path"),
    [("list_merge_proposals", (), "/api/merge-proposals"),
     ("list_merge_proposals", ("lintian-fixes",), "/api/lintian-fixes/merge-proposals"),
     ("list_codebase_merge_proposals", ("python-debian",), "/api/c/python-debian/merge-proposals")],
)  # fmt: skip
async def test_7_an_empty_object_is_no_data(
    serve: Serve, method: str, args: tuple[str, ...], path: str
) -> None:
    api, _ = serve({path: python({})})
    page = await api(method, *args)
    assert (page.items, page.total, page.has_more) == ([], None, False)


async def test_7_python_errors_keep_their_status(serve: Serve) -> None:
    api, _ = serve({"/api/active-runs/gone": python({}, 404),
                    "/api/queue": python({"reason": "unable to contact runner"}, 502)})  # fmt: skip
    with pytest.raises(exceptions.NotFound) as missing:
        await api("get_active_run", "gone")
    assert missing.value.code == "not_found"
    with pytest.raises(exceptions.UpstreamError) as upstream:
        await api("get_queue_status")
    assert upstream.value.code == "upstream_error"
    assert upstream.value.reason == "unable to contact runner"


async def test_7_python_queue_is_another_resource(serve: Serve) -> None:
    """Python's /api/queue is the runner's queue list, not QueueStats."""
    item = {"id": 1207, "codebase": "python-debian", "suite": "lintian-fixes", "bucket": "manual"}
    api, _ = serve({"/api/queue": python([item])})
    with pytest.raises(exceptions.UnsupportedByServer):
        await api("get_queue_status")


# 8. limit/offset/page/filter= → HTTP 400 text/plain on CommonQuery endpoints --------------------


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "path", "message"),
    [
        ("list_active_runs", (), {"limit": 10}, "/api/active-runs",
         'Failed to deserialize query string: invalid type: string "10", expected i64'),
        ("list_merge_proposals", (), {"offset": 5}, "/api/merge-proposals",
         'Failed to deserialize query string: invalid type: string "5", expected i64'),
        ("list_ready_runs", ("lintian-fixes",), {"page": 2}, "/api/lintian-fixes/ready",
         'Failed to deserialize query string: invalid type: string "2", expected i64'),
    ],
)  # fmt: skip
async def test_8_text_plain_400_is_a_usage_error(
    serve: Serve, method: str, args: tuple[str, ...], kwargs: dict[str, int], path: str,
    message: str,
) -> None:  # fmt: skip
    api, _ = serve({path: text(400, message)})
    with pytest.raises(exceptions.BadRequest) as failure:
        await api(method, *args, **kwargs)
    assert (failure.value.status, failure.value.code, failure.value.reason) == (
        400, "invalid_parameter", message,
    )  # fmt: skip


# 9. Filters ignored or page-local; unknown vcs_type empties /api/codebases ---------------------


async def test_9_an_emptied_list_ends_the_iteration(serve: Serve) -> None:
    """The client cannot tell an ignored filter from a matching one; it neither filters nor
    sorts client-side. An emptied page ends the iteration (no endless paging)."""
    api, server = serve({"/api/codebases": rust_codebases(CODEBASES)})
    assert await api.collect("iter_codebases", vcs_type="git") == []
    assert len(server.requests) == 1 and server.requests[0].url.params["vcs_type"] == "git"


# 10. Other item shapes -----------------------------------------------------------------------


async def test_10_codebase_runs_items(serve: Serve) -> None:
    item = {"id": "r1", "codebase": "python-debian", "campaign": "lintian-fixes",
            "start_time": "2025-06-08T10:50:50Z"}  # fmt: skip
    pagination = {"total": None, "offset": 0, "limit": 50, "has_more": False}
    api, _ = serve({"/api/c/python-debian/runs": rust({"data": [item], "pagination": pagination})})
    page = await api("list_codebase_runs", "python-debian")
    run = page.items[0]
    assert type(run) is schemas.Run
    assert (run.run_id, run.codebase, run.campaign, run.suite) == (
        "r1", "python-debian", "lintian-fixes", "lintian-fixes",
    )  # fmt: skip
    assert run.start_time == dt.datetime(2025, 6, 8, 10, 50, 50, tzinfo=dt.timezone.utc)
    assert run.result_code is run.command is None and run.logfilenames == run.result_branches == []
    assert (page.total, page.has_more) == (None, False)


async def test_10_campaign_merge_proposal_items(serve: Serve) -> None:
    item = {"url": "https://salsa.debian.org/python-debian/-/merge_requests/42", "status": "open",
            "revision": "d4e5f6", "merged_by": None, "merged_at": None, "can_be_merged": True,
            "codebase": "python-debian"}  # fmt: skip
    body = {"data": [item], "pagination": {"total": 0, "offset": 0, "limit": 50, "has_more": False}}
    api, _ = serve({"/api/lintian-fixes/merge-proposals": rust(body)})
    proposal = (await api("list_merge_proposals", "lintian-fixes")).items[0]
    assert (proposal.url, proposal.status, proposal.can_be_merged) == (item["url"], "open", True)
    assert proposal.campaign is proposal.run_id is None


async def test_10_campaign_codebase(serve: Serve) -> None:
    last_run = {"id": "r1", "result_code": "success", "description": "Fixed 3 lintian tags.",
                "start_time": "2025-06-08T10:50:50Z", "finish_time": "2025-06-08T10:52:10.123Z",
                "worker": "worker-1"}  # fmt: skip
    data = {"codebase": "python-debian", "campaign": "lintian-fixes", "command": "",
            "publish_policy": None, "priority": None, "value": 30,
            "vcs_url": CODEBASES[0]["url"], "vcs_type": "git", "branch_url": None,
            "last_run": last_run, "queue_position": 1}  # fmt: skip
    api, _ = serve({"/api/lintian-fixes/c/python-debian": rust({"data": data})})
    detail = await api("get_campaign_codebase", "lintian-fixes", "python-debian")
    assert (detail.command, detail.value, detail.queue_position) == (None, 30, 1)
    assert detail.last_run is not None
    assert (detail.last_run.run_id, detail.last_run.worker_name) == ("r1", "worker-1")
    assert detail.last_run.finish_time == dt.datetime(
        2025, 6, 8, 10, 52, 10, 123000, tzinfo=dt.timezone.utc
    )
    assert type(detail.last_run) is schemas.Run  # plain v1 models: they pickle, compare equal
    assert pickle.loads(pickle.dumps(detail)) == detail


# 11. Timestamps with +00:00 and 0/3/6/9 fraction digits --------------------------------------


@pytest.mark.parametrize(
    ("stamp", "microsecond"),
    [("2025-06-08T10:59:00+00:00", 0), ("2025-06-08T10:59:00.123+00:00", 123000),
     ("2025-06-08T10:59:00.123456+00:00", 123456), ("2025-06-08T10:59:00.123456789+00:00", 123456),
     ("2025-06-08T10:59:00.123Z", 123000), ("2025-06-08T10:59:00.123456789Z", 123456)],
)  # fmt: skip
@pytest.mark.parametrize("shape", ["python", "v1"])
async def test_11_runner_timestamps(serve: Serve, stamp: str, microsecond: int, shape: str) -> None:
    run = {**PYTHON_ACTIVE_RUN, "start_time": stamp}
    if shape == "v1":  # passed through a v1 envelope: the fast path parses it too
        run = {**run, "run_id": run["id"], "suite": run["campaign"]}
        pagination = {"total": 1, "offset": 0, "limit": 50, "has_more": False}
        answer = rust({"data": [run], "pagination": pagination})
    else:
        answer = python([run])
    api, _ = serve({"/api/active-runs": answer})
    [parsed] = (await api("list_active_runs")).items
    expected = dt.datetime(2025, 6, 8, 10, 59, 0, microsecond, tzinfo=dt.timezone.utc)
    assert parsed.start_time == expected and parsed.start_time.utcoffset() == dt.timedelta(0)


# 12. HTML, text or XML unless Accept asks for JSON --------------------------------------------


#: Rust's HTML negotiation: the envelope in a ``<pre>`` (reference §2.5).
HTML = b"<!DOCTYPE html><html><head><title>API Response</title></head><body><pre>{}</pre>"


def negotiating(body: Any) -> Route:
    """A Rust handler behind content negotiation: JSON only when ``Accept`` prefers it."""

    def answer(request: httpx.Request) -> Answer:
        if request.headers.get("accept") == "application/json":
            return rust(body)
        return 200, HTML, "text/html; charset=utf-8"

    return answer


async def test_12_accept_is_always_json(serve: Serve) -> None:
    routes = {
        "/api/codebases": negotiating({"data": {"codebases": CODEBASES, "filters_applied": {},
                                                "total_results": 5},
                                       "pagination": {"total": None, "offset": 0, "limit": 50,
                                                      "has_more": False}}),
        "/api/c/python-debian": negotiating({"data": CODEBASES[0]}),
        "/api/status": negotiating(RUST_STATUS),
        "/api/export/codebases": negotiating({"data": {"format": "json", "codebases": CODEBASES}}),
    }  # fmt: skip
    api, server = serve(routes)
    assert len(await api("list_codebases")) == 5
    assert (await api("get_codebase", "python-debian")).name == "python-debian"
    with pytest.raises(exceptions.UnsupportedByServer):
        await api.collect("export", "codebases", format="json")
    with pytest.raises(exceptions.UnsupportedByServer):  # after asking /api/status (row 19)
        await api("update_run", "r1", description="x")
    assert len(server.requests) == 4
    assert {request.headers["accept"] for request in server.requests} == {"application/json"}


# 13. Empty-body 403/404/405 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [(403, exceptions.Forbidden, "forbidden"), (404, exceptions.NotFound, "not_found"),
     (405, exceptions.BadRequest, "method_not_allowed")],
)  # fmt: skip
async def test_13_empty_error_bodies(
    serve: Serve, status: int, error: type[exceptions.APIError], code: str
) -> None:
    api, _ = serve({"/api/run/r1": (status, b"", None)})
    with pytest.raises(error) as failure:
        await api("get_run", "r1")
    assert (failure.value.status, failure.value.code, failure.value.details) == (status, code, {})


# 14. No bearer authentication upstream: the token is sent anyway -------------------------------


async def test_14_the_token_is_sent_anyway(serve: Serve) -> None:
    api, server = serve({"/api/c/python-debian": rust({"data": CODEBASES[0]})}, token="tok-1")
    assert (await api("get_codebase", "python-debian")).name == "python-debian"
    assert server.requests[0].headers["authorization"] == "Bearer tok-1"


# 15. /api/pkgnames: no pagination; Python era: a bare array -----------------------------------


@pytest.mark.parametrize(
    "answer",
    [rust({"data": ["python-debian", "python-debianbts"]}),
     python(["python-debian", "python-debianbts"])],
    ids=["rust", "python"],
)  # fmt: skip
async def test_15_pkgnames(serve: Serve, answer: Answer) -> None:
    api, _ = serve({"/api/pkgnames": answer})
    page = await api("list_pkgnames")
    assert page.items == ["python-debian", "python-debianbts"]
    assert (page.total, page.offset, page.limit, page.has_more) == (None, 0, 2, False)


# 16. Diff and exports as JSON envelopes --------------------------------------------------------


async def test_16_fake_diff_is_unsupported(serve: Serve) -> None:
    diff = "--- Changes for run r1\n+++ Result revision d4e5f6\n"
    diff += "@@ Changes between a1b2c3 and d4e5f6 @@\n"
    body = {"data": {"run_id": "r1", "diff": diff, "main_revision": "a1b2c3",
                     "result_revision": "d4e5f6", "format": "json"}}  # fmt: skip
    api, _ = serve({"/api/run/r1/diff": rust(body)})
    with pytest.raises(exceptions.UnsupportedByServer):
        await api("get_run_diff", "r1")


@pytest.mark.parametrize(
    ("kind", "format", "body"),
    [
        ("codebases", "csv", {"data": {
            "format": "csv", "content": "name,url,branch,vcs_type\npython-debian,https://x,master,git",
            "content_type": "text/csv", "filename": "codebases_export_20250608_110000.csv"}}),
        ("codebases", "json", {"data": {
            "format": "json", "codebases": CODEBASES[:1],
            "export_metadata": {"exported_at": "2025-06-08T11:00:00+00:00", "total_count": 1,
                                "filters_applied": {"search": None, "limit": 1000, "offset": 0}}}}),
        ("runs", "json", {"data": {
            "format": "json",
            "message": "Runs export not yet implemented - needs dedicated database queries",
            "export_metadata": {"requested_at": "2025-06-08T11:00:00+00:00",
                                "filters_requested": {}}}}),
    ],
)  # fmt: skip
async def test_16_export_envelopes_are_unsupported(
    serve: Serve, kind: str, format: str, body: dict[str, Any]
) -> None:
    api, _ = serve({f"/api/export/{kind}": rust(body)})
    with pytest.raises(exceptions.UnsupportedByServer):
        await api.collect("export", kind, format=format)


# 17. /api/queue with query_options and no campaigns ------------------------------------------


async def test_17_queue_status(serve: Serve) -> None:
    body = {"data": {
        "queue": {"total_candidates": 1234, "pending_candidates": 56, "active_runs": 0,
                  "campaigns": []},
        "additional_stats": {"recent_successful_runs": 17,
                             "timestamp": "2025-06-08T11:00:00.123456789Z"},
        "query_options": {"limit_supported": True, "filtering_supported": True,
                          "available_filters": ["campaign", "result_code", "vcs_type"]},
    }}  # fmt: skip
    api, _ = serve({"/api/queue": rust(body)})
    stats = await api("get_queue_status")
    queue = stats.queue
    assert (queue.total_candidates, queue.active_runs, queue.campaigns) == (1234, 0, [])
    assert stats.additional_stats.recent_successful_runs == 17


# 18. /api/status claims api_version "1.0" ------------------------------------------------------


async def test_18_legacy_status_parses(serve: Serve) -> None:
    api, _ = serve({"/api/status": rust(RUST_STATUS)})
    status = await api("status")
    assert (status.api_version, status.build_time, status.git_revision) == ("1.0", None, "unknown")


@pytest.mark.parametrize(
    ("answer", "v1"),
    [
        (rust(V1_STATUS), True),
        (rust(RUST_STATUS), False),  # upstream's "1.0", with capabilities it lacks
        (rust({"data": {**V1_STATUS["data"], "api_version": 1}}), False),
        (NO_ROUTE, False),  # the Python site; the mounted Rust binary
        (rust({"status": "ok", "uptime": 3600, "timestamp": "2025-06-08T11:00:00+00:00",
               "version": "0.0.0", "database": "healthy", "redis": "not_configured"}), False),
        (rust({"error": "database_error", "reason": "x"}), False),
        ((200, HTML, "text/html; charset=utf-8"), False),
    ],
    ids=["v1", "1.0", "number", "404", "bare", "error", "html"],
)  # fmt: skip
def test_18_only_api_version_1_is_v1(answer: Answer, v1: bool) -> None:
    status, body, media_type = answer
    assert is_v1(RawResponse(status, {"content-type": media_type or ""}, body)) is v1


# 19. POSTs are never sent to legacy servers ----------------------------------------------------

POSTS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("update_run", ("r1",), {"description": "Reviewed."}),
    ("reschedule_run", ("r1",), {"offset": -1, "refresh": True}),
    ("publish", ("lintian-fixes", "python-debian"), {"mode": "propose"}),
    ("render_template", ("generic/start.html", {}), {}),
    ("render_templates", ([("layout.html", {})],), {}),
]


@pytest.mark.parametrize(
    "status_answer",
    [rust(RUST_STATUS), NO_ROUTE, python({"status": "ok"}), (200, b"ok", "text/plain")],
    ids=["rust-1.0", "404", "bare", "text"],
)
async def test_19_posts_to_legacy_servers_are_refused_unsent(
    serve: Serve, status_answer: Answer
) -> None:
    api, server = serve({"/api/status": status_answer}, token="tok-1")
    for method, args, kwargs in POSTS:
        with pytest.raises(exceptions.UnsupportedByServer, match="unsupported by this server"):
            await api(method, *args, **kwargs)
    assert server.seen() == [("GET", "/api/status")]  # asked once, nothing posted


async def test_19_posts_to_v1_servers_are_sent(serve: Serve) -> None:
    run = {**v1_run("r1"), "description": "Reviewed."}
    api, server = serve({"/api/status": rust(V1_STATUS), "/api/run/r1": rust({"data": run})})
    assert (await api("update_run", "r1", description="Reviewed.")).description == "Reviewed."
    assert (await api("update_run", "r1", description="Reviewed.")).run_id == "r1"
    assert server.seen() == [("GET", "/api/status")] + 2 * [("POST", "/api/run/r1")]
    assert {request.headers["accept"] for request in server.requests} == {"application/json"}


@pytest.mark.parametrize(
    ("answer", "error"),
    [(rust({"error": "unavailable", "reason": "down", "details": {"service": "database"}}, 503),
      exceptions.Unavailable),
     (rust({"error": "invalid_token", "reason": "Token expired"}, 401), exceptions.Unauthorized)],
    ids=["503", "401"],
)  # fmt: skip
async def test_19_an_inconclusive_probe_raises_and_is_asked_again(
    serve: Serve, answer: Answer, error: type[exceptions.APIError]
) -> None:
    answers = [answer, rust(V1_STATUS)]
    routes = {
        "/api/status": lambda request: answers.pop(0),
        "/api/run/r1": rust({"data": v1_run("r1")}),
    }
    api, server = serve(routes)
    with pytest.raises(error):
        await api("update_run", "r1", description=None)
    assert (await api("update_run", "r1", description=None)).run_id == "r1"
    assert server.seen() == 2 * [("GET", "/api/status")] + [("POST", "/api/run/r1")]


async def test_19_real_v1_server_one_probe_per_client(
    make_client: Callable[..., Both], janitor_emulator: EmulatorServer
) -> None:
    """The emulator speaks v1: POSTs work, after one ``GET /api/status`` per client."""
    options = {"base_url": janitor_emulator.url, "token": janitor_emulator.tokens["admin"]}
    with capture_api_calls() as calls:
        for api in (make_client(**options), make_client(**options)):
            html = await api("render_template", "generic/start.html", {"campaign": "lintian-fixes"})
            assert "lintian-fixes" in html
            results = await api("render_templates", [("layout.html", {})])
            assert isinstance(results[0], schemas.RenderedItem)
            with pytest.raises(exceptions.NotFound):
                await api("update_run", "no-such-run", description="x")
    assert [(call.operation, call.method, call.path, call.status) for call in calls] == 2 * [
        ("probe_api_version", "GET", "/api/status", 200),
        ("render_template", "POST", "/api/templates/render", 200),
        ("render_templates", "POST", "/api/templates/render-batch", 200),
        ("update_run", "POST", "/api/run/no-such-run", 404),
    ]
