"""The emulator the template tests render with: it also serves ``service_templates/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from janitor_site_django import SiteClient
from janitor_site_django.testing.emulator import EmulatorServer, start_emulator

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    database = tmp_path_factory.mktemp("templates") / "e.sqlite3"
    extra = ["--templates", str(HERE / "service_templates")]
    with start_emulator(f"sqlite:///{database}", extra_args=extra) as server:
        yield server


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The context of each ``render_template`` call, as the JSON that went out (the call
    itself still goes to the service)."""
    contexts: list[dict[str, Any]] = []
    original = SiteClient.render_template

    def spy(self: SiteClient, name: str, context: Any = None) -> str:
        contexts.append(json.loads(json.dumps(context)))
        return original(self, name, context)

    monkeypatch.setattr(SiteClient, "render_template", spy)
    return contexts
