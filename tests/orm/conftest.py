"""ORM tests: settings point the client at the live demo emulator; no SQL may reach the DB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import httpx
import pytest

from janitor_site_django.testing.emulator import EmulatorServer


@pytest.fixture(autouse=True)
def api_settings(settings: Any, janitor_emulator: EmulatorServer) -> None:
    settings.JANITOR_SITE_URL = janitor_emulator.url
    settings.JANITOR_SITE_API_TOKEN = janitor_emulator.tokens["admin"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def no_sql(django_assert_num_queries: Any, db: None) -> Iterator[None]:
    """Fail if any SQL query runs inside the test."""
    with django_assert_num_queries(0):
        yield


class Wire:
    """Raw v1 answers from the emulator, for expectations independent of the ORM."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.url + path, params=params)
        response.raise_for_status()
        return response.json()

    def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list, paging through it."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.get(path, limit=1000, offset=len(items), **params)
            items += page["data"]
            if not page["pagination"]["has_more"]:
                return items


@pytest.fixture(scope="session")
def wire(janitor_emulator: EmulatorServer) -> Wire:
    return Wire(janitor_emulator.url)


class Orm:
    """Evaluates querysets in one mode: the sync API in a worker thread, or the async API.

    ``await orm.list(qs)`` is ``list(qs)`` or ``[x async for x in qs]``; ``await orm(qs,
    "count")`` is ``qs.count()`` or ``await qs.acount()``; ``iterator`` maps to ``aiterator``.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def list(self, queryset: Any) -> list[Any]:
        if self.mode == "sync":
            return await anyio.to_thread.run_sync(lambda: list(queryset))
        return [obj async for obj in queryset]

    async def __call__(self, queryset: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.mode == "sync":
            call: Callable[[], Any] = lambda: getattr(queryset, method)(*args, **kwargs)  # noqa: E731
            if method == "iterator":
                return await anyio.to_thread.run_sync(lambda: list(call()))
            return await anyio.to_thread.run_sync(call)
        if method == "iterator":
            return [obj async for obj in queryset.aiterator(*args, **kwargs)]
        return await getattr(queryset, "a" + method)(*args, **kwargs)


@pytest.fixture(params=["sync", "async"])
def orm(request: pytest.FixtureRequest) -> Orm:
    """The ORM in each mode: every test using it runs twice, sync and async."""
    return Orm(str(request.param))
