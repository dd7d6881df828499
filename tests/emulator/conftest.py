"""The emulator under test, on SQLite and (when reachable) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from janitor_site_django.testing.emulator import EmulatorServer, start_emulator


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def emulator(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """A live emulator with the demo data; every test using it runs on both backends."""
    if request.param == "sqlite":
        yield request.getfixturevalue("janitor_emulator")
        return
    database_url = request.getfixturevalue("postgresql_database")
    with start_emulator(database_url) as server:
        yield server


@pytest.fixture
def api(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """An HTTP client for the emulator under test."""
    with httpx.Client(base_url=emulator.url, timeout=30.0) as client:
        yield client


@pytest.fixture
def as_admin(emulator: EmulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {emulator.tokens['admin']}"}
