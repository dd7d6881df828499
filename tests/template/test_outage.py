"""The template backend during an outage of the service: one listing for concurrent pages, a
back-off after a failure, the last names listed served meanwhile, bad OPTIONS refused."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import engines
from django.template.loader import get_template

from janitor_site_django.template.backends import JanitorTemplate
from janitor_site_django.testing.emulator import EmulatorServer
from tests.faults.hostile import HostileServer, hostile_server

from .test_templates import DJANGO_TEMPLATES, JANITOR_TEMPLATES

LIST_TIMEOUT = 1.0


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with hostile_server() as server:
        yield server


def configure(settings: Any, url: str, **options: float) -> None:
    settings.JANITOR_SITE_URL = url
    settings.JANITOR_SITE_API_TOKEN = "service-token"
    janitor = {**JANITOR_TEMPLATES, "OPTIONS": {"list_timeout": LIST_TIMEOUT, **options}}
    settings.TEMPLATES = [janitor, DJANGO_TEMPLATES]


def listings(server: HostileServer) -> int:
    return sum(request.startswith(b"GET /api/templates") for request in server.requests)


def test_concurrent_pages_during_an_outage_wait_for_one_listing(
    settings: Any, hostile: HostileServer
) -> None:
    hostile.mode = "hang"
    configure(settings, hostile.url)
    finished: list[float] = []
    started = time.monotonic()

    def page() -> None:
        template = get_template("orm/run_list.html")  # Django's engine, once the service's fails
        assert template.origin.name.endswith("run_list.html")
        finished.append(time.monotonic() - started)

    threads = [threading.Thread(target=page) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(finished) == 4
    assert max(finished) < LIST_TIMEOUT + 0.5, finished  # one listing's deadline, not four
    assert listings(hostile) == 1


def test_a_failed_listing_is_not_repeated_within_the_back_off(
    settings: Any, hostile: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    hostile.mode = "500"
    configure(settings, hostile.url, backoff_seconds=60)
    with caplog.at_level(logging.WARNING, "janitor_site_django.template.backends"):
        get_template("orm/run_list.html")
    assert listings(hostile) == 1
    assert "Listing the Janitor site service's templates failed" in caplog.text
    started = time.monotonic()
    for _ in range(20):
        get_template("orm/run_list.html")
    assert time.monotonic() - started < LIST_TIMEOUT
    assert listings(hostile) == 1
    with pytest.raises(Exception) as raised:
        engines["janitor"].get_template("page.html")
    assert "The Janitor site service failed" in str(raised.value.tried)  # type: ignore[attr-defined]


def test_the_last_names_listed_are_served_while_the_service_fails(
    settings: Any, service: EmulatorServer, hostile: HostileServer
) -> None:
    configure(settings, service.url, list_seconds=0)
    settings.JANITOR_SITE_API_TOKEN = service.tokens["service"]
    assert isinstance(engines["janitor"].get_template("page.html"), JanitorTemplate)
    hostile.mode = "500"
    settings.JANITOR_SITE_URL = hostile.url  # the engine stays: only the URL changed
    assert isinstance(engines["janitor"].get_template("page.html"), JanitorTemplate)
    assert listings(hostile) == 1
    hostile.mode = "hang"
    started = time.monotonic()
    assert isinstance(engines["janitor"].get_template("page.html"), JanitorTemplate)
    assert time.monotonic() - started < 0.2  # still backing off: no request
    assert listings(hostile) == 1


def test_the_listing_has_its_own_short_deadline_and_no_retries(
    settings: Any, hostile: HostileServer
) -> None:
    hostile.mode = "503-retry-1"
    configure(settings, hostile.url)
    settings.JANITOR_SITE_RETRIES = 3
    get_template("orm/run_list.html")
    assert listings(hostile) == 1


@pytest.mark.parametrize(
    ("option", "value"),
    [("list_timeout", 0), ("list_timeout", -1), ("backoff_seconds", "10"),
     ("list_seconds", float("nan")), ("backoff_seconds", True)],
)  # fmt: skip
def test_bad_timing_options_are_refused(settings: Any, option: str, value: Any) -> None:
    settings.TEMPLATES = [{**JANITOR_TEMPLATES, "OPTIONS": {option: value}}]
    with pytest.raises(ImproperlyConfigured, match=rf"OPTIONS\['{option}'\] must be a number"):
        engines["janitor"]
