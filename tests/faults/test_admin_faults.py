"""The stock admin over a hostile service: every fault is a message on the page, never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from janitor_site_django import admin as api_admin

from .hostile import MODES, HostileServer, hostile_server

pytestmark = pytest.mark.django_db
TIMEOUT = 1.0


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with hostile_server() as server:
        yield server


@pytest.mark.parametrize("page", ["codebase/", "run/", "run/some-run/change/"])
@pytest.mark.parametrize("fault", MODES)
def test_a_fault_is_an_admin_message(
    fault: str, page: str, hostile: HostileServer, settings: Any
) -> None:
    settings.JANITOR_SITE_URL = hostile.url
    settings.JANITOR_SITE_TIMEOUT = TIMEOUT
    settings.JANITOR_SITE_RETRIES = 0
    settings.JANITOR_SITE_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
    api_admin._campaigns = (0.0, [])
    hostile.mode = fault
    client = Client(raise_request_exception=False)
    user = User.objects.get_or_create(username="ops", is_staff=True, is_superuser=True)[0]
    client.force_login(user)
    started = time.monotonic()
    response = client.get(f"/admin/janitor_site_django/{page}", follow=True)
    took = time.monotonic() - started
    assert response.status_code == 200, response.content[:300]
    messages = [str(m) for m in response.context["messages"]]
    assert messages, "no message on the page"
    assert took < 4 * TIMEOUT + 1, took  # each call keeps its deadline
