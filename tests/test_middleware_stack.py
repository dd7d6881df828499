"""The app's three middlewares together, sync and async: the user's token is bound for the whole
request, fragments included, in the order the system check demands, and not in the wrong one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.test import RequestFactory

from janitor_site_django.auth import session as tokens
from janitor_site_django.auth.middleware import OIDCTokenMiddleware
from janitor_site_django.middleware import ApiScopeMiddleware
from janitor_site_django.models import Run
from janitor_site_django.template.fragments import JanitorFragmentsMiddleware
from janitor_site_django.testing import capture_api_calls
from janitor_site_django.testing.emulator import EmulatorServer

PAGE = (
    '{% load janitor_site %}{% for run in runs %}{% janitor_render "run-summary.html" run=run %}'
    "{% endfor %}"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def site(settings: Any, janitor_emulator: EmulatorServer) -> EmulatorServer:
    settings.JANITOR_SITE_URL = janitor_emulator.url
    settings.JANITOR_SITE_API_TOKEN = None  # only the user's token can list and render
    settings.DEBUG = True  # failed fragments show an inline box
    return janitor_emulator


def page(request: HttpRequest) -> HttpResponse:
    runs = list(Run.objects.order_by("run_id")[:3])
    return HttpResponse(engines["django"].from_string(PAGE).render({"runs": runs}))


async def apage(request: HttpRequest) -> HttpResponse:
    return await sync_to_async(page)(request)


def logged_in(site: EmulatorServer) -> HttpRequest:
    request = RequestFactory().get("/")
    request.user = User(username="carol")
    request.session = SessionStore()
    tokens.store(request.session, {"access_token": site.tokens["user"], "expires_in": 3600})
    return request


Stack = Callable[[Callable[..., Any]], Any]


def RIGHT(view: Callable[..., Any]) -> Any:  # the order checks E004/E005 accept
    return OIDCTokenMiddleware(ApiScopeMiddleware(JanitorFragmentsMiddleware(view)))


def WRONG(view: Callable[..., Any]) -> Any:  # E005: fragments outside the token
    return JanitorFragmentsMiddleware(OIDCTokenMiddleware(ApiScopeMiddleware(view)))


async def serve(mode: str, stack: Stack, request: HttpRequest) -> HttpResponse:
    if mode == "sync":
        handler = stack(page)
        response: HttpResponse = await anyio.to_thread.run_sync(handler, request)
        return response
    return await stack(apage)(request)  # type: ignore[no-any-return]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_checked_order_renders_fragments_with_the_users_token(
    site: EmulatorServer, mode: str
) -> None:
    with capture_api_calls() as calls:
        response = await serve(mode, RIGHT, logged_in(site))
    html = response.content.decode()
    assert "janitor-fragment-error" not in html and "janitor-fragment:" not in html
    assert html.count('class="run-summary') == 3
    assert [(c.method, c.path, c.status) for c in calls if c.sent] == [
        ("GET", "/api/runs", 200),
        ("GET", "/api/status", 200),  # the v1 probe before the first POST
        ("POST", "/api/templates/render-batch", 200),
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_order_check_e005_forbids_renders_after_the_token_is_unbound(
    site: EmulatorServer, mode: str
) -> None:
    with capture_api_calls() as calls:
        response = await serve(mode, WRONG, logged_in(site))
    html = response.content.decode()
    assert html.count("janitor-fragment-error") == 3
    assert [(c.path, c.status) for c in calls if c.method == "POST"] == [
        ("/api/templates/render-batch", 401)
    ]
