"""Integration tests of the optional integrations (DRF, django-filter, django-tables2): settings
point the client at the live demo emulator, as the ORM tests do."""

from __future__ import annotations

from typing import Any

import pytest

from janitor_site_django.testing.emulator import EmulatorServer
from tests.orm.conftest import Wire  # raw v1 answers, for expectations of our own

__all__ = ["Wire"]


@pytest.fixture(autouse=True)
def api_settings(settings: Any, janitor_emulator: EmulatorServer) -> None:
    settings.JANITOR_SITE_URL = janitor_emulator.url
    settings.JANITOR_SITE_API_TOKEN = janitor_emulator.tokens["admin"]


@pytest.fixture(scope="session")
def wire(janitor_emulator: EmulatorServer) -> Wire:
    return Wire(janitor_emulator.url)
