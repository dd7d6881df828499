"""Service endpoints over HTTP (§5.1) and the answers when a dependency is missing (§2.11):
runner, publisher, VCS store and templates switched off, and the database gone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from janitor_site_django.testing.emulator import EmulatorServer, start_emulator
from tests.conftest import POSTGRESQL_URL

from .api_support import (
    Model,
    bearer,
    client_for,
    error,
    load_model,
    ok,
    own_emulator,
    parse_ts,
    same,
    scratch_database,
    ts,
)

CAPABILITIES = ["pagination", "filtering", "sorting", "etag", "bearer_auth", "session_auth",
                "templates", "export"]  # fmt: skip


def test_health(api: httpx.Client) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    response = api.get("/api/health")
    data = ok(response)
    moment = parse_ts(data["timestamp"])
    assert before - dt.timedelta(seconds=1) <= moment <= dt.datetime.now(dt.timezone.utc)
    assert data["timestamp"] == ts(moment.replace(tzinfo=None))
    same(data, {"status": "healthy", "timestamp": data["timestamp"],
                "services": {"database": "healthy", "redis": "not_configured"}})  # fmt: skip
    assert response.headers["etag"] and response.headers["cache-control"] == "no-cache"


def test_status(api: httpx.Client) -> None:
    first, second = api.get("/api/status"), api.get("/api/status")
    data = ok(first)
    expected = {
        "service": "janitor-site",
        "version": data["version"],
        "api_version": "1",
        "build_time": None,
        "git_revision": None,
        "capabilities": data["capabilities"],
    }
    same(data, expected)
    assert isinstance(data["version"], str) and data["version"]
    assert sorted(data["capabilities"]) == sorted(CAPABILITIES)
    assert first.content == second.content and first.headers["etag"] == second.headers["etag"]


def test_parameters_are_ignored(api: httpx.Client) -> None:
    for path in ("/api/health", "/api/status"):
        assert api.get(path, params={"limit": "-1", "x": "\u0000"}).status_code == 200


USERS = {
    "admin": {"sub": "alice", "email": None, "name": None, "preferred_username": "alice",
              "groups": ["janitor-admins", "staff"], "roles": ["User", "QaReviewer", "Admin"],
              "is_admin": True, "is_qa_reviewer": True, "auth_method": "bearer"},
    "qa": {"sub": "bob", "email": None, "name": None, "preferred_username": "bob",
           "groups": ["janitor-qa"], "roles": ["User", "QaReviewer"], "is_admin": False,
           "is_qa_reviewer": True, "auth_method": "bearer"},
    "user": {"sub": "carol", "email": None, "name": None, "preferred_username": "carol",
             "groups": [], "roles": ["User"], "is_admin": False, "is_qa_reviewer": False,
             "auth_method": "bearer"},
    "service": {"sub": "janitor-site-django", "email": None, "name": None,
                "preferred_username": "janitor-site-django", "groups": ["janitor-service"],
                "roles": ["User"], "is_admin": False, "is_qa_reviewer": False,
                "auth_method": "bearer"},
}  # fmt: skip


@pytest.mark.parametrize("who", sorted(USERS))
def test_user(api: httpx.Client, emulator: EmulatorServer, who: str) -> None:
    response = api.get("/api/user", headers=bearer(emulator, who))
    same(ok(response), USERS[who])
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["vary"] == "Authorization, Cookie"


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_scheme_is_case_insensitive(
    api: httpx.Client, emulator: EmulatorServer, scheme: str
) -> None:
    response = api.get("/api/user", headers={"Authorization": f"{scheme} {emulator.tokens['qa']}"})
    same(ok(response), USERS["qa"])


def test_anonymous_user(api: httpx.Client) -> None:
    error(api.get("/api/user"), 401, "unauthorized", None, www_authenticate="Bearer")
    response = api.get("/api/user", headers={"Cookie": "session_id=no-such-session"})
    error(response, 401, "unauthorized", None, www_authenticate="Bearer")


# Dependencies switched off (§2.11) -------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def without(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorServer]:
    arguments = ["--without", "runner", "--without", "publisher", "--without", "vcs",
                 "--no-templates"]  # fmt: skip
    with own_emulator(request.param, tmp_path_factory.mktemp("without"), arguments) as server:
        yield server


@pytest.fixture(scope="module")
def bare(without: EmulatorServer) -> Iterator[httpx.Client]:
    with client_for(without) as client:
        yield client


@pytest.fixture(scope="module")
def bare_model(without: EmulatorServer) -> Model:
    return load_model(without.database_url)


def unavailable(response: httpx.Response, service: str) -> None:
    error(response, 503, "unavailable", {"service": service})
    assert int(response.headers["retry-after"]) > 0


def test_without_runner(bare: httpx.Client, bare_model: Model) -> None:
    unavailable(bare.get("/api/active-runs"), "runner")
    unavailable(bare.get("/api/active-runs", params={"q": "x", "sort": "-start_time"}), "runner")
    unavailable(bare.get(f"/api/active-runs/{bare_model.active_runs[0]['run_id']}"), "runner")
    unavailable(bare.get("/api/active-runs/nope"), "runner")
    # Request syntax is checked before the runner is asked (§2.1).
    error(bare.get("/api/active-runs", params={"limit": "-1"}), 400, "invalid_parameter")
    error(bare.get("/api/active-runs", params={"sort": "nope"}), 400, "invalid_parameter")
    stats = ok(bare.get("/api/queue"))
    assert stats["queue"]["active_runs"] is None
    assert stats["queue"]["campaigns"] and all(
        c["active_runs"] is None for c in stats["queue"]["campaigns"]
    )


def test_without_vcs_store(bare: httpx.Client, bare_model: Model) -> None:
    with_diff = next(
        run_id
        for run_id, branches in sorted(bare_model.branches.items())
        for b in branches
        if b["role"] == "main"
        and (bare_model.runs[run_id]["codebase"], b["revision"]) in bare_model.diffs
    )
    unavailable(bare.get(f"/api/run/{with_diff}/diff"), "vcs")
    without_branch = next(i for i in sorted(bare_model.runs) if i not in bare_model.branches)
    error(bare.get(f"/api/run/{without_branch}/diff"), 404, "diff_unavailable",
          {"run_id": without_branch, "role": "main"})  # fmt: skip
    error(bare.get("/api/run/nope/diff"), 404, "not_found", {"resource": "run", "run_id": "nope"})


def test_without_publisher(bare: httpx.Client, without: EmulatorServer, bare_model: Model) -> None:
    admin = bearer(without, "admin")
    ready = next(
        (codebase, suite)
        for (codebase, suite), last in sorted(bare_model.last_runs.items())
        if last["last_unabsorbed_run_id"]
        and bare_model.runs[last["last_unabsorbed_run_id"]]["result_code"] == "success"
    )
    response = bare.post(f"/api/{ready[1]}/c/{ready[0]}/publish", headers=admin, json={})
    unavailable(response, "publisher")
    failed = next(
        (codebase, suite, last["last_unabsorbed_run_id"])
        for (codebase, suite), last in sorted(bare_model.last_runs.items())
        if last["last_unabsorbed_run_id"]
        and bare_model.runs[last["last_unabsorbed_run_id"]]["result_code"] != "success"
    )
    response = bare.post(f"/api/{failed[1]}/c/{failed[0]}/publish", headers=admin, json={})
    assert response.status_code == 409  # preconditions come before the call (§2.1)
    response = bare.post(f"/api/{ready[1]}/c/{ready[0]}/publish", headers=admin,
                         json={"mode": "nope"})  # fmt: skip
    assert response.status_code == 422


def test_without_templates(bare: httpx.Client, without: EmulatorServer) -> None:
    user = bearer(without, "user")
    unavailable(bare.get("/api/templates"), "templates")
    unavailable(bare.post("/api/templates/render", headers=user, json={"template": "a.html"}),
                "templates")  # fmt: skip
    unavailable(bare.post("/api/templates/render-batch", headers=user, json={"items": []}),
                "templates")  # fmt: skip
    error(bare.get("/api/templates", params={"limit": "-1"}), 400, "invalid_parameter")
    error(bare.post("/api/templates/render", json={}), 401, "unauthorized", None)
    error(bare.post("/api/templates/render", headers=user, json={}), 422, "validation_error")
    data = ok(bare.get("/api/status"))
    assert sorted(data["capabilities"]) == sorted(c for c in CAPABILITIES if c != "templates")


def test_other_endpoints_still_work(bare: httpx.Client) -> None:
    assert ok(bare.get("/api/health"))["status"] == "healthy"
    assert bare.get("/api/runs", params={"limit": 1}).status_code == 200


# The database gone -----------------------------------------------------------------------------


def test_database_down(tmp_path: Path) -> None:
    """PostgreSQL dropped under a running emulator: 503 ``database`` everywhere (§5.1)."""
    with (
        scratch_database("postgresql", tmp_path) as url,
        start_emulator(url, seed="none") as server,
        client_for(server) as client,
    ):
        assert client.get("/api/health").status_code == 200
        with psycopg.connect(POSTGRESQL_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        services = {"database": "unhealthy", "redis": "not_configured"}
        for _ in range(2):  # the pooled connection, then a new one
            response = client.get("/api/health")
            error(response, 503, "unavailable", {"service": "database", "services": services})
            assert int(response.headers["retry-after"]) > 0
        for path in ("/api/runs", "/api/codebases", "/api/c/0ad", "/api/queue"):
            response = client.get(path)
            error(response, 503, "unavailable", {"service": "database"})
            assert int(response.headers["retry-after"]) > 0
