"""Django application configuration."""

from __future__ import annotations

from django.apps import AppConfig, apps
from django.core import checks


class JanitorSiteConfig(AppConfig):
    name = "janitor_site_django"
    verbose_name = "Janitor site"

    def ready(self) -> None:
        from .checks import check_admin_paths, check_middleware, check_oidc_refresh, check_settings
        from .conf import setting

        checks.register(check_settings)
        checks.register(check_middleware)
        checks.register(check_oidc_refresh)
        if apps.is_installed("django.contrib.admin"):
            checks.register(check_admin_paths, checks.Tags.admin)
        if setting("JANITOR_SITE_ADMIN"):
            from .admin import register_all

            register_all()
