"""The emulator the template tests render with: it also serves ``service_templates/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from janitor_site_django.testing.emulator import EmulatorServer, start_emulator

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    database = tmp_path_factory.mktemp("templates") / "e.sqlite3"
    extra = ["--templates", str(HERE / "service_templates")]
    with start_emulator(f"sqlite:///{database}", extra_args=extra) as server:
        yield server
