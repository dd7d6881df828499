"""Authentication and authorisation over HTTP (§3, §2.1 check order), endpoint by endpoint:
anonymous, valid tokens with and without the role, invalid tokens. Nothing here changes data:
requests that pass the role check are stopped by a validation error."""

from __future__ import annotations

import httpx
import pytest

from janitor_site_django.testing.emulator import EmulatorServer

from .api_support import bearer, error, pristine_model

INVALID_TOKEN = 'Bearer error="invalid_token"'

#: Every public GET of §1, with existing resources.
PUBLIC_GETS = [
    "/api/health",
    "/api/status",
    "/api/codebases",
    "/api/c/0ad",
    "/api/c/0ad/runs",
    "/api/c/0ad/merge-proposals",
    "/api/runs",
    "/api/run/{run_id}",
    "/api/run/{run_id}/diff",
    "/api/merge-proposals",
    "/api/lintian-fixes/merge-proposals",
    "/api/queue",
    "/api/queue/items",
    "/api/active-runs",
    "/api/active-runs/{active_run_id}",
    "/api/lintian-fixes/ready",
    "/api/lintian-fixes/c/0ad",
    "/api/search",
    "/api/pkgnames",
    "/api/export/codebases",
    "/api/export/runs?limit=3",
    "/api/templates",
]


@pytest.fixture(scope="module")
def ids(emulator: EmulatorServer) -> dict[str, str]:
    model = pristine_model(emulator)
    run_id = next(  # a run with a diff
        run_id
        for run_id, branches in sorted(model.branches.items())
        for b in branches
        if b["role"] == "main" and (model.runs[run_id]["codebase"], b["revision"]) in model.diffs
    )
    return {"run_id": run_id, "active_run_id": model.active_runs[0]["run_id"]}


@pytest.mark.parametrize("path", PUBLIC_GETS)
def test_public_get_with_an_invalid_token(
    api: httpx.Client, ids: dict[str, str], path: str
) -> None:
    path = path.format(**ids)
    response = api.get(path, headers={"Authorization": "Bearer no-such-token"})
    error(response, 401, "invalid_token", None, www_authenticate=INVALID_TOKEN)
    head = api.head(path, headers={"Authorization": "Bearer no-such-token"})
    assert head.status_code == 401 and head.headers["www-authenticate"] == INVALID_TOKEN


#: Bodies holding the time of the response.
TIMED = ("/api/health", "/api/queue", "/api/active-runs", "/api/active-runs/{active_run_id}")


@pytest.mark.parametrize("path", [path for path in PUBLIC_GETS if path not in TIMED])
def test_public_get_is_the_same_for_everyone(
    api: httpx.Client, emulator: EmulatorServer, ids: dict[str, str], path: str
) -> None:
    path = path.format(**ids)
    anonymous = api.get(path)
    assert anonymous.status_code == 200
    for headers in (bearer(emulator, "user"), bearer(emulator, "admin"),
                    {"Cookie": "session_id=unknown"}):  # fmt: skip
        response = api.get(path, headers=headers)
        assert response.status_code == 200
        assert response.content == anonymous.content
        assert response.headers.get("etag") == anonymous.headers.get("etag")


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Token dev-admin-token", "Bearer a b",
     "Bearer  dev-admin-token", "Bearerdev-admin-token", "dev-admin-token", "Bearer é",
     "Bearer dev-admin-token,x", "Bearer dev-admin-token;"],
)  # fmt: skip
def test_malformed_authorization(api: httpx.Client, authorization: str) -> None:
    response = api.get("/api/codebases", headers=[(b"Authorization", authorization.encode())])
    error(response, 401, "invalid_token", None, www_authenticate=INVALID_TOKEN)


def test_bearer_wins_over_cookie(api: httpx.Client, emulator: EmulatorServer) -> None:
    headers = {**bearer(emulator, "qa"), "Cookie": "session_id=unknown"}
    assert api.get("/api/user", headers=headers).json()["data"]["sub"] == "bob"
    headers = {"Authorization": "Bearer nope", "Cookie": "session_id=unknown"}
    error(api.get("/api/user", headers=headers), 401, "invalid_token", None)


# POST endpoints --------------------------------------------------------------------------------

#: (path, role required, a body that fails validation once the role check passed)
POSTS = [
    ("/api/run/{run_id}", "QaReviewer", {"description": 5}),
    ("/api/run/{run_id}/reschedule", "QaReviewer", {"offset": "x"}),
    ("/api/lintian-fixes/c/0ad/publish", "Admin", {"mode": "build-only"}),
    ("/api/templates/render", "User", {"template": 5}),
    ("/api/templates/render-batch", "User", {"items": 5}),
]
ALLOWED = {"User": {"user", "qa", "admin", "service"}, "QaReviewer": {"qa", "admin"},
           "Admin": {"admin"}}  # fmt: skip


@pytest.mark.parametrize(("path", "role", "body"), POSTS)
def test_post_roles(
    api: httpx.Client,
    emulator: EmulatorServer,
    ids: dict[str, str],
    path: str,
    role: str,
    body: dict[str, object],
) -> None:
    path = path.format(**ids)
    error(api.post(path, json=body), 401, "unauthorized", None, www_authenticate="Bearer")
    response = api.post(path, json=body, headers={"Authorization": "Bearer nope"})
    error(response, 401, "invalid_token", None, www_authenticate=INVALID_TOKEN)
    response = api.post(path, json=body, headers={"Cookie": "session_id=unknown"})
    error(response, 401, "unauthorized", None)
    for who in ("user", "qa", "admin", "service"):
        response = api.post(path, json=body, headers=bearer(emulator, who))
        if who in ALLOWED[role]:
            error(response, 422, "validation_error")
        else:
            error(response, 403, "forbidden", {"required_role": role})


@pytest.mark.parametrize(("path", "role", "body"), POSTS)
def test_authentication_comes_before_request_syntax(
    api: httpx.Client, emulator: EmulatorServer, path: str, role: str, body: dict[str, object]
) -> None:
    """401/403 win over 415, 400 and 413; authorisation wins over 404 (§2.1)."""
    path = path.format(run_id="no-such-run").replace("lintian-fixes", "no-such-campaign")
    plain = {"Content-Type": "text/plain"}
    error(api.post(path, content=b"{", headers=plain), 401, "unauthorized", None)
    error(api.post(path), 401, "unauthorized", None)
    oversized = b"x" * (11 * 1024 * 1024)
    error(api.post(path, content=oversized, headers=plain), 401, "unauthorized", None)
    if role != "User":
        forbidden = {**plain, **bearer(emulator, "user")}
        error(api.post(path, content=b"{", headers=forbidden), 403, "forbidden")
        json_type = {**bearer(emulator, "user"), "Content-Type": "application/json"}
        error(api.post(path, content=b"{}", headers=json_type), 403, "forbidden")
