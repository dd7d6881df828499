"""POST endpoints over HTTP (§5.3, §5.7, §2.1): run description updates, reschedules (§5.3
steps 1–6) and publishing; request bodies (415, 413, 400 ``invalid_json``, 422 with field
names in order). Also checks that need rows the demo data lacks (inserted here): the MP's run
(§4.3), search items without runs, recent runs, sessions, campaigns known from configuration.

These tests change data, so the module runs its own emulators (SQLite and PostgreSQL). Each
test makes its own rows or picks rows no other test uses; the empty-queue test comes last.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from janitor_site_django.testing.emulator import EmulatorServer
from janitor_site_emulator import schema

from .api_support import (
    bearer,
    client_for,
    error,
    fetch_all,
    json_body,
    listing,
    ok,
    own_emulator,
    queue_items,
    same,
)

MIB = 1024 * 1024
#: Names of the codebases made here (no seeded codebase has it).
PREFIX = "zz-api-test-"
NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
SCHEDULE_KEYS = [
    "queue_id",
    "codebase",
    "campaign",
    "bucket",
    "offset",
    "estimated_duration_seconds",
    "queue_position",
    "queue_wait_time",
    "refresh",
    "requester",
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorServer]:
    with own_emulator(request.param, tmp_path_factory.mktemp("post")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def api(server: EmulatorServer) -> Iterator[httpx.Client]:
    with client_for(server) as client:
        yield client


@pytest.fixture(scope="module")
def db(server: EmulatorServer) -> Iterator[Engine]:
    engine = schema.create_engine(server.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def qa(server: EmulatorServer) -> dict[str, str]:
    return bearer(server, "qa")


@pytest.fixture(scope="module")
def admin(server: EmulatorServer) -> dict[str, str]:
    return bearer(server, "admin")


# Rows ------------------------------------------------------------------------------------------


def rows(db: Engine, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(sa.select(table).where(*where))]


def insert(db: Engine, table: sa.Table, *values: dict[str, Any]) -> None:
    with db.begin() as conn:
        conn.execute(table.insert(), list(values))


def new_codebase(db: Engine, name: str | None = None, **fields: Any) -> str:
    name = name or f"{PREFIX}{uuid.uuid4().hex[:10]}"
    url = f"https://example.org/{name}.git"
    row = {
        "name": name,
        "url": url,
        "branch": "main",
        "branch_url": f"{url},branch=main",
        "subpath": "",
        "vcs_type": "git",
        "inactive": False,
        "hostname": "example.org",
        "name_lower": name.lower(),
        "url_lower": url.lower(),
        **fields,
    }
    insert(db, schema.codebase, row)
    return name


def new_run(db: Engine, codebase: str, suite: str, **fields: Any) -> dict[str, Any]:
    """Insert a run (a failure by default) finished ``seconds`` after its start."""
    seconds = fields.pop("seconds", 100.0)
    start = fields.pop("start_time", NOW - dt.timedelta(days=3))
    finish = None if seconds is None or start is None else start + dt.timedelta(seconds=seconds)
    run_id = fields.pop("id", None) or str(uuid.uuid4())
    row = {
        "id": run_id,
        "codebase": codebase,
        "suite": suite,
        "command": None,
        "description": None,
        "result_code": "build-failed",
        "failure_transient": None,
        "start_time": start,
        "finish_time": finish,
        "duration": None if finish is None else (finish - start).total_seconds(),
        "logfilenames": "[]",
        "publish_status": "unknown",
        "change_set": str(uuid.uuid4()),
        "id_lower": run_id.lower(),
        "codebase_lower": codebase.lower(),
        "description_lower": None,
        **fields,
    }
    insert(db, schema.run, row)
    return row


def new_candidate(db: Engine, codebase: str, suite: str, command: str, **fields: Any) -> None:
    row = {
        "codebase": codebase,
        "suite": suite,
        "command": command,
        "publish_policy": None,
        "value": 1,
        "success_chance": None,
        "context": None,
        "change_set": None,
        **fields,
    }
    insert(db, schema.candidate, row)


def new_queue_row(db: Engine, codebase: str, suite: str, **fields: Any) -> int:
    row = {
        "codebase": codebase,
        "codebase_lower": codebase.lower(),
        "suite": suite,
        "bucket": "default",
        "priority": 100,
        "command": "old-command",
        "context": "ctx",
        "estimated_duration": 12.5,
        "refresh": True,
        "requester": "earlier",
        "change_set": None,
        "branch_url": None,
        **fields,
    }
    insert(db, schema.queue, row)
    q = schema.queue.c
    found = rows(db, schema.queue, q.codebase == codebase, q.suite == suite)
    return int(max(r["id"] for r in found))


def get_run(api: httpx.Client, run_id: str) -> dict[str, Any]:
    return ok(api.get(f"/api/run/{run_id}"))


def seeded_failure(db: Engine, index: int) -> dict[str, Any]:
    """The ``index``-th seeded failed run (tests use distinct indexes)."""
    r = schema.run.c
    failures = rows(db, schema.run, r.result_code == "build-failed", ~r.codebase.startswith(PREFIX))
    return sorted(failures, key=lambda row: row["id"])[index]


# Run description (§5.3) ------------------------------------------------------------------------


def post_run(
    api: httpx.Client, run_id: str, headers: dict[str, str], body: Any = None, **kwargs: Any
) -> httpx.Response:
    if body is not None:
        kwargs["json"] = body
    return api.post(f"/api/run/{run_id}", headers=headers, **kwargs)


def test_update_description(api: httpx.Client, db: Engine, qa: dict[str, str]) -> None:
    run = get_run(api, seeded_failure(db, 0)["id"])
    etag = api.get(f"/api/run/{run['run_id']}").headers["etag"]
    text = "Reviewed by Ünïcode QA ✓ 50%_off"
    response = post_run(api, run["run_id"], {**qa, "If-None-Match": "*"}, {"description": text})
    updated = ok(response)
    assert "etag" not in response.headers and response.headers["x-request-id"]
    same(updated, {**run, "description": text})
    same(get_run(api, run["run_id"]), updated)
    response = api.get(f"/api/run/{run['run_id']}", headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["etag"] != etag  # §2.9
    found = fetch_all(api, "/api/runs", {"q": "ÜNÏCODE QA ✓ 50%_"})
    assert [r["run_id"] for r in found] == [run["run_id"]]

    same(ok(post_run(api, run["run_id"], qa, {})), updated)
    unknown_keys = {"result_code": "success", "failure_details": {"x": 1}, "verdict": "approved"}
    same(ok(post_run(api, run["run_id"], qa, unknown_keys)), updated)
    response = post_run(api, run["run_id"], {**qa, "Content-Type": "application/json"}, content=b"")
    same(ok(response), updated)  # an empty body means {}

    cleared = ok(post_run(api, run["run_id"], qa, {"description": None}))
    same(cleared, {**run, "description": None})
    assert fetch_all(api, "/api/runs", {"q": "ÜNÏCODE QA"}) == []


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "Application/JSON",
    ],
)
def test_json_media_types(
    api: httpx.Client, db: Engine, qa: dict[str, str], content_type: str
) -> None:
    run_id = seeded_failure(db, 1)["id"]
    body = json.dumps({"description": content_type}).encode()
    response = post_run(api, run_id, {**qa, "Content-Type": content_type}, content=body)
    assert ok(response)["description"] == content_type


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/json",
        "application/jsonx",
        "application/json-patch+json",
        "application/ld+json",
    ],
)
def test_unsupported_media_type(
    api: httpx.Client, db: Engine, qa: dict[str, str], content_type: str | None
) -> None:
    run_id = seeded_failure(db, 2)["id"]
    headers = dict(qa) if content_type is None else {**qa, "Content-Type": content_type}
    for content in (b'{"description": "x"}', b""):
        response = post_run(api, run_id, headers, content=content)
        error(response, 415, "unsupported_media_type", None)
    assert get_run(api, run_id)["description"] != "x"
    response = post_run(api, "no-such-run", headers, content=b"{")
    error(response, 415, "unsupported_media_type", None)  # syntax before existence


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"{'description': 'x'}",
        b'{"description": "x"} trailing',
        b"\xff\xfe{}",
        b'{"description": "\xe9"}',
        b'{"description": NaN}',
        b'{"offset": Infinity}',
        b'{"description": 1e400}',
        b'{"description": "\\ud800"}',
        b'{"a": "\\udc00x"}',
        b"   ",
        b"nul",
        b'{"description": "x",}',
        b"[1,]",
    ],
)
def test_invalid_json(api: httpx.Client, db: Engine, qa: dict[str, str], content: bytes) -> None:
    run_id = seeded_failure(db, 3)["id"]
    headers = {**qa, "Content-Type": "application/json"}
    body = error(post_run(api, run_id, headers, content=content), 400, "invalid_json")
    assert list(body["details"]) == ["message"] and isinstance(body["details"]["message"], str)
    error(post_run(api, "no-such-run", headers, content=content), 400, "invalid_json")
    response = api.post(f"/api/run/{run_id}/reschedule", headers=headers, content=content)
    error(response, 400, "invalid_json")


def test_valid_json_edge_cases(api: httpx.Client, db: Engine, qa: dict[str, str]) -> None:
    run_id = seeded_failure(db, 3)["id"]
    headers = {**qa, "Content-Type": "application/json"}
    cases = {
        b'{"description": "\\ud83d\\ude00 ok"}': "\U0001f600 ok",
        b' \r\n {"description": "spaces"} \n': "spaces",
        b'{"x": 1e308, "description": "big"}': "big",
    }
    for content, description in cases.items():
        assert ok(post_run(api, run_id, headers, content=content))["description"] == description


@pytest.mark.parametrize("body", [[], [{"description": "x"}], "x", 1, None, True, 1.5])
def test_body_must_be_an_object(
    api: httpx.Client, db: Engine, qa: dict[str, str], body: Any
) -> None:
    run_id = seeded_failure(db, 4)["id"]
    content = json.dumps(body).encode()
    headers = {**qa, "Content-Type": "application/json"}
    error(post_run(api, run_id, headers, content=content), 422, "validation_error")
    error(
        api.post(f"/api/run/{run_id}/reschedule", headers=headers, content=content),
        422,
        "validation_error",
    )


@pytest.mark.parametrize("value", [5, 0, True, False, [], ["x"], {}, {"a": "b"}, 1.5])
def test_description_must_be_a_string_or_null(
    api: httpx.Client, db: Engine, qa: dict[str, str], value: Any
) -> None:
    run_id = seeded_failure(db, 4)["id"]
    body = error(post_run(api, run_id, qa, {"description": value}), 422, "validation_error")
    assert list(body["details"]) == ["field", "value", "expected"]
    assert body["details"]["field"] == "description"
    assert body["details"]["value"] == value and type(body["details"]["value"]) is type(value)
    # 422 comes before the existence of the run (§2.1)
    error(post_run(api, "no-such-run", qa, {"description": value}), 422, "validation_error")


def test_nul_characters_in_bodies(
    api: httpx.Client, db: Engine, qa: dict[str, str], admin: dict[str, str]
) -> None:
    """No database holds U+0000: 422, as for query parameters (§2.4), not a 500."""
    run_id = seeded_failure(db, 9)["id"]
    cases = [
        (f"/api/run/{run_id}", {"description": "a\x00b"}, "description"),
        (f"/api/run/{run_id}/reschedule", {"requester": "\x00"}, "requester"),
        ("/api/lintian-fixes/c/0ad/publish", {"requester": "x\x00"}, "requester"),
        ("/api/lintian-fixes/c/0ad/publish", {"mode": "push\x00"}, "mode"),
    ]
    for path, body, field in cases:
        details = error(api.post(path, headers=admin, json=body), 422, "validation_error")[
            "details"
        ]
        assert (details["field"], details["value"]) == (field, body[field])
    assert get_run(api, run_id)["description"] != "a\x00b"
    response = api.post("/api/lintian-fixes/c/a%00b/publish", headers=admin, json={})
    error(response, 404, "not_found", {"resource": "codebase", "codebase": "a\x00b"})
    response = api.post("/api/run/a%00b/reschedule", headers=qa, json={})
    error(response, 404, "not_found", {"resource": "run", "run_id": "a\x00b"})
    response = api.post("/api/run/a%00b", headers=qa, json={"description": "x"})
    error(response, 404, "not_found", {"resource": "run", "run_id": "a\x00b"})


def test_unknown_run(api: httpx.Client, qa: dict[str, str]) -> None:
    for body in ({}, {"description": "x"}):
        response = post_run(api, "no-such-run", qa, body)
        error(response, 404, "not_found", {"resource": "run", "run_id": "no-such-run"})


def test_body_size_limit(
    api: httpx.Client, db: Engine, qa: dict[str, str], admin: dict[str, str]
) -> None:
    run_id = seeded_failure(db, 5)["id"]
    headers = {**qa, "Content-Type": "application/json"}
    prefix, suffix = b'{"description": "', b'"}'
    exact = prefix + b"x" * (MIB - len(prefix) - len(suffix)) + suffix
    assert len(exact) == MIB
    response = post_run(api, run_id, headers, content=exact)
    assert len(ok(response)["description"]) == MIB - len(prefix) - len(suffix)
    over = exact[:-2] + b'x"}'
    error(post_run(api, run_id, headers, content=over), 413, "payload_too_large", {"limit": MIB})

    def chunks() -> Iterator[bytes]:
        yield over[: MIB // 2]
        yield over[MIB // 2 :]

    error(
        post_run(api, run_id, headers, content=chunks()), 413, "payload_too_large", {"limit": MIB}
    )
    # 413 comes first among the syntax errors (§2.1): before 415 and 400.
    error(
        post_run(api, run_id, {**qa, "Content-Type": "text/plain"}, content=over),
        413,
        "payload_too_large",
    )
    error(post_run(api, "no-such-run", headers, content=b"{" * (MIB + 1)), 413, "payload_too_large")
    publish_headers = {**admin, "Content-Type": "application/json"}
    response = api.post("/api/lintian-fixes/c/0ad/publish", headers=publish_headers, content=over)
    error(response, 413, "payload_too_large", {"limit": MIB})


def test_csv_export_quotes_fields(api: httpx.Client, db: Engine, qa: dict[str, str]) -> None:
    run_id = seeded_failure(db, 6)["id"]
    text = 'Line one, "quoted"\r\nline two\nend'
    ok(post_run(api, run_id, qa, {"description": text}))
    response = api.get("/api/export/runs", params={"run_id": run_id, "format": "csv"})
    header, line = response.content.decode().split("\r\n", 1)
    assert header.startswith("run_id,codebase,campaign,suite,command,description,")
    assert line.endswith("\r\n")
    assert ',"Line one, ""quoted""\r\nline two\nend",' in line
    run = get_run(api, run_id)
    assert json.loads(api.get("/api/export/runs", params={"run_id": run_id}).content) == [run]


# Reschedule (§5.3) -----------------------------------------------------------------------------


def reschedule(
    api: httpx.Client, run_id: str, headers: dict[str, str], body: Any = None
) -> httpx.Response:
    return api.post(
        f"/api/run/{run_id}/reschedule", headers=headers, json={} if body is None else body
    )


def expected_estimate(db: Engine, codebase: str, campaign: str) -> float:
    """§5.3 step 3, from the ``run`` table."""
    runs = rows(db, schema.run)
    for scope in (
        lambda r: r["codebase"] == codebase and r["suite"] == campaign,
        lambda r: r["codebase"] == codebase,
        lambda r: r["suite"] == campaign,
    ):
        durations = [
            (r["finish_time"] - r["start_time"]).total_seconds()
            for r in runs
            if scope(r)
            and r["failure_transient"] is not True
            and r["start_time"]
            and r["finish_time"]
        ]
        if durations:
            return statistics.fmean(durations)
    return 15.0


def min_priority(db: Engine) -> int:
    with db.connect() as conn:
        return conn.scalar(sa.select(sa.func.min(schema.queue.c.priority))) or 0


def queue_row(db: Engine, codebase: str, campaign: str) -> dict[str, Any]:
    q = schema.queue.c
    (row,) = rows(
        db, schema.queue, q.codebase == codebase, q.suite == campaign, q.change_set.is_(None)
    )
    return row


def check_schedule(
    db: Engine, result: dict[str, Any], offset: int, estimate: float | None = None
) -> dict[str, Any]:
    """The ScheduleResult describes the queue row as it is now (§5.3 step 6)."""
    assert list(result) == SCHEDULE_KEYS
    row = queue_row(db, result["codebase"], result["campaign"])
    item = next(i for i in queue_items(rows(db, schema.queue)) if i["id"] == row["id"])
    assert result == {
        "queue_id": row["id"],
        "codebase": row["codebase"],
        "campaign": row["suite"],
        "bucket": row["bucket"],
        "offset": offset,
        "estimated_duration_seconds": pytest.approx(row["estimated_duration"], rel=1e-9),
        "queue_position": item["position"],
        "queue_wait_time": pytest.approx(item["wait_time"] or 0.0, rel=1e-9),
        "refresh": bool(row["refresh"]),
        "requester": row["requester"],
    }
    if estimate is not None:
        assert result["estimated_duration_seconds"] == pytest.approx(estimate, rel=1e-9)
    return row


def test_reschedule_inserts_a_queue_row(api: httpx.Client, db: Engine, qa: dict[str, str]) -> None:
    codebase = new_codebase(db)
    campaign = "lintian-fixes"
    new_candidate(db, codebase, campaign, "lintian-brush --special")
    runs = [
        new_run(db, codebase, campaign, seconds=100.5, failure_transient=None),
        new_run(db, codebase, campaign, seconds=200.25, failure_transient=False),
        new_run(db, codebase, campaign, seconds=9000.0, failure_transient=True),
        new_run(db, codebase, campaign, seconds=None),
        new_run(db, codebase, "fresh-releases", seconds=5000.0),
    ]
    lowest = min_priority(db)
    response = reschedule(api, runs[0]["id"], {**qa, "If-None-Match": "*"})
    result = ok(response)
    assert "etag" not in response.headers
    row = check_schedule(db, result, -1, estimate=(100.5 + 200.25) / 2)
    assert (result["codebase"], result["campaign"], result["bucket"]) == (
        codebase,
        campaign,
        "manual",
    )
    assert (result["refresh"], result["requester"]) == (False, "bob")
    assert row["priority"] == lowest - 1
    assert (row["command"], row["context"], row["change_set"]) == (
        "lintian-brush --special",
        None,
        None,
    )
    item = fetch_all(api, "/api/queue/items", {"id": row["id"]})[0]
    assert (item["position"], item["wait_time"]) == (
        result["queue_position"],
        result["queue_wait_time"],
    )


def test_reschedule_body(api: httpx.Client, db: Engine, admin: dict[str, str]) -> None:
    codebase = new_codebase(db)
    new_candidate(db, codebase, "debianize", "debianize")
    run = new_run(db, codebase, "debianize", seconds=60.0)
    lowest = min_priority(db)
    body = {"offset": 25, "refresh": True, "requester": "someone@example.org", "unknown": 1}
    result = ok(reschedule(api, run["id"], admin, body))
    row = check_schedule(db, result, 25, estimate=60.0)
    assert row["priority"] == lowest + 25
    assert (result["refresh"], result["requester"]) == (True, "someone@example.org")
    result = ok(reschedule(api, run["id"], admin, {"offset": 0, "refresh": False}))
    row = check_schedule(db, result, 0)
    assert (result["refresh"], result["requester"]) == (False, "alice")  # the caller (§3.4)


def test_reschedule_overwrites_a_later_bucket(
    api: httpx.Client, db: Engine, qa: dict[str, str]
) -> None:
    for bucket in ("manual", "control", "default", "reschedule"):
        codebase = new_codebase(db)
        run = new_run(db, codebase, "scrub-obsolete", command="run-command", seconds=30.0)
        queue_id = new_queue_row(db, codebase, "scrub-obsolete", bucket=bucket, priority=-(10**6))
        other = new_queue_row(db, codebase, "scrub-obsolete", change_set="cs-1", bucket="hook")
        lowest = min_priority(db)
        result = ok(reschedule(api, run["id"], qa, {"offset": -3}))
        row = check_schedule(db, result, -3)
        assert result["queue_id"] == queue_id and result["bucket"] == "manual"
        assert row["priority"] == lowest - 3
        assert (row["command"], row["context"], row["refresh"], row["requester"]) == (
            "run-command",
            None,
            False,
            "bob",
        )
        assert row["estimated_duration"] == pytest.approx(
            expected_estimate(db, codebase, "scrub-obsolete")
        )
        (untouched,) = rows(db, schema.queue, schema.queue.c.id == other)
        assert (untouched["bucket"], untouched["change_set"]) == ("hook", "cs-1")


def test_reschedule_keeps_an_earlier_bucket(
    api: httpx.Client, db: Engine, qa: dict[str, str]
) -> None:
    codebase = new_codebase(db)
    run = new_run(db, codebase, "multiarch-fixes", command="c")
    queue_id = new_queue_row(
        db, codebase, "multiarch-fixes", bucket="update-existing-mp", priority=7
    )
    before = queue_row(db, codebase, "multiarch-fixes")
    result = ok(reschedule(api, run["id"], qa, {"offset": 11, "refresh": False, "requester": "x"}))
    assert queue_row(db, codebase, "multiarch-fixes") == before
    check_schedule(db, result, 11)
    assert (result["queue_id"], result["bucket"], result["requester"], result["refresh"]) == (
        queue_id,
        "update-existing-mp",
        "earlier",
        True,
    )
    assert result["estimated_duration_seconds"] == 12.5


def test_reschedule_beside_a_change_set_row(
    api: httpx.Client, db: Engine, qa: dict[str, str]
) -> None:
    codebase = new_codebase(db)
    run = new_run(db, codebase, "fresh-snapshots", command="c")
    other = new_queue_row(db, codebase, "fresh-snapshots", change_set="cs-2")
    result = ok(reschedule(api, run["id"], qa))
    assert result["queue_id"] != other
    check_schedule(db, result, -1)
    assert len(rows(db, schema.queue, schema.queue.c.codebase == codebase)) == 2


def test_reschedule_command(api: httpx.Client, db: Engine, qa: dict[str, str]) -> None:
    """The candidate's command (no change set first, else the smallest id), else the run's."""
    cases: list[tuple[list[tuple[str, str | None]], str | None, str]] = [
        ([("with-change-set", "cs-a"), ("without", None)], "run-cmd", "without"),
        ([("first", "cs-a"), ("second", "cs-b")], None, "first"),
        ([], "run-cmd", "run-cmd"),
    ]
    for candidates, run_command, expected in cases:
        codebase = new_codebase(db)
        for command, change_set in candidates:
            new_candidate(db, codebase, "lintian-fixes", command, change_set=change_set)
        run = new_run(db, codebase, "lintian-fixes", command=run_command)
        result = ok(reschedule(api, run["id"], qa))
        assert queue_row(db, codebase, "lintian-fixes")["command"] == expected
        check_schedule(db, result, -1)


def test_reschedule_estimate_fallbacks(api: httpx.Client, db: Engine, qa: dict[str, str]) -> None:
    # Only transient runs in the pair: the codebase's other runs count.
    codebase = new_codebase(db)
    run = new_run(db, codebase, "debianize", command="c", failure_transient=True, seconds=999.0)
    new_run(db, codebase, "lintian-fixes", seconds=40.0)
    new_run(db, codebase, "fresh-releases", seconds=80.0, failure_transient=False)
    check_schedule(db, ok(reschedule(api, run["id"], qa)), -1, estimate=60.0)
    # No usable run of the codebase: the campaign's runs count.
    codebase = new_codebase(db)
    run = new_run(db, codebase, "multiarch-fixes", command="c", seconds=None)
    estimate = expected_estimate(db, codebase, "multiarch-fixes")
    assert estimate != 15.0
    check_schedule(db, ok(reschedule(api, run["id"], qa)), -1, estimate=estimate)
    # Nothing at all: 15 s.
    codebase = new_codebase(db)
    run = new_run(db, codebase, f"new-campaign-{codebase}", command="c", failure_transient=True)
    check_schedule(db, ok(reschedule(api, run["id"], qa)), -1, estimate=15.0)


def test_reschedule_conflicts(api: httpx.Client, db: Engine, qa: dict[str, str]) -> None:
    codebase = new_codebase(db)
    success = new_run(db, codebase, "lintian-fixes", result_code="success", command=None)
    response = reschedule(api, success["id"], qa)
    error(
        response,
        409,
        "cannot_reschedule_success",
        {"run_id": success["id"], "result_code": "success"},
    )
    failure = new_run(db, codebase, "lintian-fixes", command=None)
    error(reschedule(api, failure["id"], qa), 409, "no_command", {"run_id": failure["id"]})
    new_candidate(db, codebase, "fresh-releases", "other-campaign")
    error(reschedule(api, failure["id"], qa), 409, "no_command", {"run_id": failure["id"]})
    for name in ("nothing-to-do", "Success", "success "):
        run = new_run(db, codebase, "lintian-fixes", result_code=name, command="c")
        assert reschedule(api, run["id"], qa).status_code == 200
    assert rows(db, schema.queue, schema.queue.c.codebase == codebase)[0]["bucket"] == "manual"
    # 422 comes before 404 and 409 (§2.1).
    for run_id in (success["id"], failure["id"], "no-such-run"):
        error(reschedule(api, run_id, qa, {"offset": "1"}), 422, "validation_error")
    details = {"resource": "run", "run_id": "no-such-run"}
    error(reschedule(api, "no-such-run", qa), 404, "not_found", details)


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ({"offset": "1"}, "offset", "1"),
        ({"offset": 1.5}, "offset", 1.5),
        ({"offset": 1.0}, "offset", 1.0),
        ({"offset": True}, "offset", True),
        ({"offset": None}, "offset", None),
        ({"offset": [1]}, "offset", [1]),
        ({"refresh": "true"}, "refresh", "true"),
        ({"refresh": 1}, "refresh", 1),
        ({"refresh": None}, "refresh", None),
        ({"requester": 5}, "requester", 5),
        ({"requester": None}, "requester", None),
        ({"requester": ["a"]}, "requester", ["a"]),
        ({"requester": 5, "refresh": "x", "offset": "y"}, "offset", "y"),
        ({"requester": 5, "refresh": "x"}, "refresh", "x"),
        ({"requester": {}, "offset": 3}, "requester", {}),
    ],
)
def test_reschedule_validation(
    api: httpx.Client, db: Engine, qa: dict[str, str], body: dict[str, Any], field: str, value: Any
) -> None:
    run_id = seeded_failure(db, 7)["id"]
    details = error(reschedule(api, run_id, qa, body), 422, "validation_error")["details"]
    assert list(details) == ["field", "value", "expected"]
    assert details["field"] == field
    assert details["value"] == value and type(details["value"]) is type(value)


# Publish (§5.7) --------------------------------------------------------------------------------


def publish(
    api: httpx.Client, campaign: str, codebase: str, headers: dict[str, str], body: Any = None
) -> httpx.Response:
    return api.post(
        f"/api/{campaign}/c/{codebase}/publish", headers=headers, json={} if body is None else body
    )


def last_unabsorbed(db: Engine, success: bool) -> list[tuple[str, str, str]]:
    """(campaign, codebase, run id) of seeded pairs whose last unabsorbed run (not) succeeded,
    those with unabsorbed branches first."""
    found = []
    runs = {r["id"]: r for r in rows(db, schema.run)}
    unabsorbed = {b["run_id"] for b in rows(db, schema.new_result_branch) if not b["absorbed"]}
    for last in sorted(rows(db, schema.last_run), key=lambda r: (r["suite"], r["codebase"])):
        run = runs.get(last["last_unabsorbed_run_id"] or "")
        if run is not None and (run["result_code"] == "success") is success:
            found.append((run["id"] not in unabsorbed, last["suite"], last["codebase"], run["id"]))
    return [pair for _, *pair in sorted(found)]  # type: ignore[misc]


def test_publish(api: httpx.Client, db: Engine, admin: dict[str, str]) -> None:
    campaign, codebase, run_id = last_unabsorbed(db, True)[0]
    branches = rows(db, schema.new_result_branch, schema.new_result_branch.c.run_id == run_id)
    roles = sorted(b["role"] for b in branches if not b["absorbed"])
    assert roles
    for mode in (None, "push-derived", "push", "propose", "attempt-push"):
        body = {} if mode is None else {"mode": mode}
        response = publish(api, campaign, codebase, {**admin, "If-None-Match": "*"}, body)
        data = ok(response, 202)
        assert "etag" not in response.headers
        assert list(data) == ["campaign", "codebase", "run_id", "mode", "status", "publish_ids"]
        assert data == {
            "campaign": campaign,
            "codebase": codebase,
            "run_id": run_id,
            "mode": mode,
            "status": "initiated",
            "publish_ids": data["publish_ids"],
        }
        assert sorted(data["publish_ids"]) == roles
        assert all(isinstance(v, str) and v for v in data["publish_ids"].values())
    response = publish(api, campaign, codebase, admin, {"requester": "someone", "extra": [1]})
    assert ok(response, 202)["mode"] is None


def test_publish_nothing_to_do(api: httpx.Client, db: Engine, admin: dict[str, str]) -> None:
    campaign, codebase, run_id = last_unabsorbed(db, True)[1]  # [0] is test_publish's
    with db.begin() as conn:
        conn.execute(
            schema.new_result_branch.update()
            .where(schema.new_result_branch.c.run_id == run_id)
            .values(absorbed=True)
        )
    data = ok(publish(api, campaign, codebase, admin, {"mode": "propose"}), 200)
    assert data == {
        "campaign": campaign,
        "codebase": codebase,
        "run_id": run_id,
        "mode": "propose",
        "status": "nothing_to_do",
        "publish_ids": {},
    }


def test_publish_conflicts(api: httpx.Client, db: Engine, admin: dict[str, str]) -> None:
    campaign, codebase, run_id = last_unabsorbed(db, False)[0]
    result_code = rows(db, schema.run, schema.run.c.id == run_id)[0]["result_code"]
    response = publish(api, campaign, codebase, admin)
    error(
        response,
        409,
        "no_successful_run",
        {"campaign": campaign, "codebase": codebase, "run_id": run_id, "result_code": result_code},
    )
    # A pair with a candidate and no run, and a pair with nothing at all: no run found.
    lonely = new_codebase(db)
    new_candidate(db, lonely, "debianize", "debianize")
    for campaign_name in ("debianize", "lintian-fixes"):
        response = publish(api, campaign_name, lonely, admin, {"mode": "push"})
        error(response, 409, "no_run_found", {"campaign": campaign_name, "codebase": lonely})


def test_publish_not_found_and_validation(api: httpx.Client, admin: dict[str, str]) -> None:
    response = publish(api, "lintian-fixes", "no-such-codebase", admin)
    error(response, 404, "not_found", {"resource": "codebase", "codebase": "no-such-codebase"})
    response = publish(api, "no-such-campaign", "0ad", admin)
    error(response, 404, "not_found", {"resource": "campaign", "campaign": "no-such-campaign"})
    cases: list[tuple[dict[str, Any], str, Any]] = [
        ({"mode": "build-only"}, "mode", "build-only"),
        ({"mode": "skip"}, "mode", "skip"),
        ({"mode": "bts"}, "mode", "bts"),
        ({"mode": "PROPOSE"}, "mode", "PROPOSE"),
        ({"mode": ""}, "mode", ""),
        ({"mode": None}, "mode", None),
        ({"mode": 1}, "mode", 1),
        ({"requester": 1}, "requester", 1),
        ({"requester": None}, "requester", None),
        ({"requester": 1, "mode": "nope"}, "mode", "nope"),
    ]
    for body, field, value in cases:
        for campaign, codebase in (("lintian-fixes", "0ad"), ("no-such-campaign", "nope")):
            response = publish(api, campaign, codebase, admin, body)
            details = error(response, 422, "validation_error")["details"]
            assert (details["field"], details["value"]) == (field, value)
    response = api.post("/api/lintian-fixes/c/0ad/publish", headers=admin)
    error(response, 415, "unsupported_media_type", None)


# Checks needing rows the demo data lacks -------------------------------------------------------


def test_merge_proposal_run(api: httpx.Client, db: Engine) -> None:
    """§4.3: the MP's run is the latest finished run with that branch revision (NULL finish
    last), ties broken by the greatest id."""
    codebase = new_codebase(db)
    late = NOW - dt.timedelta(days=1)
    made = {
        "a": new_run(db, codebase, "lintian-fixes", id="00000000-a", start_time=late, seconds=10),
        "b": new_run(db, codebase, "fresh-releases", id="00000000-b", start_time=late, seconds=10),
        "c": new_run(db, codebase, "debianize", id="00000000-c", seconds=None),
        "d": new_run(db, codebase, "multiarch-fixes", id="00000000-d", start_time=late, seconds=1),
        "e": new_run(db, codebase, "scrub-obsolete", id="00000000-e", seconds=None),
    }
    branch = {"remote_name": None, "base_revision": None, "absorbed": None}
    insert(
        db,
        schema.new_result_branch,
        *(
            {"run_id": made[k]["id"], "role": "main", "revision": "rev-shared", **branch}
            for k in "abcd"
        ),
        {"run_id": made["e"]["id"], "role": "upstream", "revision": "rev-only-e", **branch},
    )
    urls = {
        f"https://example.org/{codebase}/mp/{n}": rev
        for n, rev in enumerate(["rev-shared", "rev-only-e", None, "rev-unknown"])
    }
    insert(
        db,
        schema.merge_proposal,
        *(
            {
                "url": url,
                "codebase": codebase,
                "status": "open",
                "revision": rev,
                "url_lower": url.lower(),
                "codebase_lower": codebase.lower(),
            }
            for url, rev in urls.items()
        ),
    )
    found = {
        mp["url"]: (mp["campaign"], mp["run_id"])
        for mp in fetch_all(api, f"/api/c/{codebase}/merge-proposals")
    }
    expected = [
        ("fresh-releases", made["b"]["id"]),
        ("scrub-obsolete", made["e"]["id"]),
        (None, None),
        (None, None),
    ]
    assert [found[url] for url in urls] == expected
    by_campaign = fetch_all(api, "/api/fresh-releases/merge-proposals", {"codebase": codebase})
    assert [mp["url"] for mp in by_campaign] == list(urls)[:1]


def test_stored_values_are_emitted_as_v1_values(api: httpx.Client, db: Engine) -> None:
    """JSON columns re-emitted compactly in stored key order; timestamps per §2.8."""
    codebase = new_codebase(db)
    start = dt.datetime(2025, 6, 8, 10, 50, 50)
    run = new_run(
        db, codebase, "lintian-fixes", start_time=start, seconds=80.123456,
        result='{"z": 1,  "a": [1, 2], "m": {"y": null, "b": "\u00e9"}}',
        failure_details='{ "stage": ["x"] }', logfilenames='["z.log", "a.log"]',
        result_tags=None, failure_transient=False,
    )  # fmt: skip
    response = api.get(f"/api/run/{run['id']}")
    got = ok(response)
    assert (got["start_time"], got["finish_time"], got["duration"]) == (
        "2025-06-08T10:50:50Z", "2025-06-08T10:52:10.123456Z", 80.123456,
    )  # fmt: skip
    assert '"result":{"z":1,"a":[1,2],"m":{"y":null,"b":"é"}}'.encode() in response.content
    assert b'"failure_details":{"stage":["x"]}' in response.content
    assert (got["logfilenames"], got["result_tags"], got["result_branches"]) == (
        ["z.log", "a.log"], [], [],
    )  # fmt: skip
    tiny = new_run(db, codebase, "lintian-fixes", start_time=start.replace(microsecond=5),
                   seconds=0.000001)  # fmt: skip
    got = get_run(api, tiny["id"])
    assert (got["start_time"], got["finish_time"]) == (
        "2025-06-08T10:50:50.000005Z", "2025-06-08T10:50:50.000006Z",
    )  # fmt: skip


def test_diff_edge_cases(api: httpx.Client, db: Engine) -> None:
    """An empty diff is a 200 with an empty body; a NULL base is the empty tree (§5.3)."""
    codebase = new_codebase(db)
    branch = {"remote_name": "main", "absorbed": False}
    empty = new_run(db, codebase, "lintian-fixes", result_code="success", vcs_type="git")
    no_vcs = new_run(db, codebase, "debianize", result_code="success", vcs_type=None)
    no_revision = new_run(db, codebase, "fresh-releases", result_code="success", vcs_type="git")
    insert(db, schema.new_result_branch,
           {"run_id": empty["id"], "role": "main", "base_revision": None, "revision": "r-empty",
            **branch},
           {"run_id": empty["id"], "role": "other", "base_revision": "b1", "revision": "r-other",
            **branch},
           {"run_id": no_vcs["id"], "role": "main", "base_revision": None, "revision": "r-empty",
            **branch},
           {"run_id": no_revision["id"], "role": "main", "base_revision": None, "revision": None,
            **branch})  # fmt: skip
    insert(db, schema.vcs_diff,
           {"codebase": codebase, "revision": "r-empty", "base_revision": None, "diff": b""},
           {"codebase": codebase, "revision": "r-other", "base_revision": "b0",
            "diff": b"--- a\n+++ b\n"})  # fmt: skip
    response = api.get(f"/api/run/{empty['id']}/diff")
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["content-type"] == "text/x-diff" and response.headers["etag"]
    for run, role in ((empty, "other"), (no_vcs, "main"), (no_revision, "main")):
        response = api.get(f"/api/run/{run['id']}/diff", params={"role": role})
        error(response, 404, "diff_unavailable", {"run_id": run["id"], "role": role})


def test_search_item_of_a_codebase_without_runs(api: httpx.Client, db: Engine) -> None:
    name = new_codebase(db, f"{PREFIX}no-runs-{uuid.uuid4().hex[:6]}")
    data, _ = listing(api.get("/api/search", params={"q": name}))
    assert data == [
        {
            "codebase": name,
            "campaign": None,
            "vcs_url": f"https://example.org/{name}.git",
            "result_code": None,
            "finish_time": None,
            "last_run_id": None,
        }
    ]
    assert listing(api.get("/api/search", params={"q": name, "campaign": "debianize"}))[0] == []
    assert ok(api.get(f"/api/c/{name}"))["name"] == name
    assert fetch_all(api, f"/api/c/{name}/runs") == []


def test_codebase_without_name_is_invisible(api: httpx.Client, db: Engine) -> None:
    before = listing(api.get("/api/codebases", params={"include_inactive": "true", "limit": 0}))[1]
    pkgnames = listing(api.get("/api/pkgnames", params={"include_inactive": "true", "limit": 0}))[1]
    insert(
        db,
        schema.codebase,
        {
            "name": None,
            "url": "https://example.org/nameless.git",
            "url_lower": "https://example.org/nameless.git",
            "inactive": False,
        },
    )
    after = listing(api.get("/api/codebases", params={"include_inactive": "true", "limit": 0}))[1]
    assert after["total"] == before["total"]
    assert (
        listing(api.get("/api/pkgnames", params={"include_inactive": "true", "limit": 0}))[1]
        == pkgnames
    )
    assert listing(api.get("/api/codebases", params={"q": "nameless"}))[0] == []
    assert listing(api.get("/api/search", params={"q": "nameless"}))[0] == []


def test_recent_successful_runs(api: httpx.Client, db: Engine) -> None:
    before = ok(api.get("/api/queue"))["additional_stats"]["recent_successful_runs"]
    codebase = new_codebase(db)
    new_run(
        db,
        codebase,
        "lintian-fixes",
        result_code="success",
        start_time=NOW - dt.timedelta(hours=2),
        seconds=60,
    )
    new_run(
        db,
        codebase,
        "lintian-fixes",
        result_code="success",
        start_time=NOW - dt.timedelta(hours=30),
        seconds=60,
    )
    new_run(db, codebase, "lintian-fixes", start_time=NOW - dt.timedelta(hours=1), seconds=60)
    after = ok(api.get("/api/queue"))["additional_stats"]["recent_successful_runs"]
    assert after == before + 1


def test_campaigns_known_from_configuration_and_queue(api: httpx.Client, db: Engine) -> None:
    configured, queued = f"configured-{uuid.uuid4().hex[:6]}", f"queued-{uuid.uuid4().hex[:6]}"
    for name in (configured, queued):
        error(
            api.get(f"/api/{name}/ready"),
            404,
            "not_found",
            {"resource": "campaign", "campaign": name},
        )
    insert(db, schema.campaign, {"name": configured, "description": "From the configuration."})
    new_queue_row(db, new_codebase(db), queued)
    for name in (configured, queued):
        assert listing(api.get(f"/api/{name}/ready"))[0] == []
        assert listing(api.get(f"/api/{name}/merge-proposals"))[0] == []
    campaigns = {c["name"]: c for c in ok(api.get("/api/queue"))["queue"]["campaigns"]}
    assert configured not in campaigns  # no candidate and no queue item
    assert (
        campaigns[queued]["pending_candidates"] == 1 and campaigns[queued]["total_candidates"] == 0
    )
    assert campaigns[queued]["success_rate"] is None and campaigns[queued]["last_updated"] is None


def test_campaign_with_candidates_of_inactive_codebases_only(api: httpx.Client, db: Engine) -> None:
    """Listed in the queue statistics (it has a candidate), with no active candidate (§4.7)."""
    campaign = f"inactive-only-{uuid.uuid4().hex[:6]}"
    new_candidate(db, new_codebase(db, inactive=True), campaign, "c")
    stats = ok(api.get("/api/queue"))["queue"]
    (status,) = [c for c in stats["campaigns"] if c["name"] == campaign]
    assert (status["total_candidates"], status["pending_candidates"]) == (0, 0)
    assert listing(api.get(f"/api/{campaign}/ready"))[0] == []


def test_session_cookie(api: httpx.Client, db: Engine) -> None:
    """Sessions of both formats over HTTP (§3.3), and the requester default: email first."""
    sessions = {
        "python-format": {
            "sub": "d1",
            "email": "dave@example.org",
            "preferred_username": "dave",
            "groups": ["janitor-qa"],
        },
        "rust-format": {
            "user": {"sub": "e1", "name": "Eve", "roles": "janitor-admins,x"},
            "created_at": "2025-01-01T00:00:00Z",
        },
    }
    insert(
        db,
        schema.site_session,
        *(
            {"id": key, "timestamp": NOW, "userinfo": json.dumps(value)}
            for key, value in sessions.items()
        ),
        {
            "id": "expired",
            "timestamp": NOW - dt.timedelta(days=8),
            "userinfo": json.dumps(sessions["python-format"]),
        },
    )
    user = ok(api.get("/api/user", headers={"Cookie": "session_id=python-format"}))
    assert (user["sub"], user["email"], user["auth_method"]) == (
        "d1",
        "dave@example.org",
        "session",
    )
    assert user["roles"] == ["User", "QaReviewer"]
    user = ok(api.get("/api/user", headers={"Cookie": "session_id=rust-format"}))
    assert (user["sub"], user["name"], user["roles"]) == (
        "e1",
        "Eve",
        ["User", "QaReviewer", "Admin"],
    )
    error(api.get("/api/user", headers={"Cookie": "session_id=expired"}), 401, "unauthorized", None)

    codebase = new_codebase(db)
    run = new_run(db, codebase, "lintian-fixes", command="c")
    cookie = {"Cookie": "session_id=python-format"}
    result = ok(reschedule(api, run["id"], cookie))
    assert result["requester"] == "dave@example.org"
    result = ok(reschedule(api, run["id"], {"Cookie": "session_id=rust-format"}))
    assert result["requester"] == "Eve"
    error(
        api.post(f"/api/run/{run['id']}", headers=cookie, content=b"{}"),
        415,
        "unsupported_media_type",
        None,
    )
    bearer_user = {"Cookie": "session_id=python-format", "Authorization": "Bearer dev-user-token"}
    error(
        reschedule(api, run["id"], bearer_user), 403, "forbidden", {"required_role": "QaReviewer"}
    )


def test_post_responses_are_compact_json(api: httpx.Client, db: Engine, qa: dict[str, str]) -> None:
    run_id = seeded_failure(db, 8)["id"]
    response = post_run(api, run_id, qa, {"description": "Straße"})
    assert json_body(response)["data"]["description"] == "Straße"
    assert "Straße".encode() in response.content


def test_reschedule_into_an_empty_queue(api: httpx.Client, db: Engine, qa: dict[str, str]) -> None:
    """Last in the module: it empties the queue. Priority = 0 + offset, position 1 (§5.3)."""
    with db.begin() as conn:
        conn.execute(schema.queue.delete())
    codebase = new_codebase(db)
    run = new_run(db, codebase, "lintian-fixes", command="c", seconds=33.0)
    result = ok(reschedule(api, run["id"], qa, {"offset": 4}))
    check_schedule(db, result, 4, estimate=33.0)
    assert (result["queue_position"], result["queue_wait_time"]) == (1, 0.0)
    assert queue_row(db, codebase, "lintian-fixes")["priority"] == 4
    stats = ok(api.get("/api/queue"))["queue"]
    assert stats["pending_candidates"] == 1
