"""Pages requested ahead are dropped when the walk ends early: on an error, or when the consumer
stops. (Async: their tasks are cancelled. Sync: pages not yet sent are never sent; a page being
read in a thread cannot be interrupted, and its deadline ends it.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from janitor_site_django import exceptions
from janitor_site_django.models import Codebase

from .hostile import HostileServer, hostile_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def hostile(settings: Any) -> Iterator[HostileServer]:
    with hostile_server() as server:
        settings.JANITOR_SITE_URL = server.url
        settings.JANITOR_SITE_TIMEOUT, settings.JANITOR_SITE_RETRIES = 30, 0
        yield server


def _pending() -> list[asyncio.Task[Any]]:
    """The page requests still running."""
    return [task for task in asyncio.all_tasks() if "Fetcher" in task.get_coro().__qualname__]


async def test_a_consumer_who_stops_leaves_no_page_in_flight(hostile: HostileServer) -> None:
    hostile.mode = "two-pages-then-hang"
    walk = Codebase.objects.aiterator(chunk_size=1)
    seen = 0
    async for codebase in walk:
        assert codebase.name == "some-codebase"
        seen += 1
        if seen == 2:  # the second page came from the ones requested ahead
            break
    await walk.aclose()  # type: ignore[attr-defined]
    await asyncio.sleep(0.2)
    assert _pending() == []


async def test_an_error_leaves_no_page_in_flight(hostile: HostileServer) -> None:
    hostile.mode = "one-page-then-500"
    with pytest.raises(exceptions.ServerError):
        async for _codebase in Codebase.objects.all():
            pass
    await asyncio.sleep(0.2)
    assert _pending() == []
    listed = [r for r in hostile.requests if r.startswith(b"GET /api/codebases?")]
    assert len(listed) <= 3  # the first page, then at most the two requested ahead
