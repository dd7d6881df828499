"""pytest plugin registered through the ``pytest11`` entry point.

Fixtures:

* ``janitor_emulator`` (session): a live emulator seeded with the demo data set, on a free
  loopback port, over a temporary SQLite file (or ``--janitor-emulator-database URL``). It has
  ``.url``, ``.database_url`` and ``.tokens`` (``service``, ``admin``, ``qa``, ``user``).
* ``api_calls``: every API call made during the test (a :class:`CapturedCalls` list).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .calls import CapturedCalls, capture_api_calls
from .emulator import EmulatorServer, start_emulator


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("janitor-site-django")
    group.addoption(
        "--janitor-emulator-database",
        default=None,
        help="database URL for the janitor_emulator fixture (default: a temporary SQLite file)",
    )


@pytest.fixture(scope="session")
def janitor_emulator(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorServer]:
    """A live Janitor site API v1 emulator with the demo data set."""
    database_url = request.config.getoption("--janitor-emulator-database") or (
        "sqlite:///" + str(tmp_path_factory.mktemp("janitor-emulator") / "emulator.sqlite3")
    )
    with start_emulator(database_url) as server:
        yield server


@pytest.fixture
def api_calls() -> Iterator[CapturedCalls]:
    """The API calls made during the test."""
    with capture_api_calls() as calls:
        yield calls
