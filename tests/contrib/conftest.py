"""Integration tests of the optional integrations (DRF, django-filter, django-tables2): settings
point the client at the live demo emulator, as the ORM tests do."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from janitor_site_django.testing.emulator import EmulatorServer


@pytest.fixture(autouse=True)
def api_settings(settings: Any, janitor_emulator: EmulatorServer) -> None:
    settings.JANITOR_SITE_URL = janitor_emulator.url
    settings.JANITOR_SITE_API_TOKEN = janitor_emulator.tokens["admin"]


class Wire:
    """Raw v1 answers from the emulator, for expectations independent of the integrations."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.url + path, params=params)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def wire(janitor_emulator: EmulatorServer) -> Wire:
    return Wire(janitor_emulator.url)
