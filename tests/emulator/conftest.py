"""The emulator under test, on SQLite and (when reachable) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from janitor_site_django.testing.emulator import EmulatorServer, start_emulator

from .api_support import Model, client_for, pristine_model


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def emulator(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """A live emulator with the demo data; every test using it runs on both backends."""
    if request.param == "sqlite":
        yield request.getfixturevalue("janitor_emulator")
        return
    database_url = request.getfixturevalue("postgresql_database")
    with start_emulator(database_url) as server:
        yield server


@pytest.fixture(scope="module")
def api(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """An HTTP client for the emulator under test, shared by a module's tests."""
    with client_for(emulator) as client:
        yield client


@pytest.fixture(scope="module")
def model(emulator: EmulatorServer) -> Model:
    """The Python model of the (read-only) emulator's database, for independent expectations."""
    return pristine_model(emulator)


@pytest.fixture
def as_admin(emulator: EmulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {emulator.tokens['admin']}"}
