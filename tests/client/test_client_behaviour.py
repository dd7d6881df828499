"""Retries, deadlines, HTTP caching, stale-if-error, memo, tokens and instrumentation.

Real servers wherever they can produce the situation (the emulator, a dead port, a socket that
never answers, a redirecting server); a transport wrapper in front of the real emulator only
for faults a real server cannot produce on demand (a 503 burst, a failure after a success).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from janitor_site_django import AsyncSiteClient, SiteClient, exceptions
from janitor_site_django.client import api_scope, user_token
from janitor_site_django.client._retry import BACKOFF, MAX_RETRY_AFTER, backoff
from janitor_site_django.conf import SiteConfig
from janitor_site_django.testing import assert_num_api_calls, capture_api_calls
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator

from .conftest import Both

pytestmark = pytest.mark.anyio


class Faults:
    """Answers the next requests with canned faults, then lets them through to the real server."""

    def __init__(self, *faults: Any) -> None:
        self.faults = list(faults)
        self.seen: list[httpx.Request] = []

    def next_fault(self, request: httpx.Request) -> httpx.Response | None:
        self.seen.append(request)
        if not self.faults:
            return None
        fault = self.faults.pop(0)
        if isinstance(fault, Exception):
            raise fault
        return fault  # type: ignore[no-any-return]


class SyncFaults(httpx.BaseTransport):
    def __init__(self, faults: Faults) -> None:
        self.faults, self.real = faults, httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.faults.next_fault(request) or self.real.handle_request(request)


class AsyncFaults(httpx.AsyncBaseTransport):
    def __init__(self, faults: Faults) -> None:
        self.faults, self.real = faults, httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.faults.next_fault(request) or await self.real.handle_async_request(request)


def faulty(make_client: Callable[..., Both], faults: Faults, **options: Any) -> Both:
    probe = make_client(**options)
    transport = SyncFaults(faults) if probe.kind == "sync" else AsyncFaults(faults)
    return make_client(transport=transport, **options)


def unavailable() -> httpx.Response:
    return httpx.Response(
        503,
        headers={"Retry-After": "0"},
        json={"error": "unavailable", "reason": "busy", "details": {"service": "database"}},
    )


# Retries and deadlines ------------------------------------------------------------------------


async def test_get_is_retried_until_it_succeeds(
    make_client: Callable[..., Both], janitor_emulator: EmulatorServer
) -> None:
    faults = Faults(unavailable(), httpx.ConnectError("refused"))
    api = faulty(make_client, faults, base_url=janitor_emulator.url, retries=2)
    with capture_api_calls() as calls:
        page = await api("list_codebases", limit=2)
    assert len(page.items) == 2
    assert len(faults.seen) == 3 and calls[-1].attempts == 3 and calls[-1].status == 200


async def test_retries_are_bounded(
    make_client: Callable[..., Both], janitor_emulator: EmulatorServer
) -> None:
    faults = Faults(unavailable(), unavailable(), unavailable(), unavailable())
    api = faulty(make_client, faults, base_url=janitor_emulator.url, retries=2)
    with pytest.raises(exceptions.Unavailable) as failure:
        await api("list_codebases", limit=2)
    assert len(faults.seen) == 3
    assert failure.value.details == {"service": "database"} and failure.value.retry_after == 0


async def test_post_is_never_sent_twice(
    make_client: Callable[..., Both], janitor_emulator: EmulatorServer
) -> None:
    faults = Faults()
    token = janitor_emulator.tokens["admin"]
    api = faulty(make_client, faults, base_url=janitor_emulator.url, token=token, retries=5)
    with pytest.raises(exceptions.NotFound):  # also asks /api/status once (contract §8 #19)
        await api("update_run", "any-run", description="x")
    faults.faults += [unavailable(), unavailable()]
    faults.seen.clear()
    with pytest.raises(exceptions.Unavailable):
        await api("update_run", "any-run", description="x")
    assert [request.method for request in faults.seen] == ["POST"]


async def test_connect_errors_are_retried_then_raised(make_client: Callable[..., Both]) -> None:
    api = make_client(base_url="http://127.0.0.1:9", retries=2)
    with capture_api_calls() as calls, pytest.raises(exceptions.ConnectError) as failure:
        await api("list_runs")
    assert calls[-1].attempts == 3 and calls[-1].status is None
    assert isinstance(failure.value.__cause__, httpx.ConnectError)


async def test_retry_after_longer_than_the_deadline_is_not_waited_for(
    make_client: Callable[..., Both], tmp_path: Any
) -> None:
    """The emulator without a runner answers 503 with Retry-After: 5; the deadline is 2 s."""
    with start_emulator(
        f"sqlite:///{tmp_path / 'e.sqlite3'}", extra_args=["--without", "runner"]
    ) as server:
        api = make_client(base_url=server.url, timeout=2.0, retries=3)
        started = time.monotonic()
        with capture_api_calls() as calls, pytest.raises(exceptions.Unavailable) as failure:
            await api("list_active_runs")
        assert time.monotonic() - started < 1.5
        assert failure.value.retry_after == 5.0 and failure.value.details == {"service": "runner"}
        assert calls[-1].attempts == 1


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


async def test_one_deadline_bounds_the_whole_call(
    make_client: Callable[..., Both], silent_server: str
) -> None:
    api = make_client(base_url=silent_server, timeout=0.5, retries=3)
    started = time.monotonic()
    with pytest.raises(exceptions.Timeout):
        await api("list_runs")
    assert time.monotonic() - started < 1.5


def test_backoff_doubles_with_jitter_and_caps_retry_after() -> None:
    assert backoff(0, None, rng=lambda: 0.0) == BACKOFF * 0.5
    assert backoff(3, None, rng=lambda: 1.0) == BACKOFF * 8
    assert backoff(1, 2.5) == 2.5
    assert backoff(1, 10_000) == MAX_RETRY_AFTER


# HTTP cache, stale-if-error, memo -------------------------------------------------------------


@pytest.fixture
def cached_config(janitor_emulator: EmulatorServer) -> Iterator[SiteConfig]:
    from django.core.cache import caches

    caches["default"].clear()
    yield SiteConfig(url=janitor_emulator.url, cache="default", cache_ttl=60, stale_if_error=600)
    caches["default"].clear()


async def test_etag_revalidation_turns_a_304_into_the_cached_body(
    make_client: Callable[..., Both], cached_config: SiteConfig
) -> None:
    api = make_client(config=cached_config)
    with capture_api_calls() as calls:
        first = await api("list_runs", limit=20)
        second = await api("list_runs", limit=20)
    assert [(call.cache, call.status) for call in calls] == [("miss", 200), ("revalidated", 304)]
    assert second == first


async def test_stale_if_error_serves_the_cached_body(
    make_client: Callable[..., Both], cached_config: SiteConfig, caplog: pytest.LogCaptureFixture
) -> None:
    faults = Faults()
    api = faulty(make_client, faults, config=cached_config.replace(retries=0))
    fresh = await api("list_codebases", limit=3)
    faults.faults += [
        httpx.ConnectError("down"),
        httpx.Response(500, json={"error": "internal_error", "reason": "x"}),
    ]
    with caplog.at_level(logging.WARNING, logger="janitor_site_django.api"):
        unreachable = await api("list_codebases", limit=3)
        failing = await api("list_codebases", limit=3)
    assert unreachable.stale and failing.stale and not fresh.stale
    assert unreachable.items == failing.items == fresh.items
    assert caplog.text.count("cache stale") == 2


async def test_without_a_cached_body_errors_are_raised(
    make_client: Callable[..., Both], cached_config: SiteConfig
) -> None:
    api = faulty(
        make_client, Faults(httpx.ConnectError("down")), config=cached_config.replace(retries=0)
    )
    with pytest.raises(exceptions.ConnectError):
        await api("list_codebases", limit=4)


async def test_identical_gets_in_one_scope_are_sent_once(api: Both) -> None:
    with api_scope(), assert_num_api_calls(2) as calls:
        first = await api("list_pkgnames", limit=3)
        again = await api("list_pkgnames", limit=3)
        other = await api("list_pkgnames", limit=4)
    assert first == again and other.items[:3] == first.items
    assert [call.cache for call in calls] == ["none", "memo", "none"]


def test_assert_num_api_calls_reports_the_calls(janitor_emulator: EmulatorServer) -> None:
    with (
        SiteClient(base_url=janitor_emulator.url) as client,
        pytest.raises(
            AssertionError, match=r"2 API calls were made, 1 expected:\n1\. GET /api/status"
        ),
        assert_num_api_calls(1),
    ):
        client.status()
        client.health()


# Tokens -----------------------------------------------------------------------------------------


async def test_token_chain(
    make_client: Callable[..., Both], janitor_emulator: EmulatorServer
) -> None:
    tokens = janitor_emulator.tokens
    config = SiteConfig(url=janitor_emulator.url, api_token=tokens["service"])
    service, explicit = (
        make_client(config=config),
        make_client(config=config, token=tokens["admin"]),
    )
    assert (await service("get_user")).sub == "janitor-site-django"
    with user_token(tokens["qa"]):
        assert (await service("get_user")).sub == "bob"
        assert (await explicit("get_user")).sub == "alice"
    assert (await service("get_user")).sub == "janitor-site-django"


class _Recorder(BaseHTTPRequestHandler):
    hits: list[dict[str, str]] = []
    location = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.hits.append(dict(self.headers))
        if self.location:
            self.send_response(302)
            self.send_header("Location", self.location + self.path)
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"data":{}}')

    def log_message(self, *args: Any) -> None:
        pass


def _serve(location: str) -> tuple[HTTPServer, type[_Recorder]]:
    handler = type("Handler", (_Recorder,), {"hits": [], "location": location})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


async def test_tokens_never_follow_redirects_to_another_origin(
    make_client: Callable[..., Both],
) -> None:
    elsewhere, elsewhere_handler = _serve("")
    redirecting, redirect_handler = _serve(f"http://127.0.0.1:{elsewhere.server_port}")
    try:
        api = make_client(
            base_url=f"http://127.0.0.1:{redirecting.server_port}",
            token="secret-token-1",
            retries=0,
        )
        with pytest.raises(exceptions.JanitorSiteError):
            await api("get_user")
        assert redirect_handler.hits[0]["Authorization"] == "Bearer secret-token-1"
        assert elsewhere_handler.hits == []
    finally:
        elsewhere.shutdown()
        redirecting.shutdown()


async def test_tokens_never_reach_logs_or_errors(
    make_client: Callable[..., Both],
    janitor_emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = janitor_emulator.tokens["admin"]
    api = make_client(base_url=janitor_emulator.url, token=secret)
    messages = []
    with caplog.at_level(logging.DEBUG):
        await api("get_user")
        await api("list_runs", limit=1, q="x")
        for call in (("get_run", "missing"), ("update_run", "missing")):
            try:
                await api(*call, **({"description": "x"} if call[0] == "update_run" else {}))
            except exceptions.JanitorSiteError as error:
                messages.append(repr(error) + str(error))
    assert caplog.text and secret not in caplog.text
    assert messages and all(secret not in message for message in messages)


# Settings ------------------------------------------------------------------------------------


def test_clients_read_settings_at_construction(
    settings: Any, janitor_emulator: EmulatorServer
) -> None:
    settings.JANITOR_SITE_URL = janitor_emulator.url + "/"
    settings.JANITOR_SITE_TIMEOUT = 3
    with SiteClient() as client:
        assert client.config.url == janitor_emulator.url and client.config.timeout == 3.0
        assert client.status().api_version == "1"
    assert AsyncSiteClient(timeout=7).config.timeout == 7.0
