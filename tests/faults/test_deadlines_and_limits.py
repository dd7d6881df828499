"""One deadline for the whole call, and a cap on what is read: against a hostile server, sync
and async, for a list, a detail, a POST, a render and a streamed export."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio.to_thread
import pytest

from janitor_site_django import AsyncSiteClient, SiteClient, exceptions
from janitor_site_django.models import Codebase, Run

from .hostile import HostileServer, hostile_server

TIMEOUT = 2.0


def _every_codebase(client: Any) -> Any:
    """``iter_codebases()`` to the end (sync: a list; async: a coroutine collecting them)."""
    if isinstance(client, SiteClient):
        return list(client.iter_codebases())

    return _collect(client.iter_codebases())


def _orm_list(sync: bool) -> Any:
    queryset = Codebase.objects.all()[:5]
    return list(queryset) if sync else _collect(queryset)


async def _collect(items: Any) -> list[Any]:
    return [item async for item in items]


def _orm_get(sync: bool) -> Any:
    manager = Codebase.objects
    return manager.get(pk="some-codebase") if sync else manager.aget(pk="some-codebase")


def _orm_write(sync: bool) -> Any:
    run = Run(run_id="some-run")
    return run.reschedule() if sync else run.areschedule()


#: Each call, and the request line the server must see for it; ``orm …`` calls go through the
#: models (and the settings' client) and are given whether they run sync.
CALLS: dict[str, tuple[Callable[[Any], Any], bytes]] = {
    "orm list": (_orm_list, b"GET /api/codebases?"),
    "orm get": (_orm_get, b"GET /api/c/some-codebase "),
    "orm write": (_orm_write, b"POST /api/run/some-run/reschedule "),
    "iterate": (_every_codebase, b"GET /api/codebases?"),
    "list": (lambda c: c.list_codebases(limit=5), b"GET /api/codebases?"),
    "detail": (lambda c: c.get_codebase("some-codebase"), b"GET /api/c/some-codebase "),
    "POST": (lambda c: c.reschedule_run("some-run"), b"POST /api/run/some-run/reschedule "),
    "render": (lambda c: c.render_template("run.html", {}), b"POST /api/templates/render "),
}


def _export(client: Any) -> Any:
    """Every chunk of an export (sync: joined; async: a coroutine joining them)."""
    if isinstance(client, SiteClient):
        return b"".join(client.export("runs"))

    async def join() -> bytes:
        return b"".join([chunk async for chunk in client.export("runs")])

    return join()


#: Streamed calls: the deadline is the time they spend waiting on the server.
STREAMS = {"export": (_export, b"GET /api/export/runs?")}
EVERY_CALL = {**CALLS, **STREAMS}


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with hostile_server() as server:
        yield server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sync", "async"])
async def call(
    request: pytest.FixtureRequest, hostile: HostileServer, settings: Any
) -> AsyncIterator[Callable[..., Any]]:
    """``await call(name, **client_options)``: that call, in this mode, against the server."""
    kind = request.param
    clients: list[Any] = []

    async def make(name: str) -> Any:
        if name.startswith("orm"):
            settings.JANITOR_SITE_URL = hostile.url
            settings.JANITOR_SITE_TIMEOUT, settings.JANITOR_SITE_RETRIES = TIMEOUT, 2
            target: Any = kind == "sync"
        else:
            options = {"base_url": hostile.url, "timeout": TIMEOUT, "retries": 2}
            target = (SiteClient if kind == "sync" else AsyncSiteClient)(**options)
            clients.append(target)
        function = EVERY_CALL[name][0]
        if kind == "sync":
            return await anyio.to_thread.run_sync(lambda: function(target))
        return await function(target)

    yield make
    for client in clients:
        if kind == "sync":
            client.close()
        else:
            await client.aclose()


def _attempts(hostile: HostileServer, name: str) -> int:
    return sum(request.startswith(EVERY_CALL[name][1]) for request in hostile.requests)


@pytest.mark.anyio
@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("fault", ["trickle", "trickle-headers", "hang"])
async def test_a_slow_server_is_cut_at_the_deadline(
    fault: str, name: str, call: Callable[..., Any], hostile: HostileServer
) -> None:
    hostile.mode, hostile.requests[:] = fault, []
    started = time.monotonic()
    with pytest.raises(exceptions.Timeout, match=f"no answer within {TIMEOUT:g} s"):
        await call(name)
    took = time.monotonic() - started
    assert TIMEOUT - 0.5 <= took <= TIMEOUT + 0.5, took
    assert _attempts(hostile, name) == 1  # a timeout is not retried (and a POST never is)


@pytest.mark.anyio
@pytest.mark.parametrize("fault", ["trickle-export", "trickle", "trickle-headers", "hang"])
async def test_an_export_is_cut_when_its_waiting_reaches_the_deadline(
    fault: str, call: Callable[..., Any], hostile: HostileServer
) -> None:
    hostile.mode, hostile.requests[:] = fault, []
    started = time.monotonic()
    with pytest.raises(exceptions.Timeout, match=f"no answer within {TIMEOUT:g} s"):
        await call("export")
    took = time.monotonic() - started
    assert TIMEOUT - 0.5 <= took <= TIMEOUT + 0.5, took
    assert _attempts(hostile, "export") == 1


@pytest.mark.anyio
@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("fault", ["huge", "bomb"])
async def test_a_huge_answer_is_refused_at_the_limit(
    fault: str, name: str, call: Callable[..., Any], hostile: HostileServer, settings: Any
) -> None:
    limit = settings.JANITOR_SITE_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
    hostile.mode, hostile.requests[:] = fault, []
    tracemalloc.start()
    try:
        with pytest.raises(exceptions.ResponseTooLarge, match=f"longer than {limit} bytes") as info:
            await call(name)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.limit == limit
    assert peak < 2 * limit, f"{peak / 2**20:.1f} MiB traced for a {limit / 2**20:.0f} MiB limit"
    assert _attempts(hostile, name) == 1


#: What each fault raises, by call (a JSON endpoint, or the HTML render), and the attempts an
#: idempotent call makes (retries=2; a POST is sent once).
RAISES: dict[str, tuple[type[Exception], type[Exception] | None, int]] = {
    "500": (exceptions.ServerError, exceptions.ServerError, 1),
    "502": (exceptions.UpstreamError, exceptions.UpstreamError, 3),
    "malformed": (exceptions.ResponseValidationError, None, 1),
    "wrong-schema": (exceptions.ResponseValidationError, None, 1),
    "not-json": (exceptions.ResponseValidationError, None, 1),
    "redirect": (exceptions.Redirected, exceptions.Redirected, 1),
    "reset": (exceptions.TransportError, exceptions.TransportError, 1),
    "deep": (exceptions.ResponseValidationError, None, 1),
    "503-retry-1": (exceptions.Unavailable, exceptions.Unavailable, 2),  # 1 s, then the deadline
    "503-retry-3600": (exceptions.Unavailable, exceptions.Unavailable, 1),  # past the deadline
    "429": (exceptions.RateLimited, exceptions.RateLimited, 3),
    "truncated": (exceptions.TransportError, exceptions.TransportError, 1),
    "non-utf8": (exceptions.ResponseValidationError, exceptions.ResponseValidationError, 1),
}


@pytest.mark.anyio
@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("fault", list(RAISES))
async def test_every_fault_is_an_error_of_the_tree(
    fault: str, name: str, call: Callable[..., Any], hostile: HostileServer
) -> None:
    as_json, as_html, attempts = RAISES[fault]
    expected = as_html if name == "render" else as_json
    if expected is None:  # the render endpoint answers HTML: any HTML-ish body renders
        pytest.skip(f"{fault} is not a fault for an HTML answer")
    hostile.mode, hostile.requests[:] = fault, []
    with pytest.raises(exceptions.JanitorSiteError) as info:
        await call(name)
    assert type(info.value) is expected, repr(info.value)
    if fault == "redirect":
        assert isinstance(info.value, exceptions.Redirected)
        assert info.value.details == {"location": "https://elsewhere.example/"}
    posts = ("POST", "render", "orm write")
    assert _attempts(hostile, name) == (1 if name in posts else attempts)


@pytest.mark.anyio
async def test_paging_a_server_that_ignores_the_offset_stops_with_an_error(
    call: Callable[..., Any], hostile: HostileServer
) -> None:
    hostile.mode, hostile.requests[:] = "same-page", []
    with pytest.raises(exceptions.ResponseValidationError, match="ignores the offset"):
        await call("iterate")
    assert _attempts(hostile, "iterate") == 2  # the first page, then the one that gives it away
