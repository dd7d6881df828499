"""Service endpoints (§5.1): health, status and the calling user."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from ..context import Call
from ..errors import RETRY_AFTER_SECONDS, ApiError
from ..http import data_response, timestamp

CAPABILITIES = (
    "pagination",
    "filtering",
    "sorting",
    "etag",
    "bearer_auth",
    "session_auth",
    "templates",
    "export",
)


async def health(request: Request) -> Response:
    call = await Call.begin(request)
    services = {"database": "healthy", "redis": "not_configured"}
    try:
        await call.read(lambda conn: conn.execute(sa.text("SELECT 1")))
    except ApiError:
        services["database"] = "unhealthy"
        raise ApiError(
            "unavailable",
            "Database health check failed",
            {"service": "database", "services": services},
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
    now = timestamp(dt.datetime.now(dt.timezone.utc))
    return data_response(request, {"status": "healthy", "timestamp": now, "services": services})


async def status(request: Request) -> Response:
    call = await Call.begin(request)
    config = call.emulator.config
    capabilities = [
        capability
        for capability in CAPABILITIES
        if capability != "templates" or config.templates_dir is not None
    ]
    return data_response(
        request,
        {
            "service": "janitor-site",
            "version": config.version,
            "api_version": "1",
            "build_time": None,
            "git_revision": None,
            "capabilities": capabilities,
        },
    )


async def user(request: Request) -> Response:
    call = await Call.begin(request, "User")
    assert call.principal is not None
    return data_response(request, call.principal.user_json(), private=True)
