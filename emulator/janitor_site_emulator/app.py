"""The emulator's ASGI application: routes, error envelopes, request ids."""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import schema
from .api import (
    active_runs,
    campaigns,
    codebases,
    export,
    merge_proposals,
    queue,
    runs,
    search,
    service,
    templates,
)
from .auth import Authenticator
from .config import EmulatorConfig
from .context import Emulator
from .errors import ApiError, not_found
from .http import error_response

logger = logging.getLogger("janitor_site_emulator")

Endpoint = Callable[[Request], Awaitable[Response]]
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,200}")
#: The order of methods in ``Allow`` (Starlette keeps them in a set).
_METHOD_ORDER = {"GET": 0, "HEAD": 1, "POST": 2}


def _campaign_route(endpoint: Endpoint) -> Endpoint:
    """Reserved first segments are never campaigns: such paths are unknown routes (§1)."""

    async def guarded(request: Request) -> Response:
        if request.path_params["campaign"] in campaigns.RESERVED:
            raise _unknown_route(request.url.path)
        return await endpoint(request)

    return guarded


def _by_method(**endpoints: Endpoint) -> Endpoint:
    """One path answering several methods (so a 405 lists them all in ``Allow``)."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method](request)

    return dispatch


def _unknown_route(path: str) -> ApiError:
    return not_found("route", path=path)


ROUTES = [
    Route("/api/health", service.health),
    Route("/api/status", service.status),
    Route("/api/user", service.user),
    Route("/api/codebases", codebases.list_codebases),
    Route("/api/c/{codebase}", codebases.get_codebase),
    Route("/api/c/{codebase}/runs", runs.codebase_runs),
    Route("/api/c/{codebase}/merge-proposals", merge_proposals.codebase_merge_proposals),
    Route("/api/runs", runs.list_runs),
    Route(
        "/api/run/{run_id}",
        _by_method(GET=runs.get_run, POST=runs.update_run),
        methods=["GET", "POST"],
    ),
    Route("/api/run/{run_id}/diff", runs.run_diff),
    Route("/api/run/{run_id}/reschedule", runs.reschedule, methods=["POST"]),
    Route("/api/merge-proposals", merge_proposals.list_merge_proposals),
    Route("/api/queue", queue.queue_stats),
    Route("/api/queue/items", queue.list_queue_items),
    Route("/api/active-runs", active_runs.list_active_runs),
    Route("/api/active-runs/{run_id}", active_runs.get_active_run),
    Route("/api/search", search.search_codebases),
    Route("/api/pkgnames", search.package_names),
    Route("/api/export/codebases", export.export_codebases),
    Route("/api/export/runs", export.export_runs),
    Route("/api/templates", templates.list_templates),
    Route("/api/templates/render", templates.render, methods=["POST"]),
    Route("/api/templates/render-batch", templates.render_batch, methods=["POST"]),
    Route(
        "/api/{campaign}/merge-proposals", _campaign_route(merge_proposals.campaign_merge_proposals)
    ),
    Route("/api/{campaign}/ready", _campaign_route(campaigns.ready_list)),
    Route("/api/{campaign}/c/{codebase}", _campaign_route(campaigns.campaign_codebase)),
    Route(
        "/api/{campaign}/c/{codebase}/publish",
        _campaign_route(campaigns.publish),
        methods=["POST"],
    ),
]


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # A reserved first segment is no campaign: the path is unknown, whatever the method (§1).
    if exc.status_code == 405 and request.path_params.get("campaign") not in campaigns.RESERVED:
        allowed = sorted(
            (method.strip() for method in (exc.headers or {}).get("Allow", "").split(",")),
            key=lambda method: (_METHOD_ORDER.get(method, len(_METHOD_ORDER)), method),
        )
        error = ApiError(
            "method_not_allowed",
            f"{request.method} is not allowed on {request.url.path}",
            {"allowed": allowed},
            {"Allow": ", ".join(allowed)},
        )
        return error_response(error)
    return error_response(_unknown_route(request.url.path))


async def _internal_error(_request: Request, exc: Exception) -> Response:
    logger.error("unexpected failure", exc_info=exc)
    return error_response(ApiError("internal_error", "Internal server error"))


class RequestIdMiddleware:
    """Outermost layer: ``X-Request-Id`` on every response; encoded ``/`` never routes (§2.1)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        raw_path = scope.get("raw_path") or b""
        if b"%2f" in raw_path.lower():
            response = error_response(_unknown_route(raw_path.decode("latin-1")))
            await response(scope, receive, send_with_id)
            return
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if not started:
                raise
            # The 500 envelope is sent and the failure logged; keep the connection usable.


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return text
            break
    return str(uuid.uuid4())


def create_app(config: EmulatorConfig, engine: Engine | None = None) -> ASGIApp:
    """The emulator as an ASGI app over ``engine`` (built from the config when omitted)."""
    engine = engine or schema.create_engine(config.database_url)
    schema.create_schema(engine)
    template_set = None
    if config.templates_dir is not None:
        from .render import TemplateSet

        template_set = TemplateSet(config.templates_dir)
    emulator = Emulator(config, engine, Authenticator(config, engine), template_set)
    app = Starlette(
        routes=ROUTES,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
    app.router.redirect_slashes = False
    app.state.emulator = emulator
    return RequestIdMiddleware(app)


def app_from_environment() -> ASGIApp:
    """The app of one worker process (``--workers N``): the configuration comes from the
    environment the parent process set."""
    from .cli import CONFIG_ENVIRONMENT

    return create_app(EmulatorConfig.from_json(os.environ[CONFIG_ENVIRONMENT]))
