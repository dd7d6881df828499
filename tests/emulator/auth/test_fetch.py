"""The standard-library GET of the identity provider, against real servers on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from janitor_site_emulator import __version__
from janitor_site_emulator.auth.fetch import Answer, Unreachable, Unusable, urllib_fetch

from .support import free_port, raw_server, serve

targets: list[str] = []


async def headers(request: Request) -> Response:
    return JSONResponse(dict(request.headers))


async def status(request: Request) -> Response:
    code = int(request.path_params["code"])
    return Response(None if code == 204 else b"body", status_code=code)


async def redirect(request: Request) -> Response:
    return RedirectResponse("/target", status_code=302)


async def target(request: Request) -> Response:
    targets.append(request.url.path)
    return Response(b"followed")


async def slow(request: Request) -> Response:
    await asyncio.sleep(1.0)
    return Response(b"late")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    routes = [
        Route("/headers", headers),
        Route("/status/{code}", status),
        Route("/redirect", redirect),
        Route("/target", target),
        Route("/slow", slow),
    ]
    with serve(Starlette(routes=routes)) as url:
        yield url


@pytest.mark.parametrize("code", [200, 204, 400, 401, 404, 429, 500, 503])
def test_every_status_is_an_answer(server: str, code: int) -> None:
    answer = urllib_fetch(f"{server}/status/{code}", {}, 2.0)
    assert answer == Answer(code, b"" if code == 204 else b"body")


def test_request_headers(server: str) -> None:
    sent = {"Accept": "application/json", "Authorization": "Bearer opaque-1"}
    answer = urllib_fetch(f"{server}/headers", sent, 2.0)
    received = json.loads(answer.body)
    assert received["accept"] == "application/json"
    assert received["authorization"] == "Bearer opaque-1"
    assert received["user-agent"] == f"janitor-site-emulator/{__version__}"


def test_redirects_are_not_followed(server: str) -> None:
    targets.clear()
    answer = urllib_fetch(f"{server}/redirect", {}, 2.0)
    assert answer.status == 302
    assert targets == []


def test_timeout_is_unreachable(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(Unreachable, match="TimeoutError"):
        urllib_fetch(f"{server}/slow", {}, 0.2)
    assert time.monotonic() - started < 0.9


def test_refused_connection_is_unreachable() -> None:
    with pytest.raises(Unreachable, match="ConnectionRefusedError"):
        urllib_fetch(f"http://127.0.0.1:{free_port()}/", {}, 2.0)


@pytest.mark.parametrize("reply", [b"SPDY/9 what is this\r\n\r\n", b"", b"HTTP/1.1 2OO OK\r\n\r\n"])
def test_an_answer_that_is_not_http_is_unusable(reply: bytes) -> None:
    with raw_server(reply) as url, pytest.raises(Unusable):
        urllib_fetch(url, {}, 2.0)


def test_only_http_urls_are_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"sub": "from-a-file"}')
    for url in (secret.as_uri(), "ftp://127.0.0.1/x", "data:,{}", "no-scheme", "http://[::1"):
        with pytest.raises(Unusable):
            urllib_fetch(url, {}, 2.0)
