"""The admin tests' client and API: a superuser's browser over the live emulator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from janitor_site_django import admin as api_admin
from janitor_site_django.testing.emulator import EmulatorServer


def wire(emulator: EmulatorServer, path: str, **params: Any) -> Any:
    response = httpx.get(emulator.url + path, params=params)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def api(settings: Any, janitor_emulator: EmulatorServer) -> EmulatorServer:
    settings.JANITOR_SITE_URL = janitor_emulator.url
    settings.JANITOR_SITE_API_TOKEN = janitor_emulator.tokens["admin"]
    api_admin._campaigns = (0.0, [])
    api_admin.campaign_names()  # filter choices are cached for minutes: not part of a page
    return janitor_emulator


@pytest.fixture
def browser(api: EmulatorServer) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


@pytest.fixture
def no_api_table_sql() -> Iterator[None]:
    with CaptureQueriesContext(connection) as queries:
        yield
    touching = [q["sql"] for q in queries.captured_queries if "janitor_site_django_" in q["sql"]]
    assert touching == []


def rows(html: str) -> int:
    """Rows of the changelist's result table."""
    body = re.search(r'<table id="result_list">.*?<tbody>(.*?)</tbody>', html, re.S)
    return body.group(1).count("<tr") if body else 0
