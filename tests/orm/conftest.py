"""ORM tests: settings point the client at the live demo emulator; no SQL may reach the DB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
