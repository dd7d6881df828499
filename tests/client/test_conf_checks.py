"""Settings (read at access time), system checks and the request-scope middleware."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from janitor_site_django import AsyncSiteClient, SiteClient
from janitor_site_django.checks import check_settings
from janitor_site_django.conf import DEFAULTS, SiteConfig
from janitor_site_django.middleware import ApiScopeMiddleware
from janitor_site_django.testing import capture_api_calls
from janitor_site_django.testing.emulator import EmulatorServer


def test_defaults_are_finite_and_documented() -> None:
    config = SiteConfig.from_values({"JANITOR_SITE_URL": "https://janitor.example.org/"})
    assert config.url == "https://janitor.example.org"
    assert 0 < config.timeout < 60 and config.page_size == 1000 and config.cache is None
    assert set(DEFAULTS) == {
        "JANITOR_SITE_" + name.upper() for name in SiteConfig.__dataclass_fields__
    }


def test_settings_are_read_when_accessed(settings: Any) -> None:
    settings.JANITOR_SITE_URL = "https://one.example.org"
    assert SiteConfig.from_settings().url == "https://one.example.org"
    settings.JANITOR_SITE_URL = "https://two.example.org"
    assert SiteConfig.from_settings().url == "https://two.example.org"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("JANITOR_SITE_URL", None, "You must set JANITOR_SITE_URL"),
        ("JANITOR_SITE_URL", "ftp://x", "JANITOR_SITE_URL must be an http(s) URL"),
        ("JANITOR_SITE_URL", "https://x/?a=1", "no query or fragment"),
        ("JANITOR_SITE_TIMEOUT", None, "JANITOR_SITE_TIMEOUT must be a finite number"),
        ("JANITOR_SITE_TIMEOUT", float("inf"), "JANITOR_SITE_TIMEOUT must be a finite number"),
        (
            "JANITOR_SITE_PAGE_SIZE",
            1001,
            "JANITOR_SITE_PAGE_SIZE must be an integer from 1 to 1000",
        ),
        ("JANITOR_SITE_RETRIES", True, "JANITOR_SITE_RETRIES must be an integer"),
        ("JANITOR_SITE_VERIFY_TLS", "yes", "JANITOR_SITE_VERIFY_TLS must be True or False"),
    ],
)
def test_bad_settings_name_the_setting(name: str, value: Any, message: str) -> None:
    values = {"JANITOR_SITE_URL": "https://janitor.example.org", name: value}
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(").replace(")", r"\)")):
        SiteConfig.from_values(values)


def test_from_env_reads_the_same_names() -> None:
    config = SiteConfig.from_env(
        {"JANITOR_SITE_URL": "http://127.0.0.1:8080", "JANITOR_SITE_TIMEOUT": "2.5",
         "JANITOR_SITE_VERIFY_TLS": "false", "JANITOR_SITE_API_TOKEN": "t"}
    )  # fmt: skip
    assert (config.timeout, config.verify_tls, config.api_token) == (2.5, False, "t")
    with pytest.raises(ImproperlyConfigured, match="JANITOR_SITE_RETRIES='many'"):
        SiteConfig.from_env({"JANITOR_SITE_URL": "http://x", "JANITOR_SITE_RETRIES": "many"})


def test_client_without_url_is_improperly_configured(settings: Any) -> None:
    settings.JANITOR_SITE_URL = None
    with pytest.raises(ImproperlyConfigured, match="JANITOR_SITE_URL"):
        SiteClient()
    assert SiteClient(base_url="http://127.0.0.1:9").config.url == "http://127.0.0.1:9"


def test_checks(settings: Any) -> None:
    settings.JANITOR_SITE_URL = None
    assert [message.id for message in check_settings()] == ["janitor_site_django.E001"]
    settings.JANITOR_SITE_URL = "https://janitor.example.org"
    settings.JANITOR_SITE_TIMEOUT = -1
    assert [message.id for message in check_settings()] == ["janitor_site_django.E002"]
    settings.JANITOR_SITE_TIMEOUT = 5
    assert check_settings() == []
    settings.JANITOR_SITE_URL = "http://janitor.example.org"
    settings.JANITOR_SITE_API_TOKEN = "token"
    settings.JANITOR_SITE_CACHE = "missing"
    assert [m.id for m in check_settings()] == [
        "janitor_site_django.W001",
        "janitor_site_django.E003",
    ]
    settings.JANITOR_SITE_URL = "http://127.0.0.1:8080"
    settings.JANITOR_SITE_CACHE = "default"
    assert check_settings() == []


def test_middleware_scopes_sync_requests(janitor_emulator: EmulatorServer) -> None:
    client = SiteClient(base_url=janitor_emulator.url)

    def view(request: HttpRequest) -> HttpResponse:
        names = [client.get_codebase(client.list_pkgnames(limit=1).items[0]).name for _ in range(3)]
        return HttpResponse(" ".join(names))

    with capture_api_calls() as calls:
        response = ApiScopeMiddleware(view)(RequestFactory().get("/"))
        ApiScopeMiddleware(view)(RequestFactory().get("/"))
    assert len(set(response.content.split())) == 1
    assert len(calls.sent) == 4  # two per request: each repeated GET is answered from the scope


@pytest.mark.anyio
async def test_middleware_scopes_async_requests(janitor_emulator: EmulatorServer) -> None:
    client = AsyncSiteClient(base_url=janitor_emulator.url)

    async def view(request: HttpRequest) -> HttpResponse:
        for _ in range(3):
            await client.status()
        return HttpResponse("ok")

    with capture_api_calls() as calls:
        await ApiScopeMiddleware(view)(RequestFactory().get("/"))
    await client.aclose()
    assert [call.cache for call in calls] == ["none", "memo", "memo"]


def test_template_engine_without_a_token_warns(settings: Any) -> None:
    settings.JANITOR_SITE_URL = "https://janitor.example.org"
    settings.JANITOR_SITE_API_TOKEN = None
    settings.TEMPLATES = [
        {"BACKEND": "janitor_site_django.template.backends.JanitorTemplates"},
        *settings.TEMPLATES,
    ]
    assert [message.id for message in check_settings()] == ["janitor_site_django.W002"]
    settings.JANITOR_SITE_API_TOKEN = "service-token"
    assert check_settings() == []
