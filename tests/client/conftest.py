"""Fixtures for client tests: both clients over the live emulator, through one adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from janitor_site_django import AsyncSiteClient, SiteClient
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Both:
    """Calls a client method by name on the sync client (in a thread) or the async one."""

    def __init__(self, kind: str, client: SiteClient | AsyncSiteClient) -> None:
        self.kind = kind
        self.client = client

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        function = getattr(self.client, method)
        if self.kind == "sync":
            return await anyio.to_thread.run_sync(lambda: function(*args, **kwargs))
        result: Awaitable[Any] = function(*args, **kwargs)
        return await result

    async def collect(self, method: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Everything an iterating method (``iter_*``, ``export``) yields."""
        if self.kind == "sync":
            iterator = getattr(self.client, method)(*args, **kwargs)
            return await anyio.to_thread.run_sync(lambda: list(iterator))
        return [item async for item in getattr(self.client, method)(*args, **kwargs)]


def _both_factory(kind: str) -> Callable[..., Both]:
    def make(**options: Any) -> Both:
        client = (SiteClient if kind == "sync" else AsyncSiteClient)(**options)
        return Both(kind, client)

    return make


@pytest.fixture(params=["sync", "async"])
async def make_client(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Both]]:
    """Build a client of the parametrized kind; closed after the test."""
    made: list[Both] = []
    factory = _both_factory(request.param)

    def make(**options: Any) -> Both:
        both = factory(**options)
        made.append(both)
        return both

    yield make
    for both in made:
        if isinstance(both.client, AsyncSiteClient):
            await both.client.aclose()
        else:
            both.client.close()


@pytest.fixture
def api(make_client: Callable[..., Both], janitor_emulator: EmulatorServer) -> Both:
    """A client (sync or async) on the shared, read-only demo emulator, as the admin."""
    return make_client(base_url=janitor_emulator.url, token=janitor_emulator.tokens["admin"])


@pytest.fixture(scope="module")
def writable_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """An emulator of this module's own, for tests that change data."""
    path: Path = tmp_path_factory.mktemp("client-writes") / "emulator.sqlite3"
    with start_emulator(f"sqlite:///{path}") as server:
        yield server
