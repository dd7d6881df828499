"""System checks of the ``JANITOR_SITE_*`` settings (registered in :mod:`.apps`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured

from .conf import SiteConfig

_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The settings validate; tokens are not sent in clear text; the cache alias exists."""
    try:
        config = SiteConfig.from_settings()
    except ImproperlyConfigured as exc:
        missing_url = not getattr(settings, "JANITOR_SITE_URL", None)
        return [
            Error(
                str(exc),
                hint="See the settings table in the README of janitor-site-django.",
                id="janitor_site_django.E001" if missing_url else "janitor_site_django.E002",
            )
        ]
    messages: list[CheckMessage] = []
    parts = urlsplit(config.url)
    if config.api_token and parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        messages.append(
            Warning(
                "JANITOR_SITE_URL is plain http:// to a remote host: tokens would travel in clear.",
                hint="Use https:// for any service that is not on this machine.",
                id="janitor_site_django.W001",
            )
        )
    janitor_engines = [
        engine for engine in settings.TEMPLATES
        if engine.get("BACKEND") == "janitor_site_django.template.backends.JanitorTemplates"
    ]  # fmt: skip
    if janitor_engines and not config.api_token:
        messages.append(
            Warning(
                "JanitorTemplates renders need a token, and JANITOR_SITE_API_TOKEN is not set.",
                hint="Set a service token, or renders work only for users logged in with OIDC.",
                id="janitor_site_django.W002",
            )
        )
    if config.cache is not None and config.cache not in settings.CACHES:
        messages.append(
            Error(
                f"JANITOR_SITE_CACHE names {config.cache!r}, which CACHES does not define.",
                hint=f"Define CACHES[{config.cache!r}] or set JANITOR_SITE_CACHE = None.",
                id="janitor_site_django.E003",
            )
        )
    return messages
