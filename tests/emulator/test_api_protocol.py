"""Protocol conventions over HTTP (§1, §2): envelopes, headers, request ids, ETag/304, HEAD,
routing (404/405, reserved campaign names), the query-string rules and the check order."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from janitor_site_django.testing.emulator import EmulatorServer
from janitor_site_emulator.seed import DEMO_SIZE

from .api_support import (
    ENUMS,
    RESERVED,
    error,
    invalid_parameter,
    listing,
    ok,
    pristine_model,
    total,
)

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
ETAG = re.compile(r'"[\x21\x23-\x7e]*"')
BAD_TOKEN = {"Authorization": "Bearer not-a-valid-token"}
RUNS = DEMO_SIZE


# Envelopes and headers (§2.2) ----------------------------------------------------------------


def test_success_envelope_headers(api: httpx.Client) -> None:
    response = api.get("/api/status")
    data = ok(response)
    assert data["api_version"] == "1"
    assert ETAG.fullmatch(response.headers["etag"])
    assert response.headers["cache-control"] == "no-cache"
    assert UUID4.fullmatch(response.headers["x-request-id"])
    assert "vary" not in response.headers


def test_list_envelope(api: httpx.Client) -> None:
    response = api.get("/api/codebases", params={"limit": 2})
    data, pagination = listing(response)
    assert len(data) == 2
    assert pagination["limit"] == 2 and pagination["offset"] == 0
    assert response.headers["cache-control"] == "no-cache"


def test_non_ascii_is_not_escaped(api: httpx.Client) -> None:
    response = api.get("/api/runs", params={"q": "straße"})
    data, _ = listing(response)
    assert data and all("straße" in run["description"].lower() for run in data)
    assert "Straße".encode() in response.content
    assert b"\\u" not in response.content


def test_error_envelope(api: httpx.Client) -> None:
    response = api.get("/api/run/no-such-run")
    body = error(response, 404, "not_found", {"resource": "run", "run_id": "no-such-run"})
    assert "data" not in body and "pagination" not in body
    assert UUID4.fullmatch(response.headers["x-request-id"])


def test_user_has_private_cache_control(api: httpx.Client, as_admin: dict[str, str]) -> None:
    response = api.get("/api/user", headers=as_admin)
    ok(response)
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["vary"] == "Authorization, Cookie"


# Request id (§2.10) --------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["abc", "!" * 200, "~", "a-b_c.d:e/f?g", "x" * 199 + "}"])
def test_request_id_is_echoed(api: httpx.Client, request_id: str) -> None:
    for path in ("/api/health", "/api/nope", "/api/runs?limit=-1"):
        response = api.get(path, headers={"X-Request-Id": request_id})
        assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize(
    "request_id", [b"", b"a" * 201, b"a b", b"tab\tx", "\u00e9".encode(), b"\x7f"]
)
def test_invalid_request_id_is_replaced(api: httpx.Client, request_id: bytes) -> None:
    response = api.get("/api/health", headers=[(b"X-Request-Id", request_id)])
    assert UUID4.fullmatch(response.headers["x-request-id"])


def test_generated_request_ids_differ(api: httpx.Client) -> None:
    ids = {api.get("/api/health").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(uuid.UUID(value).version == 4 for value in ids)


def test_request_id_on_every_kind_of_response(api: httpx.Client, as_admin: dict[str, str]) -> None:
    headers = {"X-Request-Id": "trace-1"}
    etag = api.get("/api/status").headers["etag"]
    responses = [
        api.get("/api/status", headers={**headers, "If-None-Match": etag}),
        api.head("/api/codebases", headers=headers),
        api.post("/api/codebases", headers=headers),
        api.get("/api/export/codebases", headers=headers),
        api.post("/api/run/x", headers={**headers, **as_admin}),
    ]
    assert [r.status_code for r in responses] == [304, 200, 405, 200, 415]
    assert all(r.headers["x-request-id"] == "trace-1" for r in responses)


# ETag and 304 (§2.9) -------------------------------------------------------------------------


def test_etag_is_stable_and_changes_with_the_body(api: httpx.Client) -> None:
    first = api.get("/api/codebases", params={"limit": 3})
    second = api.get("/api/codebases", params={"limit": 3})
    other = api.get("/api/codebases", params={"limit": 4})
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]
    assert other.headers["etag"] != first.headers["etag"]
    assert not first.headers["etag"].startswith("W/")


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "*", '"nope", {etag}', "W/{etag}", '{etag} , "other"', '"a","b",W/{etag}'],
)
def test_if_none_match_gives_304(api: httpx.Client, if_none_match: str) -> None:
    etag = api.get("/api/queue/items", params={"limit": 5}).headers["etag"]
    response = api.get(
        "/api/queue/items",
        params={"limit": 5},
        headers={"If-None-Match": if_none_match.format(etag=etag), "X-Request-Id": "r304"},
    )
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-request-id"] == "r304"
    assert "content-type" not in response.headers


@pytest.mark.parametrize("if_none_match", ['"0123"', 'W/"0123"', '""'])
def test_if_none_match_not_matching_gives_200(api: httpx.Client, if_none_match: str) -> None:
    response = api.get("/api/status", headers={"If-None-Match": if_none_match})
    ok(response)


def test_304_of_user_keeps_vary(api: httpx.Client, as_admin: dict[str, str]) -> None:
    etag = api.get("/api/user", headers=as_admin).headers["etag"]
    response = api.get("/api/user", headers={**as_admin, "If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["vary"] == "Authorization, Cookie"


def test_head_304(api: httpx.Client) -> None:
    etag = api.get("/api/runs", params={"limit": 1}).headers["etag"]
    response = api.head("/api/runs", params={"limit": 1}, headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b""


@pytest.mark.parametrize("if_none_match", ["*", '"x"'])
def test_errors_ignore_if_none_match(api: httpx.Client, if_none_match: str) -> None:
    response = api.get("/api/c/no-such-codebase", headers={"If-None-Match": if_none_match})
    error(response, 404, "not_found", {"resource": "codebase", "codebase": "no-such-codebase"})


def test_etag_is_per_body_not_per_request_id(api: httpx.Client) -> None:
    first = api.get("/api/status", headers={"X-Request-Id": "one"})
    second = api.get("/api/status", headers={"X-Request-Id": "two"})
    assert first.headers["etag"] == second.headers["etag"]


# HEAD (§1) -----------------------------------------------------------------------------------

HEAD_PATHS = [
    "/api/health",
    "/api/status",
    "/api/codebases?limit=3",
    "/api/c/0ad",
    "/api/runs?limit=2",
    "/api/queue",
    "/api/lintian-fixes/ready?limit=1",
    "/api/templates",
    "/api/c/no-such-codebase",
    "/api/runs?limit=-1",
    "/api/nope",
    "/api/user",
]


@pytest.mark.parametrize("path", HEAD_PATHS)
def test_head_mirrors_get(api: httpx.Client, path: str) -> None:
    got, head = api.get(path), api.head(path)
    assert head.status_code == got.status_code
    assert head.content == b""
    ignored = {"date", "x-request-id", "etag"}
    assert {k: v for k, v in head.headers.items() if k not in ignored} == {
        k: v for k, v in got.headers.items() if k not in ignored
    }
    if path not in ("/api/health", "/api/queue"):  # their bodies hold the time
        assert head.headers.get("etag") == got.headers.get("etag")


def test_head_of_a_diff(api: httpx.Client, emulator: EmulatorServer) -> None:
    model = pristine_model(emulator)
    run_id = next(
        run_id
        for run_id, branches in model.branches.items()
        if any((model.runs[run_id]["codebase"], b["revision"]) in model.diffs for b in branches)
    )
    got, head = api.get(f"/api/run/{run_id}/diff"), api.head(f"/api/run/{run_id}/diff")
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["content-type"] == got.headers["content-type"] == "text/x-diff"


# Routing (§2.1, §1) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/nope",
        "/api",
        "/api/",
        "/",
        "/favicon.ico",
        "/api/codebases/",
        "/api/c/0ad/",
        "/api/runs/",
        "/api/c/0ad/runs/",
        "/api/v1/health",
        "/api/runner/status",
        "/API/health",
        "/api/c/0ad/runs/extra",
        "/api/lintian-fixes/c/0ad/extra",
    ],
)
def test_unknown_route(api: httpx.Client, path: str) -> None:
    response = api.get(path)
    error(response, 404, "not_found", {"resource": "route", "path": path})


@pytest.mark.parametrize(
    "path",
    [
        "/api/c/foo%2Fbar",
        "/api/c/0ad%2Fruns",
        "/api/c/0ad%2fmerge-proposals",
        "/api/run/x%2Fdiff",
        "/api/lintian-fixes%2Fready",
        "/api/lintian-fixes/c/0ad%2Fpublish",
    ],
)
def test_encoded_slash_never_matches(api: httpx.Client, path: str) -> None:
    body = error(api.get(path), 404, "not_found")
    assert body["details"]["resource"] == "route"
    assert isinstance(body["details"]["path"], str)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("python3.11", "python3.11"),
        ("libsigc%2B%2B-2.0", "libsigc++-2.0"),
        ("gtk%2B3.0", "gtk+3.0"),
        ("r-cran-data.table", "r-cran-data.table"),
    ],
)
def test_path_parameters_are_percent_decoded(api: httpx.Client, raw: str, name: str) -> None:
    assert ok(api.get(f"/api/c/{raw}"))["name"] == name


@pytest.mark.parametrize("raw", ["0AD", "0ad%20", "%200ad", "0ad.json", "libsigc++-2.0x"])
def test_path_parameters_match_exactly(api: httpx.Client, raw: str) -> None:
    response = api.get(f"/api/c/{raw}")
    body = error(response, 404, "not_found")
    assert body["details"]["resource"] == "codebase"


@pytest.mark.parametrize(
    ("path", "details"),
    [
        ("/api/c/a%00b", {"resource": "codebase", "codebase": "a\x00b"}),
        ("/api/c/a%00b/runs", {"resource": "codebase", "codebase": "a\x00b"}),
        ("/api/c/a%00b/merge-proposals", {"resource": "codebase", "codebase": "a\x00b"}),
        ("/api/run/a%00b", {"resource": "run", "run_id": "a\x00b"}),
        ("/api/run/%00/diff", {"resource": "run", "run_id": "\x00"}),
        ("/api/active-runs/a%00b", {"resource": "active_run", "run_id": "a\x00b"}),
        ("/api/a%00b/ready", {"resource": "campaign", "campaign": "a\x00b"}),
        ("/api/a%00b/merge-proposals", {"resource": "campaign", "campaign": "a\x00b"}),
        ("/api/a%00b/c/0ad", {"resource": "campaign", "campaign": "a\x00b"}),
        ("/api/lintian-fixes/c/a%00b", {"resource": "codebase", "codebase": "a\x00b"}),
    ],
)
def test_path_with_nul_is_not_found(api: httpx.Client, path: str, details: dict[str, str]) -> None:
    """No database holds U+0000 (§2.4): such a path parameter names nothing, on every backend."""
    error(api.get(path), 404, "not_found", details)


def test_path_with_invalid_utf8_is_not_found(api: httpx.Client) -> None:
    body = error(api.get("/api/c/%ff%fe"), 404, "not_found")
    assert body["details"]["resource"] == "codebase"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/api/codebases", {"GET", "HEAD"}),
        ("PUT", "/api/run/x", {"GET", "HEAD", "POST"}),
        ("DELETE", "/api/run/x/reschedule", {"POST"}),
        ("GET", "/api/run/x/reschedule", {"POST"}),
        ("GET", "/api/templates/render", {"POST"}),
        ("HEAD", "/api/templates/render-batch", {"POST"}),
        ("OPTIONS", "/api/health", {"GET", "HEAD"}),
        ("PATCH", "/api/lintian-fixes/c/0ad/publish", {"POST"}),
        ("GET", "/api/lintian-fixes/c/0ad/publish", {"POST"}),
        ("POST", "/api/lintian-fixes/ready", {"GET", "HEAD"}),
        ("POST", "/api/c/ready", {"GET", "HEAD"}),
        ("DELETE", "/api/export/runs", {"GET", "HEAD"}),
    ],
)
def test_method_not_allowed(api: httpx.Client, method: str, path: str, allowed: set[str]) -> None:
    response = api.request(method, path, headers=BAD_TOKEN)  # 405 wins over the token (§2.1)
    assert response.status_code == 405
    if method == "HEAD":
        assert response.content == b""
        assert set(response.headers["allow"].split(", ")) == allowed
        return
    body = error(response, 405, "method_not_allowed")
    assert list(body["details"]) == ["allowed"]
    assert set(body["details"]["allowed"]) == allowed
    assert len(body["details"]["allowed"]) == len(allowed)
    assert response.headers["allow"] == ", ".join(body["details"]["allowed"])


#: Reserved names that a static route catches before {campaign}: the resource it reports.
_STATIC_OWNER = {"c": ("codebase", "codebase"), "run": ("run", "run_id"),
                 "active-runs": ("active_run", "run_id")}  # fmt: skip


@pytest.mark.parametrize("name", RESERVED)
@pytest.mark.parametrize("tail", ["ready", "merge-proposals"])
def test_reserved_names_are_no_campaigns(api: httpx.Client, name: str, tail: str) -> None:
    path = f"/api/{name}/{tail}"
    body = error(api.get(path), 404, "not_found")
    if name in _STATIC_OWNER:
        resource, key = _STATIC_OWNER[name]
        assert body["details"] == {"resource": resource, key: tail}
    else:
        assert body["details"] == {"resource": "route", "path": path}


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_names_in_campaign_codebase_paths(
    api: httpx.Client, as_admin: dict[str, str], name: str
) -> None:
    path = f"/api/{name}/c/0ad"
    error(api.get(path), 404, "not_found", {"resource": "route", "path": path})
    for method in ("POST", "DELETE"):  # not 405: the path is no route at all
        response = api.request(method, path + "/publish", headers=as_admin, json={})
        error(response, 404, "not_found", {"resource": "route", "path": path + "/publish"})
    response = api.post(f"/api/{name}/ready")
    if name == "run":  # POST /api/run/{run_id}
        error(response, 401, "unauthorized", None)
    elif name in ("c", "active-runs"):  # GET /api/c/{codebase}, /api/active-runs/{run_id}
        error(response, 405, "method_not_allowed", {"allowed": ["GET", "HEAD"]})
    else:
        error(response, 404, "not_found", {"resource": "route", "path": f"/api/{name}/ready"})


def test_campaign_named_like_a_route_prefix_is_not_reserved(api: httpx.Client) -> None:
    for name in ("runss", "Runs", "queue-items", "codebase"):
        body = error(api.get(f"/api/{name}/ready"), 404, "not_found")
        assert body["details"] == {"resource": "campaign", "campaign": name}


# Check order (§2.1) --------------------------------------------------------------------------


def test_invalid_token_wins_over_bad_parameters(api: httpx.Client) -> None:
    response = api.get("/api/runs", params={"limit": -1}, headers=BAD_TOKEN)
    error(response, 401, "invalid_token", None)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_unknown_route_wins_over_invalid_token(api: httpx.Client) -> None:
    error(api.get("/api/nope", headers=BAD_TOKEN), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/c/no-such-codebase/runs?limit=-1", "limit"),
        ("/api/c/no-such-codebase/merge-proposals?sort=nope", "sort"),
        ("/api/c/no-such-codebase?include_inactive=1", "include_inactive"),
        ("/api/no-such-campaign/ready?order=up", "order"),
        ("/api/no-such-campaign/merge-proposals?statuses=open,x", "statuses"),
        ("/api/run/no-such-run/diff?role=%00", "role"),
        ("/api/active-runs?offset=-5", "offset"),
    ],
)
def test_bad_parameters_win_over_missing_resources(
    api: httpx.Client, path: str, parameter: str
) -> None:
    body = error(api.get(path), 400, "invalid_parameter")
    assert body["details"]["parameter"] == parameter


# Query parameters (§2.4) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "parameter", "value"),
    [
        ("limit=1&limit=1", "limit", ["1", "1"]),
        ("limit=1&limit=2&limit=3", "limit", ["1", "2", "3"]),
        ("q=a&q=b", "q", ["a", "b"]),
        ("search=a&search=b", "search", ["a", "b"]),
        ("sort=run_id&sort=run_id", "sort", ["run_id", "run_id"]),
        ("order=asc&order=asc", "order", ["asc", "asc"]),
        ("codebase=0ad&codebase=0ad", "codebase", ["0ad", "0ad"]),
        ("result_codes=a&result_codes=b", "result_codes", ["a", "b"]),
        ("page=1&page=1", "page", ["1", "1"]),
        ("start_time=2025-01-01&start_time=2025-01-02", "start_time", ["2025-01-01", "2025-01-02"]),
        ("success_only=true&success_only=true", "success_only", ["true", "true"]),
        ("limit=&limit=1&limit=2", "limit", ["1", "2"]),
    ],
)
def test_repeated_parameter(
    api: httpx.Client, query: str, parameter: str, value: list[str]
) -> None:
    invalid_parameter(api.get("/api/runs?" + query), parameter, value)


@pytest.mark.parametrize(
    "query",
    [
        "foo=1&foo=2",
        "LIMIT=1&LIMIT=2",
        "filter[codebase]=a&filter[codebase]=b",
        "limit=&limit=7",
        "campaign=lintian-fixes&suite=a&suite=b",
        "q=python&search=a&search=b",
    ],
)
def test_repeats_that_are_no_repeats(api: httpx.Client, query: str) -> None:
    listing(api.get("/api/runs?" + query))


def test_parameter_names_are_form_decoded(api: httpx.Client) -> None:
    assert listing(api.get("/api/runs?li%6Dit=3"))[1]["limit"] == 3
    assert listing(api.get("/api/runs?limit&limit=4"))[1]["limit"] == 4  # no "=": empty
    invalid_parameter(api.get("/api/runs?limit=3&li%6dit=4"), "limit", ["3", "4"])
    assert listing(api.get("/api/runs?%zz=1&%ff=2&=3&&"))[1]["limit"] == 50  # ignored


def test_empty_values_mean_absent(api: httpx.Client) -> None:
    plain = api.get("/api/runs")
    empty = api.get(
        "/api/runs?limit=&offset=&page=&sort=&order=&q=&search=&codebase=&codebases=&campaign="
        "&suite=&result_code=&result_codes=&success_only=&publish_status=&vcs_type=&worker_name="
        "&change_set=&failure_transient=&publishable_only=&start_time=&end_time=&run_id=&run_ids="
    )
    assert listing(empty) == listing(plain)
    assert listing(plain)[1] == {"total": RUNS, "offset": 0, "limit": 50, "has_more": True}


@pytest.mark.parametrize(
    "parameter", ["name", "q", "search", "sort", "limit", "vcs_type", "start_time", "names"]
)
def test_nul_character(api: httpx.Client, parameter: str) -> None:
    response = api.get("/api/codebases", params={parameter: "a\x00b"})
    details = invalid_parameter(response, parameter, "a\x00b")
    assert details["expected"] == "no NUL character"


@pytest.mark.parametrize("raw", ["%zz", "%", "%4", "a%2", "%ff", "%c3%28", "%ed%a0%80", "%80"])
def test_bad_percent_encoding(api: httpx.Client, raw: str) -> None:
    for parameter in ("codebase", "q", "limit"):
        invalid_parameter(api.get(f"/api/runs?{parameter}={raw}"), parameter, raw)


def test_plus_is_a_space(api: httpx.Client) -> None:
    assert total(api, "/api/runs?codebase=libsigc%2B%2B-2.0") > 0
    assert total(api, "/api/runs?codebase=libsigc++-2.0") == 0
    assert total(api, "/api/codebases?names=libsigc%2B%2B-2.0,gtk%2B3.0") == 2
    spaced = listing(api.get("/api/runs?q=exit+status+6&limit=1000"))[0]
    assert spaced and all("exit status 6" in run["description"] for run in spaced)


def test_names_are_case_sensitive_and_unknown_names_ignored(api: httpx.Client) -> None:
    _, pagination = listing(api.get("/api/runs?LIMIT=5&Codebase=0ad&filter[codebase]=0ad"))
    assert pagination == {"total": RUNS, "offset": 0, "limit": 50, "has_more": True}


@pytest.mark.parametrize(
    ("path", "primary", "alias", "value"),
    [
        ("/api/runs", "q", "search", "python"),
        ("/api/runs", "campaign", "suite", "debianize"),
        ("/api/codebases", "q", "search", "perl"),
        ("/api/codebases", "campaign", "suite", "multiarch-fixes"),
        ("/api/merge-proposals", "campaign", "suite", "fresh-releases"),
        ("/api/queue/items", "campaign", "suite", "scrub-obsolete"),
        ("/api/queue/items", "q", "search", "ruby"),
        ("/api/search", "q", "search", "golang"),
        ("/api/pkgnames", "q", "search", "lib"),
        ("/api/templates", "q", "search", "run"),
        ("/api/export/runs", "campaign", "suite", "debianize"),
    ],
)
def test_aliases(api: httpx.Client, path: str, primary: str, alias: str, value: str) -> None:
    by_primary = api.get(path, params={primary: value})
    by_alias = api.get(path, params={alias: value})
    both = api.get(path, params={primary: value, alias: "zzz-no-match"})
    both_reversed = api.get(path, params={alias: "zzz-no-match", primary: value})
    unfiltered = api.get(path)
    assert by_primary.status_code == 200
    assert by_alias.content == by_primary.content == both.content == both_reversed.content
    assert by_primary.content != unfiltered.content


@pytest.mark.parametrize("value", ["1", "0", "yes", "no", "True", "FALSE", "t", " true", "true "])
def test_boolean_format(api: httpx.Client, value: str) -> None:
    response = api.get("/api/codebases", params={"include_inactive": value})
    details = invalid_parameter(response, "include_inactive", value)
    assert "true" in details["expected"] and "false" in details["expected"]


def test_boolean_values(api: httpx.Client) -> None:
    active = total(api, "/api/codebases")
    assert total(api, "/api/codebases", {"include_inactive": "false"}) == active
    assert total(api, "/api/codebases", {"include_inactive": "true"}) > active
    assert total(api, "/api/runs", {"success_only": "false"}) == RUNS


@pytest.mark.parametrize(
    "value",
    ["abc", "1.0", "+1", "1e3", " 1", "1 ", "0x10", "١", "9223372036854775808",
     "-9223372036854775809", "--1", "1-", "9" * 4301, "-" + "9" * 5000],
)  # fmt: skip
def test_integer_format(api: httpx.Client, value: str) -> None:
    for parameter in ("limit", "offset", "page"):
        response = api.get("/api/codebases", params={parameter: value})
        invalid_parameter(response, parameter, value)


@pytest.mark.parametrize(
    ("params", "offset", "limit"),
    [
        ({"limit": "007"}, 0, 7),
        ({"limit": "-0"}, 0, 0),
        ({"offset": "0009"}, 9, 50),
        ({"offset": "9223372036854775807"}, 9223372036854775807, 50),
        ({"offset": "0" * 5000 + "12"}, 12, 50),
        ({"limit": "9223372036854775807"}, 0, 1000),
    ],
)
def test_integer_edges(api: httpx.Client, params: dict[str, str], offset: int, limit: int) -> None:
    _, pagination = listing(api.get("/api/codebases", params=params))
    assert (pagination["offset"], pagination["limit"]) == (offset, limit)


@pytest.mark.parametrize(
    "value", ["0", "1", "0.5", "1e-3", "1E-3", "5e-1", "-0", "0.0", "1.0e0", "0.12345678901234567"]
)
def test_number_format_accepted(api: httpx.Client, value: str) -> None:
    for parameter in ("min_success_chance", "max_success_chance"):
        listing(api.get("/api/codebases", params={parameter: value, "limit": 0}))


@pytest.mark.parametrize(
    "value",
    [".5", "1.", "nan", "NaN", "inf", "Infinity", "-inf", "1.5", "-0.1", "0x1", "+0.5", "1e400",
     "2e-1x", "1,5", "01", "1e", "e1", "1.0.0", "true"],
)  # fmt: skip
def test_number_format_rejected(api: httpx.Client, value: str) -> None:
    for parameter in ("min_success_chance", "max_success_chance"):
        invalid_parameter(api.get("/api/codebases", params={parameter: value}), parameter, value)


TIMESTAMPS_ACCEPTED = [
    "2025-06-08T10:00:00Z",
    "2025-06-08t10:00:00z",
    "2025-06-08T10:00:00.5Z",
    "2025-06-08T10:00:00.123456789Z",
    "2025-06-08T12:00:00+02:00",
    "2025-06-08T08:00:00-02:00",
    "2025-06-08T10:00:00+00:00",
    "2025-06-08T10:00:00-00:00",
    "2025-06-08",
    "2016-12-31T23:59:60Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2024-02-29",
]
TIMESTAMPS_REJECTED = [
    "2025-06-08T10:00:00",
    "2025-06-08 10:00:00Z",
    "2025-06-08T10:00Z",
    "2025-13-01",
    "2025-02-30",
    "2023-02-29",
    "0000-01-01",
    "0000-12-31T23:00:00Z",
    "10000-01-01",
    "2025-6-8",
    "2025-06-08T25:00:00Z",
    "2025-06-08T10:61:00Z",
    "2025-06-08T10:00:00+2:00",
    "2025-06-08T10:00:00+0200",
    "2025-06-08T10:00:00+24:00",
    "2025-06-08T10:00:00.Z",
    "2025-06-08TZ",
    "yesterday",
    "1717840800",
    "2025-06-08Z",
    "+2025-06-08",
]


@pytest.mark.parametrize("value", TIMESTAMPS_ACCEPTED)
def test_timestamp_format_accepted(api: httpx.Client, value: str) -> None:
    for parameter in ("start_time", "end_time"):
        listing(api.get("/api/runs", params={parameter: value, "limit": 0}))


@pytest.mark.parametrize("value", TIMESTAMPS_REJECTED)
def test_timestamp_format_rejected(api: httpx.Client, value: str) -> None:
    for parameter in ("start_time", "end_time"):
        invalid_parameter(api.get("/api/runs", params={parameter: value}), parameter, value)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("2025-06-08T12:00:00+02:00", "2025-06-08T10:00:00Z"),
        ("2025-06-08T05:30:00-04:30", "2025-06-08T10:00:00Z"),
        ("2025-06-08t10:00:00z", "2025-06-08T10:00:00Z"),
        ("2025-06-08", "2025-06-08T00:00:00Z"),
        ("2025-06-08T23:59:60Z", "2025-06-08T23:59:59Z"),
        ("0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59.999999Z"),
    ],
)
def test_equal_timestamps_select_equally(api: httpx.Client, a: str, b: str) -> None:
    for parameter in ("start_time", "end_time"):
        assert total(api, "/api/runs", {parameter: a}) == total(api, "/api/runs", {parameter: b})


@pytest.mark.parametrize("value", ["GIT", "Git", " git", "git ", "git,hg", "none", "null"])
def test_enum_values(api: httpx.Client, value: str) -> None:
    details = invalid_parameter(api.get("/api/runs", params={"vcs_type": value}), "vcs_type", value)
    assert all(allowed in details["expected"] for allowed in ENUMS["VcsType"])


@pytest.mark.parametrize("value", ["a,,b", "a,", ",a", ",", ",,"])
def test_list_without_empty_elements(api: httpx.Client, value: str) -> None:
    invalid_parameter(api.get("/api/codebases", params={"names": value}), "names", value)
    invalid_parameter(api.get("/api/runs", params={"run_ids": value}), "run_ids", value)


def test_list_length(api: httpx.Client) -> None:
    names = ",".join(["0ad"] + [f"n{i}" for i in range(999)])
    assert total(api, "/api/codebases", {"names": names}) == 1
    too_many = names + ",x"
    invalid_parameter(api.get("/api/codebases", params={"names": too_many}), "names", too_many)


def test_list_elements_are_not_trimmed_and_commas_not_escapable(api: httpx.Client) -> None:
    assert total(api, "/api/codebases", {"names": "0ad, python-debian"}) == 1
    assert total(api, "/api/codebases?names=0ad%2Cpython-debian") == 2


def test_long_request_target(api: httpx.Client) -> None:
    names = ",".join(f"codebase-name-{i:04d}" for i in range(900))  # ~20 KiB
    assert len(names) > 16 * 1024
    assert total(api, "/api/codebases", {"names": names}) == 0


# Pagination (§2.5) ---------------------------------------------------------------------------


def test_limit_zero_counts(api: httpx.Client) -> None:
    data, pagination = listing(api.get("/api/runs", params={"limit": 0, "offset": 10}))
    assert data == []
    assert pagination == {"total": RUNS, "offset": 10, "limit": 0, "has_more": True}


@pytest.mark.parametrize("limit", [1001, 5000, 10**12])
def test_limit_is_clamped(api: httpx.Client, limit: int) -> None:
    data, pagination = listing(api.get("/api/runs", params={"limit": limit}))
    assert len(data) == 1000
    assert pagination == {"total": RUNS, "offset": 0, "limit": 1000, "has_more": True}


@pytest.mark.parametrize("parameter", ["limit", "offset"])
@pytest.mark.parametrize("value", [-1, -1000])
def test_negative_paging(api: httpx.Client, parameter: str, value: int) -> None:
    invalid_parameter(api.get("/api/runs", params={parameter: value}), parameter, str(value))


@pytest.mark.parametrize("offset", [RUNS, RUNS + 1, 10**9])
def test_offset_past_the_end(api: httpx.Client, offset: int) -> None:
    data, pagination = listing(api.get("/api/runs", params={"offset": offset}))
    assert data == []
    assert pagination == {"total": RUNS, "offset": offset, "limit": 50, "has_more": False}


def test_last_items(api: httpx.Client) -> None:
    everything = listing(api.get("/api/codebases", params={"limit": 1000}))[0]
    data, pagination = listing(api.get("/api/codebases", params={"offset": len(everything) - 1}))
    assert data == everything[-1:]
    assert pagination["has_more"] is False
    data, pagination = listing(api.get("/api/codebases", params={"limit": 10, "offset": 5}))
    assert data == everything[5:15]
    assert pagination["has_more"] is True


def test_page(api: httpx.Client) -> None:
    by_offset = api.get("/api/codebases", params={"limit": 7, "offset": 14})
    by_page = api.get("/api/codebases", params={"limit": 7, "page": 3, "offset": 99})
    assert by_page.content == by_offset.content
    assert listing(by_page)[1]["offset"] == 14
    first = listing(api.get("/api/codebases", params={"page": 1, "offset": 3}))[1]
    assert first["offset"] == 0
    clamped = listing(api.get("/api/runs", params={"page": 2, "limit": 5000}))[1]
    assert (clamped["offset"], clamped["limit"]) == (1000, 1000)
    count_only = listing(api.get("/api/runs", params={"page": 7, "limit": 0}))[1]
    assert (count_only["offset"], count_only["limit"]) == (0, 0)
    default_limit = listing(api.get("/api/runs", params={"page": 3}))[1]
    assert (default_limit["offset"], default_limit["limit"]) == (100, 50)


@pytest.mark.parametrize(
    ("page", "limit"),
    [("0", "10"), ("-1", "10"), ("4611686018427387905", "2"), ("9223372036854775807", "1000")],
)
def test_bad_page(api: httpx.Client, page: str, limit: str) -> None:
    invalid_parameter(api.get("/api/runs", params={"page": page, "limit": limit}), "page", page)


def test_largest_page(api: httpx.Client) -> None:
    _, pagination = listing(
        api.get("/api/runs", params={"page": "4611686018427387904", "limit": 2})
    )
    assert pagination["offset"] == 9223372036854775806
    _, pagination = listing(
        api.get("/api/runs", params={"page": "9223372036854775807", "limit": 0})
    )
    assert pagination["offset"] == 0


# Sorting rules (§2.6) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sort",
    ["nope", "Run_id", "run_id,", ",run_id", "-", "--run_id", "+run_id", "run_id,-run_id",
     "codebase,codebase", " run_id", "run_id ", "description", "id", "suite", "worker"],
)  # fmt: skip
def test_bad_sort(api: httpx.Client, sort: str) -> None:
    invalid_parameter(api.get("/api/runs", params={"sort": sort}), "sort", sort)


@pytest.mark.parametrize(
    ("params", "value"),
    [
        ({"order": "DESC"}, "DESC"),
        ({"order": "Asc"}, "Asc"),
        ({"order": "bogus"}, "bogus"),
        ({"order": "up", "sort": "codebase"}, "up"),
        ({"order": "asc", "sort": "-codebase"}, "asc"),
        ({"order": "desc", "sort": "-codebase"}, "desc"),
        ({"order": "asc", "sort": "codebase,run_id"}, "asc"),
        ({"order": "desc", "sort": "codebase,-run_id"}, "desc"),
    ],
)
def test_bad_order(api: httpx.Client, params: dict[str, str], value: str) -> None:
    invalid_parameter(api.get("/api/runs", params=params), "order", value)


def test_order(api: httpx.Client) -> None:
    def body(**params: str) -> bytes:
        response = api.get("/api/runs", params={"limit": 200, **params})
        assert response.status_code == 200
        return response.content

    assert body(sort="codebase", order="desc") == body(sort="-codebase")
    assert body(sort="codebase", order="asc") == body(sort="codebase")
    assert body(order="desc") == body(order="asc") == body()
    assert body(sort="", order="desc") == body()
    assert body(sort="-codebase") != body(sort="codebase")


# Every list endpoint (§2.5, §2.6) ------------------------------------------------------------

#: (path, one sortable field) of every list endpoint of §1.
LISTS = [
    ("/api/codebases", "name"),
    ("/api/c/python-debian/runs", "run_id"),
    ("/api/c/{busiest}/merge-proposals", "url"),
    ("/api/runs", "run_id"),
    ("/api/merge-proposals", "url"),
    ("/api/lintian-fixes/merge-proposals", "url"),
    ("/api/queue/items", "id"),
    ("/api/active-runs", "run_id"),
    ("/api/lintian-fixes/ready", "run_id"),
    ("/api/search", "codebase"),
    ("/api/pkgnames", "name"),
    ("/api/templates", "name"),
]


def _busiest_codebase(emulator: EmulatorServer) -> str:
    """The codebase with the most merge proposals."""
    counts: dict[str, int] = {}
    for mp in pristine_model(emulator).merge_proposals:
        if mp["codebase"] is not None:
            counts[mp["codebase"]] = counts.get(mp["codebase"], 0) + 1
    return min(counts, key=lambda name: (-counts[name], name))


def _stable(items: list[Any]) -> list[Any]:
    """Items without ``current_duration``, which grows between two requests."""
    return [
        {k: v for k, v in item.items() if k != "current_duration"}
        if isinstance(item, dict)
        else item
        for item in items
    ]


@pytest.mark.parametrize(("path", "field"), LISTS)
def test_every_list_endpoint_pages(
    api: httpx.Client, emulator: EmulatorServer, path: str, field: str
) -> None:
    path = path.format(busiest=_busiest_codebase(emulator))
    count = total(api, path)
    assert count > 3

    def page(**params: Any) -> tuple[list[Any], dict[str, Any]]:
        data, pagination = listing(api.get(path, params={"sort": field, **params}))
        return _stable(data), pagination

    first_five, pagination = page(limit=5)
    assert len(first_five) == 5 and pagination["total"] == count
    assert page(limit=3, offset=1)[0] == first_five[1:4]
    assert page(limit=2, page=2, offset=0)[0] == first_five[2:4]
    assert page(limit=0)[1] == {"total": count, "offset": 0, "limit": 0, "has_more": True}
    for offset in (count, count + 5):
        assert page(offset=offset) == ([], {"total": count, "offset": offset, "limit": 50,
                                            "has_more": False})  # fmt: skip
    data, pagination = page(limit=5000)
    assert pagination["limit"] == 1000 and len(data) == min(count, 1000)
    assert page()[1]["limit"] == 50
    assert page(**{"order": "desc"})[0][0] == page(sort=f"-{field}")[0][0]


BAD_LIST_PARAMETERS = [
    ({"limit": "-1"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"page": "0"}, "page"),
    ({"limit": "ten"}, "limit"),
    ({"sort": "no_such_field"}, "sort"),
    ({"order": "sideways"}, "order"),
    ({"sort": "{field},-{field}"}, "sort"),
    ({"sort": "-{field}", "order": "asc"}, "order"),
]


@pytest.mark.parametrize(("path", "field"), LISTS)
def test_every_list_endpoint_rejects_bad_paging_and_sorting(
    api: httpx.Client, path: str, field: str
) -> None:
    path = path.format(busiest="0ad")
    for params, parameter in BAD_LIST_PARAMETERS:
        query = {key: value.format(field=field) for key, value in params.items()}
        invalid_parameter(api.get(path, params=query), parameter, query[parameter])
    invalid_parameter(api.get(f"{path}?offset=1&offset=2"), "offset", ["1", "2"])


#: Every GET endpoint of §1 but the exports, with existing resources.
GETS = [
    "/api/health", "/api/status", "/api/codebases", "/api/c/0ad", "/api/c/0ad/runs",
    "/api/c/0ad/merge-proposals", "/api/runs", "/api/run/{run_id}", "/api/run/{run_id}/diff",
    "/api/merge-proposals", "/api/lintian-fixes/merge-proposals", "/api/queue",
    "/api/queue/items", "/api/active-runs", "/api/active-runs/{active_run_id}",
    "/api/lintian-fixes/ready", "/api/lintian-fixes/c/0ad", "/api/search", "/api/pkgnames",
    "/api/templates",
]  # fmt: skip


@pytest.mark.parametrize("path", GETS)
def test_every_get_has_etag_and_cache_control(
    api: httpx.Client, emulator: EmulatorServer, path: str
) -> None:
    model = pristine_model(emulator)
    run_id = next(
        run_id
        for run_id, branches in sorted(model.branches.items())
        for b in branches
        if b["role"] == "main" and (model.runs[run_id]["codebase"], b["revision"]) in model.diffs
    )
    path = path.format(run_id=run_id, active_run_id=model.active_runs[0]["run_id"])
    response = api.get(path)
    assert response.status_code == 200
    assert ETAG.fullmatch(response.headers["etag"])
    assert response.headers["cache-control"] == "no-cache"
    head = api.head(path, headers={"X-Request-Id": "h"})
    assert head.status_code == 200 and head.content == b"" and head.headers["x-request-id"] == "h"
    assert head.headers["cache-control"] == "no-cache" and ETAG.fullmatch(head.headers["etag"])
