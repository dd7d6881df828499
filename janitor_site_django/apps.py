"""Django application configuration."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class JanitorSiteConfig(AppConfig):
    name = "janitor_site_django"
    verbose_name = "Janitor site"

    def ready(self) -> None:
        from django.conf import settings

        from .checks import check_settings

        checks.register(check_settings)
        if getattr(settings, "JANITOR_SITE_ADMIN", False):
            from .admin import register_all

            register_all()
